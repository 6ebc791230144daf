// A CUDA-on-CPU runtime fast enough for a test suite: the real kernels/**/*.cu sources, compiled by
// an ordinary C++ compiler, run with CUDA launch semantics.
//
// Design
// - A launch splits the grid into blocks. Blocks are claimed, one at a time, by the calling thread
//   and a small persistent pool of OS threads (KOOPMAN_EMU_THREADS, default: cores - 1; 0 runs
//   every block on the caller). An OS thread runs one block at a time, so `__shared__` is
//   `static thread_local`: one copy per OS thread, i.e. per running block.
// - Inside a block every CUDA thread is a user-mode fiber with its own small stack (64 KiB, a
//   guard page below it), switched by a hand-written x86-64 context switch (ucontext elsewhere).
//   A scheduler on the OS thread runs the fibers lane by lane; a fiber runs until it finishes or
//   reaches a barrier, then switches straight to the next runnable lane of its warp (the last one
//   back to the scheduler). No OS thread is created per CUDA thread or launch.
// - `__syncthreads()` parks the fiber at the block barrier. The scheduler runs warp by warp: once
//   every live thread of a warp is parked, a warp that waits at a shuffle (or `__syncwarp`)
//   exchanges its values and runs on; when every live thread of the block waits at the block
//   barrier, all are released. Threads that have returned drop out of both barriers, as on a GPU.
//   A warp split between a shuffle and the block barrier is reported as an error (a deadlock on a
//   GPU).
// - Limits are checked as the driver does: at most 1024 threads a block (x, y <= 1024, z <= 64),
//   grid.x < 2^31, grid.y and grid.z <= 65535, no dimension 0, at most 48 KiB of dynamic shared
//   memory. The launch returns a nonzero code and emu_last_error() says why.
// - Not emulated: timing, inter-block races, the shuffle mask (every shuffle is a full-warp
//   exchange among the warp's live threads), `extern __shared__` (no kernel uses it), atomics (no
//   kernel uses them), fast-math intrinsics (the CPU's libm is used), FMA contraction.
//
// Include this file in exactly one translation unit (it defines the runtime), before the prelude
// and the kernel sources.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>
#include <sys/mman.h>
#include <unistd.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

using std::max;
using std::min;

struct dim3 {
    unsigned x, y, z;
};
// The launch configuration the generated entry points take (the Rust side's `EmuLaunch`).
struct EmuLaunch {
    unsigned grid[3];
    unsigned block[3];
    unsigned shared_bytes;
};

// The CUDA built-in variables: per OS thread, set by the scheduler before it resumes a fiber.
thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local

namespace emu {

enum State : unsigned char { RUNNABLE, AT_BARRIER, AT_WARP, DONE };
enum ShflMode : unsigned char { SHFL_XOR, SHFL_DOWN, SHFL_UP, SHFL_IDX, SYNC_WARP };

using Body = void (*)(void*);

struct Fiber {
    void* sp;  // saved stack pointer (x86-64) while suspended
#if !defined(__x86_64__)
    ucontext_t uc;
#endif
    dim3 tid;
    State state;
    ShflMode mode;
    int arg, width;
    uint64_t val, res;  // shuffle: this thread's value, and the value it receives
};

// Per OS thread: the fibers and stacks of the block it runs.
struct Sched {
    static constexpr size_t STACK = 64 * 1024;
    static constexpr size_t GUARD = 4096;
    std::vector<Fiber> f;
    char* stacks = nullptr;  // cap * (GUARD + STACK) bytes
    int cap = 0;
    int cur = -1;
    int nt = 0;  // threads in the running block
    void* sched_sp = nullptr;
#if !defined(__x86_64__)
    ucontext_t sched_uc;
#endif
    Body body = nullptr;
    void* ctx = nullptr;
    ~Sched() {
        if (stacks) munmap(stacks, (size_t)cap * (GUARD + STACK));
    }
    bool reserve(int n) {
        if (n <= cap) return true;
        if (stacks) munmap(stacks, (size_t)cap * (GUARD + STACK));
        stacks = nullptr;
        cap = 0;
        size_t bytes = (size_t)n * (GUARD + STACK);
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return false;
        stacks = (char*)p;
        cap = n;
        // A guard page below each stack turns an overflow into a fault, not a neighbour's stack.
        for (int i = 0; i < n; ++i) mprotect(stacks + (size_t)i * (GUARD + STACK), GUARD, PROT_NONE);
        f.resize(n);
        return true;
    }
    // Stack tops are staggered by 64 bytes per fiber: 64 KiB-aligned tops would all map to the
    // same cache sets and make every switch a cache miss.
    char* stack_top(int i) { return stacks + (size_t)(i + 1) * (GUARD + STACK) - (size_t)(i % 64) * 64; }
};
thread_local Sched t_sched;
// The running block's scheduler, for code on a fiber: a plain pointer needs no thread_local
// initialisation check (t_sched has a destructor), and __syncthreads / shuffles read it often.
thread_local Sched* t_run = nullptr;

}  // namespace emu

