// Softmax over the last dim of a row-major [rows, cols] matrix (src/ops/softmax), plain or causal,
// one warp per row (warp_row in prelude.cuh).

#define NEG_BIG (-3.402823466e38f)

// t = r % T and columns > t are masked (output 0).
extern "C" __global__ void softmax_fwd(float* y, const float* x, int rows, int cols, int causal) {
    const int r = warp_row(rows);
    if (r < 0) return;
    const int lane = threadIdx.x % WARP_SIZE;
    const int live = causal ? (r % cols) + 1 : cols;
    const float* xr = x + (long long)r * cols;
    float* yr = y + (long long)r * cols;
    float mx = NEG_BIG;
    for (int c = lane; c < live; c += WARP_SIZE) mx = fmaxf(mx, xr[c]);
    mx = warp_max(mx);
    float s = 0.0f;
    for (int c = lane; c < live; c += WARP_SIZE) s += expf(xr[c] - mx);
    s = warp_sum(s);
    const float inv = 1.0f / s;
    for (int c = lane; c < cols; c += WARP_SIZE) yr[c] = c < live ? expf(xr[c] - mx) * inv : 0.0f;
}
// dx += y * (dy - sum(y * dy)). Masked entries have y = 0, so no mask is needed here.
extern "C" __global__ void softmax_bwd(float* dx, const float* y, const float* dy, int rows, int cols) {
    const int r = warp_row(rows);
    if (r < 0) return;
    const int lane = threadIdx.x % WARP_SIZE;
    const long long off = (long long)r * cols;
    float s = 0.0f;
    for (int c = lane; c < cols; c += WARP_SIZE) s += y[off + c] * dy[off + c];
    s = warp_sum(s);
    for (int c = lane; c < cols; c += WARP_SIZE) dx[off + c] += y[off + c] * (dy[off + c] - s);
}
