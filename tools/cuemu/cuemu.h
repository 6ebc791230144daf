// Minimal CUDA-on-CPU emulator for kernel logic checks: one std::thread per CUDA thread, blocks run
// one after another (so `__shared__` can be a function-local static), __syncthreads is a block
// barrier and warp shuffles exchange through a per-warp buffer. Threads that exit drop out of
// both barriers, as finished CUDA threads do.
#pragma once
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <thread>
#include <vector>
#include <memory>
using std::min; using std::max;
struct dim3 { unsigned x = 1, y = 1, z = 1; };
thread_local dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
struct WarpCtx { std::unique_ptr<std::barrier<>> bar; unsigned char buf[32][8]; };
thread_local WarpCtx* t_warp; thread_local int t_lane;
std::barrier<>* g_bar;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
inline void __syncthreads() { g_bar->arrive_and_wait(); }
inline unsigned int __float_as_uint(float x) { unsigned int u; std::memcpy(&u, &x, 4); return u; }
template <class T> T __shfl_xor_sync(unsigned, T v, int o) {
    static_assert(sizeof(T) <= 8);
    std::memcpy(t_warp->buf[t_lane], &v, sizeof(T));
    t_warp->bar->arrive_and_wait();
    T r; std::memcpy(&r, t_warp->buf[t_lane ^ o], sizeof(T));
    t_warp->bar->arrive_and_wait();
    return r;
}
template <class F> void launch(dim3 grid, dim3 block, F f) {
    gridDim = grid; blockDim = block;
    int nt = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz) for (unsigned by = 0; by < grid.y; ++by) for (unsigned bx = 0; bx < grid.x; ++bx) {
        std::barrier<> bar(nt); g_bar = &bar;
        int nw = (nt + 31) / 32;
        std::vector<WarpCtx> warps(nw);
        for (int w = 0; w < nw; ++w) warps[w].bar = std::make_unique<std::barrier<>>(std::min(32, nt - 32 * w));
        std::vector<std::thread> ts;
        for (int t = 0; t < nt; ++t) ts.emplace_back([&, t, bx, by, bz] {
            threadIdx.x = t % block.x; threadIdx.y = (t / block.x) % block.y; threadIdx.z = t / (block.x * block.y);
            blockIdx.x = bx; blockIdx.y = by; blockIdx.z = bz;
            t_warp = &warps[t / 32]; t_lane = t % 32;
            f();
            t_warp->bar->arrive_and_drop();
            bar.arrive_and_drop();
        });
        for (auto& th : ts) th.join();
    }
}
