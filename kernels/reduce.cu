// Row and column sums of a row-major [rows, cols] matrix (src/ops/reduce; the column sums also
// serve bias gradients, the broadcast operand of add/mul backward and the Koopman batch reductions).
// Row reductions use one warp per row (launch: 1-D blocks of a multiple of 32 threads, grid =
// CEIL_DIV(rows, warps per block)). Column reductions use two passes, partial sums over row chunks
// then a fixed-order sum of the partials, so results never depend on scheduling (no float atomics).
// warp_row and the CR_TX x CR_TY column tile live in prelude.cuh (layernorm.cu uses them too).

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
extern "C" __global__ void sum_cols_partial(float* partial, const float* x, NULLABLE const float* w, int rows, int cols,
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
