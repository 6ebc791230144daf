// Unary activations (src/ops/unary), forward and backward.
// Unary forward: y = f(x). Unary backward: dx += dy * f'(.), where f' is evaluated from x, except
// tanh, sigmoid and exp, whose backward takes the saved output y (cheaper and what autodiff keeps).
// All kernels use grid-stride loops, so any 1-D launch shape is valid.

// sigmoidf_, gelu_ and the GELU constants are in prelude.cuh (the fused dense-layer epilogue in
// matmul.cu applies the same activations).
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

extern "C" __global__ void exp_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) y[i] = expf(x[i]);
}
// Takes the forward output y: (e^x)' = e^x.
extern "C" __global__ void exp_bwd(float* dx, const float* y, const float* dy, int n) {
    GRID_STRIDE(i, n) dx[i] += dy[i] * y[i];
}

extern "C" __global__ void softplus_fwd(float* y, const float* x, int n) {
    GRID_STRIDE(i, n) y[i] = softplus_(x[i]);
}
extern "C" __global__ void softplus_bwd(float* dx, const float* x, const float* dy, int n) {
    GRID_STRIDE(i, n) dx[i] += dy[i] * sigmoidf_(x[i]);
}