// ---- context switch -------------------------------------------------------------------------
#if defined(__x86_64__)
// koopman_emu_switch(save, to): pushes the callee-saved registers, stores the stack pointer in
// *save, loads `to` and pops the registers saved there. A new fiber's stack is laid out so that
// the first switch "returns" into koopman_emu_tramp with the fiber's Sched in r12 and the entry
// function in r13.
extern "C" void koopman_emu_switch(void** save, void* to);
extern "C" void koopman_emu_tramp();
asm(R"(
    .text
    .globl koopman_emu_switch
    .hidden koopman_emu_switch
    .type koopman_emu_switch,@function
koopman_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size koopman_emu_switch, .-koopman_emu_switch
    .globl koopman_emu_tramp
    .hidden koopman_emu_tramp
    .type koopman_emu_tramp,@function
koopman_emu_tramp:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size koopman_emu_tramp, .-koopman_emu_tramp
)");
#endif

namespace emu {

// Called on a fiber that has just been marked parked or done: switches straight to the next
// runnable lane of its warp, which is what the scheduler would resume next (so the order is the
// same, with half the switches), or back to the scheduler after the warp's last lane.
inline void leave(Sched& s, Fiber& f) {
    const int hi = std::min(s.nt, (s.cur / 32 + 1) * 32);
    void** save = &f.sp;
#if !defined(__x86_64__)
    ucontext_t* from = &f.uc;
#endif
    for (int j = s.cur + 1; j < hi; ++j)
        if (s.f[j].state == RUNNABLE) {
            s.cur = j;
            threadIdx = s.f[j].tid;
#if defined(__x86_64__)
            koopman_emu_switch(save, s.f[j].sp);
#else
            swapcontext(from, &s.f[j].uc);
#endif
            return;
        }
#if defined(__x86_64__)
    koopman_emu_switch(save, s.sched_sp);
#else
    swapcontext(from, &s.sched_uc);
#endif
}

// Runs the kernel body for the current fiber, marks it done and leaves it for good.
[[noreturn]] inline void fiber_main(Sched* s) {
    s->body(s->ctx);
    Fiber& f = s->f[s->cur];
    f.state = DONE;
    leave(*s, f);
    __builtin_unreachable();
}

#if !defined(__x86_64__)
inline void fiber_entry_uc() { fiber_main(t_run); }
#endif

// A fresh fiber i: its stack set up to start in fiber_main.
inline void fiber_init(Sched& s, int i) {
    char* top = s.stack_top(i);
#if defined(__x86_64__)
    // After the six pops and `ret`, rsp = top - 16 (16-aligned), as the trampoline's call needs.
    void** sp = (void**)(top - 16 - 7 * 8);
    sp[0] = nullptr;                      // r15
    sp[1] = nullptr;                      // r14
    sp[2] = (void*)&fiber_main;           // r13: entry
    sp[3] = (void*)&s;                    // r12: argument
    sp[4] = nullptr;                      // rbx
    sp[5] = nullptr;                      // rbp
    sp[6] = (void*)&koopman_emu_tramp;    // return address
    s.f[i].sp = sp;
#else
    Fiber& f = s.f[i];
    getcontext(&f.uc);
    f.uc.uc_stack.ss_sp = top - Sched::STACK;
    f.uc.uc_stack.ss_size = Sched::STACK;
    f.uc.uc_link = nullptr;
    makecontext(&f.uc, (void (*)())fiber_entry_uc, 0);
#endif
}

inline void resume(Sched& s, int i) {
    s.cur = i;
    threadIdx = s.f[i].tid;
#if defined(__x86_64__)
    koopman_emu_switch(&s.sched_sp, s.f[i].sp);
#else
    swapcontext(&s.sched_uc, &s.f[i].uc);
#endif
}

// Called on a fiber: park it in `st` until the scheduler releases it.
inline void park(State st) {
    Sched& s = *t_run;
    Fiber& f = s.f[s.cur];
    f.state = st;
    leave(s, f);
}

// Runs one block to completion on this OS thread. Returns an error message, or nullptr.
inline const char* run_block(Sched& s, int nt) {
    s.nt = nt;
    const int bx = blockDim.x, bxy = blockDim.x * blockDim.y;
    for (int i = 0; i < nt; ++i) {
        Fiber& f = s.f[i];
        f.tid = dim3{(unsigned)(i % bx), (unsigned)((i / bx) % blockDim.y), (unsigned)(i / bxy)};
        f.state = RUNNABLE;
        f.val = f.res = 0;
        fiber_init(s, i);
    }
    const int nwarps = (nt + 31) / 32;
    for (;;) {
        int at_barrier = 0;
        for (int w = 0; w < nwarps; ++w) {
            const int lo = 32 * w, hi = std::min(nt, lo + 32);
            for (;;) {
                for (int i = lo; i < hi; ++i)
                    if (s.f[i].state == RUNNABLE) resume(s, i);
                int nbar = 0, nwarp = 0;
                for (int i = lo; i < hi; ++i) {
                    nbar += s.f[i].state == AT_BARRIER;
                    nwarp += s.f[i].state == AT_WARP;
                }
                if (nwarp && nbar) return "a warp is split between a warp shuffle and __syncthreads (deadlock on a GPU)";
                if (!nwarp) {
                    at_barrier += nbar;
                    break;
                }
                // Every live lane of the warp waits at a shuffle: exchange, then run the warp on.
                for (int i = lo; i < hi; ++i) {
                    Fiber& f = s.f[i];
                    if (f.state != AT_WARP) continue;
                    const int lane = i - lo, width = f.width > 0 && f.width <= 32 ? f.width : 32;
                    int src = lane;
                    switch (f.mode) {
                        case SHFL_XOR: src = lane ^ f.arg; break;
                        case SHFL_DOWN: src = (lane % width) + f.arg < width ? lane + f.arg : lane; break;
                        case SHFL_UP: src = (lane % width) >= f.arg ? lane - f.arg : lane; break;
                        case SHFL_IDX: src = (lane / width) * width + ((f.arg % width + width) % width); break;
                        case SYNC_WARP: break;
                    }
                    if (src < 0 || lo + src >= hi) src = lane;  // past a partial warp: own value
                    f.res = s.f[lo + src].val;
                }
                for (int i = lo; i < hi; ++i)
                    if (s.f[i].state == AT_WARP) s.f[i].state = RUNNABLE;
            }
        }
        if (!at_barrier) return nullptr;  // every thread has returned
        for (int i = 0; i < nt; ++i)
            if (s.f[i].state == AT_BARRIER) s.f[i].state = RUNNABLE;
    }
}

// One launch, shared by the caller and the pool threads that help with it.
struct Job {
    EmuLaunch cfg;
    Body body;
    void* ctx;
    uint64_t nblocks;
    std::atomic<uint64_t> next{0};
    std::mutex m;
    std::condition_variable cv;
    uint64_t done = 0;  // guarded by m
    int users = 0;      // pool threads working on it, guarded by m
    std::string err;    // guarded by m
};

// Claims and runs blocks of `job` until none are left.
inline void work(Job& job) {
    Sched& s = t_sched;
    t_run = &s;
    const int nt = job.cfg.block[0] * job.cfg.block[1] * job.cfg.block[2];
    const bool ok = s.reserve(nt);
    s.body = job.body;
    s.ctx = job.ctx;
    blockDim = dim3{job.cfg.block[0], job.cfg.block[1], job.cfg.block[2]};
    gridDim = dim3{job.cfg.grid[0], job.cfg.grid[1], job.cfg.grid[2]};
    const uint64_t gx = gridDim.x, gxy = gx * gridDim.y;
    uint64_t ran = 0;
    const char* err = ok ? nullptr : "cannot map fiber stacks";
    for (;;) {
        uint64_t b = job.next.fetch_add(1, std::memory_order_relaxed);
        if (b >= job.nblocks) break;
        if (!err) {
            blockIdx = dim3{(unsigned)(b % gx), (unsigned)((b / gx) % gridDim.y), (unsigned)(b / gxy)};
            err = run_block(s, nt);
        }
        ++ran;
    }
    std::lock_guard<std::mutex> g(job.m);
    job.done += ran;
    if (err && job.err.empty()) job.err = err;
    job.cv.notify_all();
}

// The persistent pool: threads wait for jobs and help with the front one.
struct Pool {
    std::mutex m;
    std::condition_variable cv;
    std::deque<Job*> q;
    int size = 0;
    Pool() {
        long n = (long)std::thread::hardware_concurrency() - 1;
        if (const char* e = std::getenv("KOOPMAN_EMU_THREADS")) n = std::atol(e);
        size = (int)std::max(0L, std::min(n, 64L));
        for (int i = 0; i < size; ++i) std::thread([this] { loop(); }).detach();
    }
    [[noreturn]] void loop() {
        for (;;) {
            Job* job;
            {
                std::unique_lock<std::mutex> l(m);
                cv.wait(l, [&] { return !q.empty(); });
                job = q.front();
                if (job->next.load(std::memory_order_relaxed) >= job->nblocks) {
                    q.pop_front();  // fully claimed: nothing left to help with
                    continue;
                }
                std::lock_guard<std::mutex> g(job->m);
                ++job->users;
            }
            work(*job);
            std::lock_guard<std::mutex> g(job->m);
            --job->users;
            job->cv.notify_all();
        }
    }
};
// Never destroyed: its detached threads may outlive static destruction.
inline Pool& pool() {
    static Pool* p = new Pool;
    return *p;
}

thread_local std::string t_last_error;

inline int fail(const std::string& msg) {
    t_last_error = msg;
    return 1;
}

// Checks the launch shape as the driver would, then runs every block; returns 0 on success.
inline int launch_erased(const EmuLaunch& c, Body body, void* ctx) {
    char msg[160];
    for (int d = 0; d < 3; ++d)
        if (c.grid[d] == 0 || c.block[d] == 0) {
            snprintf(msg, sizeof msg, "invalid launch: grid (%u, %u, %u), block (%u, %u, %u) has a zero dimension", c.grid[0],
                     c.grid[1], c.grid[2], c.block[0], c.block[1], c.block[2]);
            return fail(msg);
        }
    const uint64_t nt = (uint64_t)c.block[0] * c.block[1] * c.block[2];
    if (nt > 1024 || c.block[0] > 1024 || c.block[1] > 1024 || c.block[2] > 64) {
        snprintf(msg, sizeof msg, "invalid launch: block (%u, %u, %u) exceeds 1024 threads (x, y <= 1024, z <= 64)", c.block[0],
                 c.block[1], c.block[2]);
        return fail(msg);
    }
    if (c.grid[0] > 0x7fffffffu || c.grid[1] > 65535 || c.grid[2] > 65535) {
        snprintf(msg, sizeof msg, "invalid launch: grid (%u, %u, %u) exceeds (2^31-1, 65535, 65535)", c.grid[0], c.grid[1], c.grid[2]);
        return fail(msg);
    }
    if (c.shared_bytes > 48 * 1024) {
        snprintf(msg, sizeof msg, "invalid launch: %u bytes of dynamic shared memory exceed 48 KiB", c.shared_bytes);
        return fail(msg);
    }
    if (t_sched.cur >= 0 && t_sched.body) return fail("a kernel launched another kernel (not supported)");
    Job job;
    job.cfg = c;
    job.body = body;
    job.ctx = ctx;
    job.nblocks = (uint64_t)c.grid[0] * c.grid[1] * c.grid[2];
    Pool& p = pool();
    const bool shared = p.size > 0 && job.nblocks > 1;
    if (shared) {
        std::lock_guard<std::mutex> l(p.m);
        p.q.push_back(&job);
        p.cv.notify_all();
    }
    work(job);
    t_sched.cur = -1;
    t_sched.body = nullptr;
    if (shared) {
        {
            // No new helpers once the job is off the queue; then wait for those already on it.
            std::lock_guard<std::mutex> l(p.m);
            auto it = std::find(p.q.begin(), p.q.end(), &job);
            if (it != p.q.end()) p.q.erase(it);
        }
        std::unique_lock<std::mutex> l(job.m);
        job.cv.wait(l, [&] { return job.users == 0 && job.done == job.nblocks; });
    }
    if (!job.err.empty()) return fail(job.err);
    return 0;
}

template <class F>
int launch(const EmuLaunch& c, F& f) {
    return launch_erased(c, [](void* p) { (*static_cast<F*>(p))(); }, &f);
}

template <class T>
T shfl(T v, ShflMode mode, int arg, int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type wider than 8 bytes");
    Fiber& f = t_run->f[t_run->cur];
    f.val = 0;
    std::memcpy(&f.val, &v, sizeof(T));
    f.mode = mode;
    f.arg = arg;
    f.width = width;
    park(AT_WARP);
    Fiber& g = t_run->f[t_run->cur];
    T r;
    std::memcpy(&r, &g.res, sizeof(T));
    return r;
}

}  // namespace emu

extern "C" const char* koopman_emu_last_error() { return emu::t_last_error.c_str(); }

// ---- CUDA device functions ------------------------------------------------------------------
inline void __syncthreads() { emu::park(emu::AT_BARRIER); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::shfl(0, emu::SYNC_WARP, 0, 32); }
template <class T>
T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = 32) { return emu::shfl(v, emu::SHFL_XOR, lane_mask, width); }
template <class T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) { return emu::shfl(v, emu::SHFL_DOWN, (int)delta, width); }
template <class T>
T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) { return emu::shfl(v, emu::SHFL_UP, (int)delta, width); }
template <class T>
T __shfl_sync(unsigned, T v, int src, int width = 32) { return emu::shfl(v, emu::SHFL_IDX, src, width); }
inline unsigned int __float_as_uint(float x) { unsigned int u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned int u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __float_as_int(float x) { int u; std::memcpy(&u, &x, 4); return u; }
inline float __int_as_float(int u) { float x; std::memcpy(&x, &u, 4); return x; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
template <class T>
T __ldg(const T* p) { return *p; }
