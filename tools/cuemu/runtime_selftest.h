// Self-test of runtime.h on synthetic kernels, for what the real kernels do not (yet) exercise:
// every shuffle variant and width, threads that return before a __syncthreads, 3-D blocks and
// grids, and the warp-split error. Included after runtime.h by the generated emu_kernels.cpp;
// `koopman_emu_selftest` is called by backend::cuda::emu::self_test (tests/emu_kernels.rs).
#pragma once

namespace emu_selftest {

__global__ void shuffles(int* out) {
    const int lane = threadIdx.x % 32;
    const int v = 1000 * blockIdx.x + threadIdx.x;
    int* o = out + 8 * (blockIdx.x * blockDim.x + threadIdx.x);
    o[0] = __shfl_xor_sync(0xffffffffu, v, 5);
    o[1] = __shfl_down_sync(0xffffffffu, v, 3);
    o[2] = __shfl_up_sync(0xffffffffu, v, 3);
    o[3] = __shfl_sync(0xffffffffu, v, 7);
    o[4] = __shfl_down_sync(0xffffffffu, v, 3, 16);
    o[5] = __shfl_sync(0xffffffffu, v, 2, 8);
    o[6] = (int)__shfl_xor_sync(0xffffffffu, (double)v + 0.5, 16);  // 8-byte values
    __syncwarp();
    o[7] = lane;
}

// Threads past `live` return at once; the rest still meet at two barriers.
__global__ void early_exit(float* out, int live) {
    __shared__ float s[256];
    const int t = threadIdx.x;
    if (t >= live) return;
    s[t] = (float)t;
    __syncthreads();
    float acc = 0;
    for (int i = 0; i < live; ++i) acc += s[i];
    __syncthreads();
    s[t] = 0;
    out[blockIdx.x * blockDim.x + t] = acc;
}

__global__ void indices(int* out) {
    const int tb = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    out[b * blockDim.x * blockDim.y * blockDim.z + tb] = b * 10000 + tb;
}

__global__ void warp_split(int* out) {
    if (threadIdx.x % 32 < 16)
        __syncthreads();
    else
        out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}

}  // namespace emu_selftest

// Runs every self-test; returns the number of failures and the first one's description in msg.
extern "C" int koopman_emu_selftest(char* msg, int cap) {
    using namespace emu_selftest;
    int fails = 0;
    auto fail = [&](const char* what, long at, long got, long want) {
        if (fails++ == 0) snprintf(msg, cap, "%s at %ld: got %ld, want %ld", what, at, got, want);
    };
    {
        const int blocks = 3, threads = 64;
        std::vector<int> out(8 * blocks * threads, -1);
        int* o = out.data();
        auto body = [&] { shuffles(o); };
        if (emu::launch(EmuLaunch{{blocks, 1, 1}, {threads, 1, 1}, 0}, body)) fail("shuffles launch", 0, 1, 0);
        for (int b = 0; b < blocks; ++b)
            for (int t = 0; t < threads; ++t) {
                const int lane = t % 32, base = 1000 * b + t - lane, *r = &out[8 * (b * threads + t)];
                auto v = [&](int l) { return base + l; };
                const int want[8] = {v(lane ^ 5),
                                     lane + 3 < 32 ? v(lane + 3) : v(lane),
                                     lane >= 3 ? v(lane - 3) : v(lane),
                                     v(7),
                                     lane % 16 + 3 < 16 ? v(lane + 3) : v(lane),
                                     v(lane / 8 * 8 + 2),
                                     v(lane ^ 16),
                                     lane};
                for (int k = 0; k < 8; ++k)
                    if (r[k] != want[k]) fail("shuffle variant", 8L * (b * threads + t) + k, r[k], want[k]);
            }
    }
    {
        const int blocks = 4, threads = 256, live = 100;
        std::vector<float> out(blocks * threads, -1.0f);
        float* o = out.data();
        auto body = [&] { early_exit(o, live); };
        if (emu::launch(EmuLaunch{{blocks, 1, 1}, {threads, 1, 1}, 0}, body)) fail("early_exit launch", 0, 1, 0);
        for (int i = 0; i < blocks * threads; ++i) {
            const float want = i % threads < live ? live * (live - 1) / 2.0f : -1.0f;
            if (out[i] != want) fail("early exit", i, (long)out[i], (long)want);
        }
    }
    {
        const EmuLaunch c{{2, 3, 2}, {8, 4, 2}, 0};
        const int n = 12 * 64;
        std::vector<int> out(n, -1);
        int* o = out.data();
        auto body = [&] { indices(o); };
        if (emu::launch(c, body)) fail("indices launch", 0, 1, 0);
        for (int i = 0; i < n; ++i)
            if (out[i] != (i / 64) * 10000 + i % 64) fail("3-D indices", i, out[i], (i / 64) * 10000 + i % 64);
    }
    {
        std::vector<int> out(64, 0);
        int* o = out.data();
        auto body = [&] { warp_split(o); };
        const int rc = emu::launch(EmuLaunch{{1, 1, 1}, {64, 1, 1}, 0}, body);
        if (rc == 0 || emu::t_last_error.find("split") == std::string::npos) fail("warp split not reported", 0, rc, 1);
    }
    return fails;
}
