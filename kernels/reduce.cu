// Reductions over rows or columns of a row-major [rows, cols] matrix: sums, softmax, layernorm.
// Row reductions use one warp per row (launch: 1-D blocks of a multiple of 32 threads, grid =
// CEIL_DIV(rows, warps per block)). Column reductions use two passes, partial sums over row chunks
// then a fixed-order sum of the partials, so results never depend on scheduling (no float atomics).

#define NEG_BIG (-3.402823466e38f)
#define LN_EPS 1e-5f
// Column-reduction tile: 32 columns x 8 row lanes per block.
#define CR_TX 32
#define CR_TY 8

// One warp per row: (row index or -1, lane).
__device__ __forceinline__ int warp_row(int rows) {
    int r = blockIdx.x * (blockDim.x / WARP_SIZE) + threadIdx.x / WARP_SIZE;
    return r < rows ? r : -1;
}

// y[r] = sum_c x[r, c].
extern "C" __global__ void sum_rows_fwd(float* y, const float* x, int rows, int cols) {
    const int r = warp_row(rows);
    if (r < 0) return;  // whole warp leaves together, so the shuffles below stay full-mask
    const int lane = threadIdx.x % WARP_SIZE;
    const float* xr = x + (long long)r * cols;
    float s = 0.0f;
    for (int c = lane; c < cols; c += WARP_SIZE) s += xr[c];
    s = warp_sum(s);
    if (lane == 0) y[r] = s;
}
// dx[r, c] += dy[r].
extern "C" __global__ void sum_rows_bwd(float* dx, const float* dy, int rows, int cols) {
    GRID_STRIDE(i, rows * cols) dx[i] += dy[i / cols];
}

// Column sums, pass 1 of 2: partial[p, c] = sum over rows [p * rows_per_part, (p+1) * rows_per_part)
// of x[r, c] * w[r, c] (w may be nullptr: plain sum). Used for sum over columns, bias gradients,
// and the broadcast operand of add/mul backward. Launch: block (32, 8), grid (CEIL_DIV(cols, 32), P).
extern "C" __global__ void sum_cols_partial(float* partial, const float* x, const float* w, int rows, int cols,
                                            int rows_per_part) {
    __shared__ float part[CR_TY][CR_TX + 1];
    const int c = blockIdx.x * CR_TX + threadIdx.x;
    const int r0 = blockIdx.y * rows_per_part;
    const int r1 = min(r0 + rows_per_part, rows);
    float acc = 0.0f;
    if (c < cols) {
        for (int r = r0 + threadIdx.y; r < r1; r += CR_TY) {
            long long idx = (long long)r * cols + c;
            acc += w ? x[idx] * w[idx] : x[idx];
        }
    }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float s = 0.0f;
        for (int k = 0; k < CR_TY; ++k) s += part[k][threadIdx.x];
        partial[(long long)blockIdx.y * cols + c] = s;
    }
}
// Pass 2 of 2: y[c] (= or +=, per `accumulate`) sum_p partial[p, c] in ascending p.
extern "C" __global__ void sum_cols_final(float* y, const float* partial, int parts, int cols, int accumulate) {
    GRID_STRIDE(c, cols) {
        float s = 0.0f;
        for (int p = 0; p < parts; ++p) s += partial[(long long)p * cols + c];
        y[c] = accumulate ? y[c] + s : s;
    }
}
// dx[r, c] += dy[c].
extern "C" __global__ void sum_cols_bwd(float* dx, const float* dy, int rows, int cols) {
    GRID_STRIDE(i, rows * cols) dx[i] += dy[i % cols];
}

// Softmax over the last dim. causal != 0: rows are [.., T, T] (cols == T); row r is time
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

// LayerNorm over the last dim: y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + 1e-5),
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
