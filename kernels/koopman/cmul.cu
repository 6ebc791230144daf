// Koopman latent dynamics, input gain (src/ops/koopman/cmul), forward + backward.
//
// Layouts (planar complex, see prelude): mu, omega [m] real; log_dt [1]; lbar, gain [2m];
// z0 [B, 2m]; u, c, x [B, T, 2m] where x row k holds xhat_{k+1}; V [2][m][K] (all Re rows,
// then all Im rows), V[i, k] = lbar_i^k for k = 0..K-1, K >= T + 1.
// Gradients use G = dL/dRe + i dL/dIm (model-math.md section 6): for y = a * x, G_x += conj(a) G_y.

// ---------------------------------------------------------------------------------------------
// Input gain: c = gain * u per mode, over `rows` = B * T rows of 2m floats.

extern "C" __global__ void cmul_gain_fwd(float* c, const float* u, const float* gain, int rows, int m) {
    GRID_STRIDE(idx, rows * m) {
        const int r = idx / m, i = idx % m;
        const long long off = (long long)r * 2 * m;
        cstore(c + off, m, i, cmul(cload(gain, m, i), cload(u + off, m, i)));
    }
}

// du += conj(gain) gc, and partial[p, :] = sum over rows of chunk p of conj(u) gc (planar [P][2m]).
// Launch: block (32, 8), grid (CEIL_DIV(m, 32), P), P = CEIL_DIV(rows, rows_per_part); then
// reduce.cu's sum_cols_final(dgain, partial, P, 2m, accumulate = 1).
#define GN_TX 32
#define GN_TY 8
extern "C" __global__ void cmul_gain_bwd(float* du, float* partial, const float* gc, const float* u,
                                         const float* gain, int rows, int m, int rows_per_part) {
    __shared__ float pre[GN_TY][GN_TX + 1], pim[GN_TY][GN_TX + 1];
    const int i = blockIdx.x * GN_TX + threadIdx.x;
    const int r0 = blockIdx.y * rows_per_part;
    const int r1 = min(r0 + rows_per_part, rows);
    cf32 acc = cf(0.0f, 0.0f);
    if (i < m) {
        const cf32 g = cload(gain, m, i);
        for (int r = r0 + threadIdx.y; r < r1; r += GN_TY) {
            const long long off = (long long)r * 2 * m;
            const cf32 gr = cload(gc + off, m, i);
            cstore_add(du + off, m, i, cmulc(g, gr));
            acc = cfmac(cload(u + off, m, i), gr, acc);
        }
    }
    pre[threadIdx.y][threadIdx.x] = acc.re;
    pim[threadIdx.y][threadIdx.x] = acc.im;
    __syncthreads();
    if (threadIdx.y == 0 && i < m) {
        cf32 s = cf(0.0f, 0.0f);
        for (int k = 0; k < GN_TY; ++k) s = cadd(s, cf(pre[k][threadIdx.x], pim[k][threadIdx.x]));
        cstore(partial + (long long)blockIdx.y * 2 * m, m, i, s);
    }
}
