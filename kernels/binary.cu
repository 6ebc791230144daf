// Binary ops (src/ops/binary): broadcasting add/mul and scaling by a host scalar, forward and
// backward. All kernels use grid-stride loops, so any 1-D launch shape is valid.

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

extern "C" __global__ void scale_fwd(float* y, const float* x, float s, int n) {
    GRID_STRIDE(i, n) y[i] = s * x[i];
}
extern "C" __global__ void scale_bwd(float* dx, const float* dy, float s, int n) {
    GRID_STRIDE(i, n) dx[i] += s * dy[i];
}
