// Koopman latent dynamics, sequential scan (src/ops/koopman/scan), forward + backward.
//
// Layouts (planar complex, see prelude): mu, omega [m] real; log_dt [1]; lbar, gain [2m];
// z0 [B, 2m]; u, c, x [B, T, 2m] where x row k holds xhat_{k+1}; V [2][m][K] (all Re rows,
// then all Im rows), V[i, k] = lbar_i^k for k = 0..K-1, K >= T + 1.
// Gradients use G = dL/dRe + i dL/dIm (model-math.md section 6): for y = a * x, G_x += conj(a) G_y.

// ---------------------------------------------------------------------------------------------
// Sequential scan: xhat_0 = z0, xhat_{k+1} = lbar * xhat_k + c_k; x row k = xhat_{k+1}.
// One thread per (batch, mode): the state stays in registers in fp32, a warp covers 32
// consecutive modes so every step is a coalesced row access. Loads for SCAN_UNROLL steps are
// issued before the dependent FMAs so enough bytes are in flight to saturate HBM.
// Launch: block (SCAN_BLOCK), grid (CEIL_DIV(m, SCAN_BLOCK), B).
#define SCAN_UNROLL 8

extern "C" __global__ void scan_fwd(float* x, const float* z0, const float* c, const float* lbar, int B, int T,
                                    int m) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (i >= m || b >= B) return;
    const long long row = 2LL * m;
    const float* cb = c + (long long)b * T * row;
    float* xb = x + (long long)b * T * row;
    const cf32 l = cload(lbar, m, i);
    cf32 s = cload(z0 + b * row, m, i);
    int k = 0;
    for (; k + SCAN_UNROLL <= T; k += SCAN_UNROLL) {
        cf32 in[SCAN_UNROLL];
#pragma unroll
        for (int j = 0; j < SCAN_UNROLL; ++j) in[j] = cload(cb + (k + j) * row, m, i);
#pragma unroll
        for (int j = 0; j < SCAN_UNROLL; ++j) {
            s = cfma(l, s, in[j]);
            cstore(xb + (k + j) * row, m, i, s);
        }
    }
    for (; k < T; ++k) {
        s = cfma(l, s, cload(cb + k * row, m, i));
        cstore(xb + k * row, m, i, s);
    }
}

// Reverse-time adjoint with conj(lbar): a_T = g_T, a_k = g_k + conj(lbar) a_{k+1} (g_k = gx row k-1).
// dc row k += a_{k+1}; dz0 += conj(lbar) a_1; dlbar_part[b, :] = sum_k conj(xhat_k) a_{k+1}
// (written, planar [B][2m]; xhat_0 = z0). Reduce the partials over b with reduce.cu's
// sum_cols_final(dlbar, dlbar_part, B, 2m, accumulate = 1): deterministic, no atomics.
// xhat is read from the forward output, never rebuilt backwards (unstable for |lbar| < 1).
// Launch as scan_fwd.
extern "C" __global__ void scan_bwd(float* dz0, float* dc, float* dlbar_part, const float* gx, const float* x,
                                    const float* z0, const float* lbar, int B, int T, int m) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int b = blockIdx.y;
    if (i >= m || b >= B) return;
    const long long row = 2LL * m;
    const float* gb = gx + (long long)b * T * row;
    const float* xb = x + (long long)b * T * row;
    float* dcb = dc + (long long)b * T * row;
    const cf32 lc = cconj(cload(lbar, m, i));
    const cf32 x0 = cload(z0 + b * row, m, i);
    cf32 a = cf(0.0f, 0.0f), acc = cf(0.0f, 0.0f);
    int t = T - 1;  // row index: handles g_{t+1}, dc_t, xhat_t
    for (; t + 1 >= SCAN_UNROLL; t -= SCAN_UNROLL) {
        cf32 g[SCAN_UNROLL], xp[SCAN_UNROLL], d[SCAN_UNROLL];
#pragma unroll
        for (int j = 0; j < SCAN_UNROLL; ++j) {
            const int tt = t - j;
            g[j] = cload(gb + tt * row, m, i);
            d[j] = cload(dcb + tt * row, m, i);
            xp[j] = tt >= 1 ? cload(xb + (tt - 1) * row, m, i) : x0;
        }
#pragma unroll
        for (int j = 0; j < SCAN_UNROLL; ++j) {
            a = cfma(lc, a, g[j]);
            cstore(dcb + (t - j) * row, m, i, cadd(d[j], a));
            acc = cfmac(xp[j], a, acc);
        }
    }
    for (; t >= 0; --t) {
        a = cfma(lc, a, cload(gb + t * row, m, i));
        cstore_add(dcb + t * row, m, i, a);
        acc = cfmac(t >= 1 ? cload(xb + (t - 1) * row, m, i) : x0, a, acc);
    }
    cstore_add(dz0 + b * row, m, i, cmul(lc, a));
    cstore(dlbar_part + b * row, m, i, acc);
}
