// L2 normalisation over the last dim of a row-major [rows, cols] matrix (src/ops/l2norm):
// y = x / max(|x|, eps). Rows are one warp each (warp_row in prelude.cuh).

// Saves norm[rows] = |x| for backward.
extern "C" __global__ void l2norm_fwd(float* y, float* norm, const float* x, float eps, int rows, int cols) {
    const int r = warp_row(rows);
    if (r < 0) return;
    const int lane = threadIdx.x % WARP_SIZE;
    const long long off = (long long)r * cols;
    float s = 0.0f;
    for (int c = lane; c < cols; c += WARP_SIZE) s += x[off + c] * x[off + c];
    const float n = sqrtf(warp_sum(s));
    const float inv = 1.0f / fmaxf(n, eps);
    for (int c = lane; c < cols; c += WARP_SIZE) y[off + c] = x[off + c] * inv;
    if (lane == 0) norm[r] = n;
}

// dx += (g - y <g, y>) / |x| where |x| > eps; dx += g / eps where the row was held at eps.
extern "C" __global__ void l2norm_bwd(float* dx, const float* y, const float* norm, const float* g, float eps,
                                      int rows, int cols) {
    const int r = warp_row(rows);
    if (r < 0) return;
    const int lane = threadIdx.x % WARP_SIZE;
    const long long off = (long long)r * cols;
    const float n = norm[r];
    if (n > eps) {
        float s = 0.0f;
        for (int c = lane; c < cols; c += WARP_SIZE) s += g[off + c] * y[off + c];
        const float gy = warp_sum(s);
        for (int c = lane; c < cols; c += WARP_SIZE) dx[off + c] += (g[off + c] - y[off + c] * gy) / n;
    } else {
        for (int c = lane; c < cols; c += WARP_SIZE) dx[off + c] += g[off + c] / eps;
    }
}
