// LayerNorm over the last dim of a row-major [rows, cols] matrix (src/ops/layernorm). Rows are one
// warp each (warp_row in prelude.cuh); the gamma/beta gradients are deterministic two-pass column
// sums over the CR_TX x CR_TY tile of prelude.cuh.

#define LN_EPS 1e-5f

// biased variance. Saves mean[rows] and rstd[rows] for backward. Two-pass variance for accuracy.
extern "C" __global__ void layernorm_fwd(float* y, float* mean, float* rstd, const float* x, const float* gamma,
                                         const float* beta, int rows, int cols) {
    const int r = warp_row(rows);
    if (r < 0) return;
    const int lane = threadIdx.x % WARP_SIZE;
    const float* xr = x + (long long)r * cols;
    float* yr = y + (long long)r * cols;
    float s = 0.0f;
    for (int c = lane; c < cols; c += WARP_SIZE) s += xr[c];
    const float mu = warp_sum(s) / cols;
    float v = 0.0f;
    for (int c = lane; c < cols; c += WARP_SIZE) {
        float d = xr[c] - mu;
        v += d * d;
    }
    const float rs = 1.0f / sqrtf(warp_sum(v) / cols + LN_EPS);
    for (int c = lane; c < cols; c += WARP_SIZE) yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
    if (lane == 0) {
        mean[r] = mu;
        rstd[r] = rs;
    }
}
// dx += rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
extern "C" __global__ void layernorm_bwd_dx(float* dx, const float* dy, const float* x, const float* gamma,
                                            const float* mean, const float* rstd, int rows, int cols) {
    const int r = warp_row(rows);
    if (r < 0) return;
    const int lane = threadIdx.x % WARP_SIZE;
    const long long off = (long long)r * cols;
    const float mu = mean[r], rs = rstd[r];
    float sg = 0.0f, sgx = 0.0f;
    for (int c = lane; c < cols; c += WARP_SIZE) {
        float g = dy[off + c] * gamma[c];
        sg += g;
        sgx += g * (x[off + c] - mu) * rs;
    }
    sg = warp_sum(sg) / cols;
    sgx = warp_sum(sgx) / cols;
    for (int c = lane; c < cols; c += WARP_SIZE) {
        float xhat = (x[off + c] - mu) * rs;
        float g = dy[off + c] * gamma[c];
        dx[off + c] += rs * (g - sg - xhat * sgx);
    }
}
// gamma/beta gradients, pass 1 of 2: partial[p, c] = sum dy * xhat, partial[p, cols + c] = sum dy
// over the rows of chunk p. Launch: block (32, 8), grid (CEIL_DIV(cols, 32), P).
extern "C" __global__ void layernorm_bwd_gb_partial(float* partial, const float* dy, const float* x,
                                                    const float* mean, const float* rstd, int rows, int cols,
                                                    int rows_per_part) {
    __shared__ float pg[CR_TY][CR_TX + 1];
    __shared__ float pb[CR_TY][CR_TX + 1];
    const int c = blockIdx.x * CR_TX + threadIdx.x;
    const int r0 = blockIdx.y * rows_per_part;
    const int r1 = min(r0 + rows_per_part, rows);
    float ag = 0.0f, ab = 0.0f;
    if (c < cols) {
        for (int r = r0 + threadIdx.y; r < r1; r += CR_TY) {
            long long idx = (long long)r * cols + c;
            float d = dy[idx];
            ag += d * (x[idx] - mean[r]) * rstd[r];
            ab += d;
        }
    }
    pg[threadIdx.y][threadIdx.x] = ag;
    pb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float sg = 0.0f, sb = 0.0f;
        for (int k = 0; k < CR_TY; ++k) {
            sg += pg[k][threadIdx.x];
            sb += pb[k][threadIdx.x];
        }
        float* out = partial + (long long)blockIdx.y * 2 * cols;
        out[c] = sg;
        out[cols + c] = sb;
    }
}
// Pass 2 of 2: dgamma[c] += sum_p partial[p, c], dbeta[c] += sum_p partial[p, cols + c].
extern "C" __global__ void layernorm_bwd_gb_final(float* dgamma, float* dbeta, const float* partial, int parts,
                                                  int cols) {
    GRID_STRIDE(c, cols) {
        float sg = 0.0f, sb = 0.0f;
        for (int p = 0; p < parts; ++p) {
            sg += partial[(long long)p * 2 * cols + c];
            sb += partial[(long long)p * 2 * cols + cols + c];
        }
        dgamma[c] += sg;
        dbeta[c] += sb;
    }
}
