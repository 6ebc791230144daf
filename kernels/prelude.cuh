// Prepended to every kernels/*.cu source before NVRTC compiles it.
// NVRTC is given no headers and no include path, so nothing here (or in any kernel file) may #include.
// Conventions shared by all kernels:
// - tensors are row-major f32; sizes are `int` (the Rust side passes i32);
// - complex vectors are planar within a row: m modes = 2m floats [Re_0..Re_{m-1}, Im_0..Im_{m-1}];
// - backward kernels accumulate (+=) into gradients; reductions are deterministic (no float atomics).

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define WARP_SIZE 32
#define FULL_MASK 0xffffffffu
// Marks a pointer parameter of an `extern "C" __global__` kernel that may be nullptr; expands to
// nothing. build.rs reads it and gives that argument an `Option<..>` in the generated launcher.
#define NULLABLE
// Grid-stride loop over [0, n): any 1-D launch shape covers every index. The index is 64-bit, so
// `i += blockDim.x * gridDim.x` cannot overflow near n = 2^31 (sizes themselves are `int`; the
// launchers refuse larger ones).
#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

struct cf32 {
    float re, im;
};

__device__ __forceinline__ cf32 cf(float re, float im) {
    cf32 r;
    r.re = re;
    r.im = im;
    return r;
}
__device__ __forceinline__ cf32 cadd(cf32 a, cf32 b) { return cf(a.re + b.re, a.im + b.im); }
__device__ __forceinline__ cf32 cconj(cf32 a) { return cf(a.re, -a.im); }
__device__ __forceinline__ cf32 cmul(cf32 a, cf32 b) {
    return cf(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
}
// conj(a) * b, the product every complex backward formula needs.
__device__ __forceinline__ cf32 cmulc(cf32 a, cf32 b) {
    return cf(a.re * b.re + a.im * b.im, a.re * b.im - a.im * b.re);
}
// acc + a * b in one expression so the compiler can use FMAs.
__device__ __forceinline__ cf32 cfma(cf32 a, cf32 b, cf32 acc) {
    return cf(acc.re + a.re * b.re - a.im * b.im, acc.im + a.re * b.im + a.im * b.re);
}
// acc + conj(a) * b.
__device__ __forceinline__ cf32 cfmac(cf32 a, cf32 b, cf32 acc) {
    return cf(acc.re + a.re * b.re + a.im * b.im, acc.im + a.re * b.im - a.im * b.re);
}

// Planar complex load/store: element i of a row of m modes starting at `row`.
__device__ __forceinline__ cf32 cload(const float* row, int m, int i) { return cf(row[i], row[m + i]); }
__device__ __forceinline__ void cstore(float* row, int m, int i, cf32 v) {
    row[i] = v.re;
    row[m + i] = v.im;
}
__device__ __forceinline__ void cstore_add(float* row, int m, int i, cf32 v) {
    row[i] += v.re;
    row[m + i] += v.im;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
    for (int o = WARP_SIZE / 2; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}
template <typename T>
__device__ __forceinline__ T warp_max(T v) {
    for (int o = WARP_SIZE / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Sum over the block, returned to every thread. blockDim.x must be a multiple of 32 (launchers
// guarantee it) because the shuffles use the full mask. The order of additions is fixed by the
// launch shape, so results are bitwise reproducible.
template <typename T>
__device__ T block_sum(T v) {
    __shared__ T warp_part[WARP_SIZE];
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int nwarps = blockDim.x / WARP_SIZE;
    v = warp_sum(v);
    __syncthreads();  // warp_part may still be read by a previous block_sum call
    if (lane == 0) warp_part[warp] = v;
    __syncthreads();
    T total = lane < nwarps ? warp_part[lane] : (T)0;
    return warp_sum(total);
}

// Row kernels (reduce.cu, softmax.cu, layernorm.cu) use one warp per row: the row index, or -1
// past the last row.
__device__ __forceinline__ int warp_row(int rows) {
    int r = blockIdx.x * (blockDim.x / WARP_SIZE) + threadIdx.x / WARP_SIZE;
    return r < rows ? r : -1;
}
// Column-reduction tile (reduce.cu, layernorm.cu): 32 columns x 8 row lanes per block.
#define CR_TX 32
#define CR_TY 8

// Activations shared by unary.cu and matmul.cu's fused epilogue.
__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#define GELU_K0 0.7978845608028654f
#define GELU_K1 0.044715f
__device__ __forceinline__ float gelu_(float x) {
    float t = tanhf(GELU_K0 * (x + GELU_K1 * x * x * x));
    return 0.5f * x * (1.0f + t);
}

// Activation codes of the fused epilogue, in the order of the Rust `Unary` enum (code 0: none).
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_ELU 2
#define ACT_GELU 3
#define ACT_TANH 4
#define ACT_SIGMOID 5
#define ACT_SILU 6
#define ACT_EXP 7
#define ACT_SOFTPLUS 8
// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
__device__ __forceinline__ float softplus_(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }
__device__ __forceinline__ float act_(int code, float x) {
    switch (code) {
        case ACT_RELU: return fmaxf(x, 0.0f);
        case ACT_ELU: return x > 0.0f ? x : expm1f(x);
        case ACT_GELU: return gelu_(x);
        case ACT_TANH: return tanhf(x);
        case ACT_SIGMOID: return sigmoidf_(x);
        case ACT_SILU: return x * sigmoidf_(x);
        case ACT_EXP: return expf(x);
        case ACT_SOFTPLUS: return softplus_(x);
        default: return x;
    }
}
