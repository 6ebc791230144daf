// Elementwise ops: unary activations, broadcasting add/mul, scale.
// Unary forward: y = f(x). Unary backward: dx += dy * f'(.), where f' is evaluated from x, except
// tanh and sigmoid, whose backward takes the saved output y (cheaper and what autodiff keeps).
// All kernels use grid-stride loops, so any 1-D launch shape is valid.

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#define GELU_K0 0.7978845608028654f
#define GELU_K1 0.044715f
__device__ __forceinline__ float gelu_(float x) {
    float t = tanhf(GELU_K0 * (x + GELU_K1 * x * x * x));
    return 0.5f * x * (1.0f + t);
}
__device__ __forceinline__ float gelu_grad_(float x) {
    float u = GELU_K0 * (x + GELU_K1 * x * x * x);
    float t = tanhf(u);
    float du = GELU_K0 * (1.0f + 3.0f * GELU_K1 * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

extern "C" __global__ void relu_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) y[i] = fmaxf(x[i], 0.0f);
}
extern "C" __global__ void relu_bwd(float* dx, const float* x, const float* dy, int n) {
    GRID_STRIDE(i, n) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

// ELU with alpha = 1: x for x > 0, exp(x) - 1 otherwise (expm1 keeps small |x| accurate).
extern "C" __global__ void elu_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = v > 0.0f ? v : expm1f(v);
    }
}
extern "C" __global__ void elu_bwd(float* dx, const float* x, const float* dy, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        dx[i] += dy[i] * (v > 0.0f ? 1.0f : expf(v));
    }
}

extern "C" __global__ void gelu_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) y[i] = gelu_(x[i]);
}
extern "C" __global__ void gelu_bwd(float* dx, const float* x, const float* dy, int n) {
    GRID_STRIDE(i, n) dx[i] += dy[i] * gelu_grad_(x[i]);
}

extern "C" __global__ void tanh_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) y[i] = tanhf(x[i]);
}
// Takes the forward output y.
extern "C" __global__ void tanh_bwd(float* dx, const float* y, const float* dy, int n) {
    GRID_STRIDE(i, n) {
        float t = y[i];
        dx[i] += dy[i] * (1.0f - t * t);
    }
}

extern "C" __global__ void sigmoid_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) y[i] = sigmoidf_(x[i]);
}
// Takes the forward output y.
extern "C" __global__ void sigmoid_bwd(float* dx, const float* y, const float* dy, int n) {
    GRID_STRIDE(i, n) {
        float s = y[i];
        dx[i] += dy[i] * s * (1.0f - s);
    }
}

extern "C" __global__ void silu_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = v * sigmoidf_(v);
    }
}
extern "C" __global__ void silu_bwd(float* dx, const float* x, const float* dy, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        float s = sigmoidf_(v);
        dx[i] += dy[i] * s * (1.0f + v * (1.0f - s));
    }
}

// Binary ops with trailing broadcasting: a has n elements, b is a suffix-shaped tensor of nb
// elements (nb divides n) repeated n / nb times, so b's index is i % nb. nb == n: no broadcast.
extern "C" __global__ void add_fwd(float* y, const float* a, const float* b, int n, int nb) {
    GRID_STRIDE(i, n) y[i] = a[i] + b[i % nb];
}
extern "C" __global__ void mul_fwd(float* y, const float* a, const float* b, int n, int nb) {
    GRID_STRIDE(i, n) y[i] = a[i] * b[i % nb];
}
// Gradient of the full-shape operand of add: da += dy.
extern "C" __global__ void add_bwd_a(float* da, const float* dy, int n) {
    GRID_STRIDE(i, n) da[i] += dy[i];
}
// Gradient of the full-shape operand of mul: da += dy * b (b broadcast).
extern "C" __global__ void mul_bwd_a(float* da, const float* b, const float* dy, int n, int nb) {
    GRID_STRIDE(i, n) da[i] += dy[i] * b[i % nb];
}

// Gradient of the broadcast operand: db[j] += sum_r dy[r, j] (add) or sum_r dy[r, j] * a[r, j] (mul),
// viewing dy as [n / nb, nb]. That is a deterministic column sum: reduce.cu's sum_cols_partial
// (w = a or nullptr) then sum_cols_final with accumulate = 1.

// Bias of a dense layer, in place after the GEMM: y[r, j] += b[j] (b has nb = row width floats).
extern "C" __global__ void bias_add(float* y, const float* b, int n, int nb) {
    GRID_STRIDE(i, n) y[i] += b[i % nb];
}
extern "C" __global__ void scale_fwd(float* y, const float* x, float s, int n) {
    GRID_STRIDE(i, n) y[i] = s * x[i];
}
extern "C" __global__ void scale_bwd(float* dx, const float* dy, float s, int n) {
    GRID_STRIDE(i, n) dx[i] += s * dy[i];
}

// f32 -> bf16 with round-to-nearest-even (the bf16 GEMM path's operand cast). NVRTC gets no
// headers, so the bit manipulation replaces cuda_bf16.h; NaN stays a (quiet) NaN.
extern "C" __global__ void f32_to_bf16(unsigned short* y, const float* x, int n) {
    GRID_STRIDE(i, n) {
        unsigned int u = __float_as_uint(x[i]);
        if ((u & 0x7fffffffu) > 0x7f800000u) {
            y[i] = (unsigned short)((u >> 16) | 0x40u);
        } else {
            u += 0x7fffu + ((u >> 16) & 1u);
            y[i] = (unsigned short)(u >> 16);
        }
    }
}
