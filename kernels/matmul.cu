// Element-wise helpers of the matmul op (src/ops/matmul); the GEMMs themselves run on cuBLAS.
// Grid-stride loops, so any 1-D launch shape is valid.

// Bias of a dense layer, in place after the GEMM: y[r, j] += b[j] (b has nb = row width floats).
extern "C" __global__ void bias_add(float* y, const float* b, int n, int nb) {
    GRID_STRIDE(i, n) y[i] += b[i % nb];
}

// A dense layer's epilogue in one pass: y[r, j] = act(y[r, j] + b[j]) (b may be null; act is an
// ACT_* code of prelude.cuh, uniform across the launch so the switch does not diverge).
extern "C" __global__ void bias_act(float* y, NULLABLE const float* b, int n, int nb, int act) {
    GRID_STRIDE(i, n) {
        float v = y[i];
        if (b) v += b[i % nb];
        y[i] = act_(act, v);
    }
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
