// Koopman latent dynamics: ZOH discretisation, Vandermonde powers, input gain, and the two
// equivalent rollouts (sequential scan, causal convolution), each as forward + backward.
//
// Layouts (planar complex, see prelude): mu, omega [m] real; log_dt [1]; lbar, gain [2m];
// z0 [B, 2m]; u, c, x [B, T, 2m] where x row k holds xhat_{k+1}; V [2][m][K] (all Re rows,
// then all Im rows), V[i, k] = lbar_i^k for k = 0..K-1, K >= T + 1.
// Gradients use G = dL/dRe + i dL/dIm (model-math.md section 6): for y = a * x, G_x += conj(a) G_y.
// Parameter math (ZOH, Vandermonde) is done in double: it is O(m) or O(m K) work, and double
// keeps phases like omega * dt * k exact enough without range-reduction tricks.

// ---------------------------------------------------------------------------------------------
// ZOH discretisation: lbar = exp(lambda dt), gain b = (lbar - 1) / lambda, lambda = mu + i omega.

// Writes lbar, b and b' = db/dlambda for one mode. Near lambda dt = 0 uses the series
// b = dt (1 + z/2 + z^2/6), b' = dt^2 (1/2 + z/3 + z^2/8), z = lambda dt.
__device__ void zoh_mode(double mu, double om, double dt, double* lb, double* b, double* bp) {
    const double a = mu * dt, th = om * dt;
    double s, c;
    sincos(th, &s, &c);
    const double ea = exp(a);
    lb[0] = ea * c;
    lb[1] = ea * s;
    if (a * a + th * th < 1e-8) {  // |z| < 1e-4
        const double z2r = a * a - th * th, z2i = 2.0 * a * th;
        b[0] = dt * (1.0 + a / 2.0 + z2r / 6.0);
        b[1] = dt * (th / 2.0 + z2i / 6.0);
        bp[0] = dt * dt * (0.5 + a / 3.0 + z2r / 8.0);
        bp[1] = dt * dt * (th / 3.0 + z2i / 8.0);
    } else {
        // lbar - 1 = expm1(a) cos(th) - 2 sin^2(th / 2) + i e^a sin(th): no cancellation.
        const double sh = sin(0.5 * th);
        const double nr = expm1(a) * c - 2.0 * sh * sh, ni = ea * s;
        const double den = mu * mu + om * om;
        b[0] = (nr * mu + ni * om) / den;
        b[1] = (ni * mu - nr * om) / den;
        // b' = (dt lbar - b) / lambda
        const double qr = dt * lb[0] - b[0], qi = dt * lb[1] - b[1];
        bp[0] = (qr * mu + qi * om) / den;
        bp[1] = (qi * mu - qr * om) / den;
    }
}

// One thread per mode, any 1-D launch.
extern "C" __global__ void zoh_fwd(float* lbar, float* gain, const float* mu, const float* omega,
                                   const float* log_dt, int m) {
    const double dt = exp((double)log_dt[0]);
    GRID_STRIDE(i, m) {
        double lb[2], b[2], bp[2];
        zoh_mode(mu[i], omega[i], dt, lb, b, bp);
        lbar[i] = (float)lb[0];
        lbar[m + i] = (float)lb[1];
        gain[i] = (float)b[0];
        gain[m + i] = (float)b[1];
    }
}

// From G_lbar, G_gain [2m]: dmu, domega [m] += (either may be nullptr for a frozen parameter),
// dlog_dt[0] += dt * sum_i dL/ddt_i. Launch exactly ONE block (multiple of 32 threads): the sum
// over modes is a fixed-order block reduction, so it is deterministic without atomics.
extern "C" __global__ void zoh_bwd(float* dmu, float* domega, float* dlog_dt, const float* g_lbar,
                                   const float* g_gain, const float* mu, const float* omega, const float* log_dt,
                                   int m) {
    const double dt = exp((double)log_dt[0]);
    double ddt = 0.0;
    for (int i = threadIdx.x; i < m; i += blockDim.x) {
        const double mr = mu[i], om = omega[i];
        double lb[2], b[2], bp[2];
        zoh_mode(mr, om, dt, lb, b, bp);
        const double glr = g_lbar[i], gli = g_lbar[m + i];
        const double gbr = g_gain[i], gbi = g_gain[m + i];
        // conj(lbar) G_lbar and conj(b') G_b
        const double clr = lb[0] * glr + lb[1] * gli, cli = lb[0] * gli - lb[1] * glr;
        const double cbr = bp[0] * gbr + bp[1] * gbi, cbi = bp[0] * gbi - bp[1] * gbr;
        if (dmu) dmu[i] += (float)(dt * clr + cbr);
        if (domega) domega[i] += (float)(dt * cli + cbi);
        // dL/ddt_i = Re(conj(lambda lbar) G_lbar) + Re(conj(lbar) G_b)
        //          = Re(conj(lambda) * conj(lbar) G_lbar) + Re(conj(lbar) G_b)
        ddt += mr * clr + om * cli + (lb[0] * gbr + lb[1] * gbi);
    }
    ddt = block_sum(ddt);
    if (threadIdx.x == 0) dlog_dt[0] += (float)(dt * ddt);
}

// ---------------------------------------------------------------------------------------------
// Vandermonde V[i, k] = exp(lambda_i dt k), closed form (no repeated products, so no error growth).

// One thread per (i, k), any 1-D launch. The phase omega dt k is formed and reduced in double.
extern "C" __global__ void vandermonde_fwd(float* V, const float* mu, const float* omega, const float* log_dt, int m,
                                           int K) {
    const double dt = exp((double)log_dt[0]);
    GRID_STRIDE(idx, m * K) {
        const int i = idx / K, k = idx % K;
        double s, c;
        sincos((double)omega[i] * dt * k, &s, &c);
        const double r = exp((double)mu[i] * dt * k);
        V[idx] = (float)(r * c);
        V[(long long)m * K + idx] = (float)(r * s);
    }
}

// From G_V [2][m][K]: S_i = sum_k conj(dt k V[i,k]) G_V[i,k]; dmu_i += Re S_i, domega_i += Im S_i
// (either nullptr to skip), dt_partial[i] = Re(conj(lambda_i) S_i), this mode's share of dlog_dt.
// Launch: grid m blocks (block i = mode i), 1-D blocks of a multiple of 32 threads; then
// dt_reduce(dlog_dt, dt_partial, m) with one block.
extern "C" __global__ void vandermonde_bwd(float* dmu, float* domega, float* dt_partial, const float* g_v,
                                           const float* mu, const float* omega, const float* log_dt, int m, int K) {
    const int i = blockIdx.x;
    const double dt = exp((double)log_dt[0]);
    const double mr = mu[i], om = omega[i];
    const float* gre = g_v + (long long)i * K;
    const float* gim = g_v + (long long)(m + i) * K;
    double sr = 0.0, si = 0.0;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        double s, c;
        sincos(om * dt * k, &s, &c);
        const double r = exp(mr * dt * k) * k;  // k V, scaled by dt below
        const double vr = r * c, vi = r * s;
        const double gr = gre[k], gi = gim[k];
        sr += vr * gr + vi * gi;
        si += vr * gi - vi * gr;
    }
    sr = block_sum(sr) * dt;
    si = block_sum(si) * dt;
    if (threadIdx.x == 0) {
        if (dmu) dmu[i] += (float)sr;
        if (domega) domega[i] += (float)si;
        dt_partial[i] = (float)(mr * sr + om * si);
    }
}

// dst[0] += sum of src[0..n), one block (multiple of 32 threads), fixed order.
extern "C" __global__ void dt_reduce(float* dst, const float* src, int n) {
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += src[i];
    s = block_sum(s);
    if (threadIdx.x == 0) dst[0] += s;
}

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

// ---------------------------------------------------------------------------------------------
// Causal convolution with the Vandermonde kernel, free response fused:
// x[b, k] = V[:, k+1] z0[b] + sum_{l <= k} V[:, k-l] c[b, l]  (complex, per mode).
// Block tile: CC_TM modes (threadIdx.x, coalesced) x CC_TO outputs (CC_TY rows of threads, each
// CC_TO / CC_TY outputs). Inputs are staged CC_TI steps at a time in shared memory together with
// the CC_TO + CC_TI - 1 kernel taps they meet; taps with negative lag are staged as 0, which
// implements causality without branches. Every output sums its terms in ascending l.
// Launch: block (CC_TM, CC_TY), grid (CEIL_DIV(m, CC_TM), CEIL_DIV(T, CC_TO), B) for fwd and
// bwd_dc; cconv_bwd_dv uses grid (CEIL_DIV(m, CC_TM), CEIL_DIV(K, CC_TO), P).
#define CC_TM 32
#define CC_TY 8
#define CC_TO 32
#define CC_TI 32
#define CC_OPT (CC_TO / CC_TY)
#define CC_TAPS (CC_TO + CC_TI - 1)

extern "C" __global__ void cconv_fwd(float* x, const float* z0, const float* c, const float* V, int B, int T, int m,
                                     int K) {
    __shared__ float cs_re[CC_TI][CC_TM], cs_im[CC_TI][CC_TM];
    __shared__ float vs_re[CC_TAPS][CC_TM], vs_im[CC_TAPS][CC_TM];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int i = blockIdx.x * CC_TM + tx;
    const int k0 = blockIdx.y * CC_TO;
    const int b = blockIdx.z;
    const bool live = i < m;
    const long long row = 2LL * m;
    const float* cb = c + (long long)b * T * row;
    const float* vre = V + (long long)i * K;
    const float* vim = V + (long long)(m + i) * K;
    cf32 acc[CC_OPT];
#pragma unroll
    for (int j = 0; j < CC_OPT; ++j) acc[j] = cf(0.0f, 0.0f);
    const int kend = min(k0 + CC_TO, T);
    for (int l0 = 0; l0 < kend; l0 += CC_TI) {
        for (int r = ty; r < CC_TI; r += CC_TY) {
            const int l = l0 + r;
            const cf32 v = (live && l < T) ? cload(cb + l * row, m, i) : cf(0.0f, 0.0f);
            cs_re[r][tx] = v.re;
            cs_im[r][tx] = v.im;
        }
        const int dbase = k0 - l0 - (CC_TI - 1);  // lag of tap slot 0
        for (int r = ty; r < CC_TAPS; r += CC_TY) {
            const int d = dbase + r;
            const bool ok = live && d >= 0 && d < K;
            vs_re[r][tx] = ok ? vre[d] : 0.0f;
            vs_im[r][tx] = ok ? vim[d] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int j = 0; j < CC_OPT; ++j) {
            const int ko = ty + CC_TY * j;  // k - k0; lag k - l sits in slot ko - r + CC_TI - 1
#pragma unroll 8
            for (int r = 0; r < CC_TI; ++r) {
                const int s = ko - r + CC_TI - 1;
                acc[j] = cfma(cf(vs_re[s][tx], vs_im[s][tx]), cf(cs_re[r][tx], cs_im[r][tx]), acc[j]);
            }
        }
        __syncthreads();
    }
    if (!live) return;
    const cf32 zz = cload(z0 + b * row, m, i);
#pragma unroll
    for (int j = 0; j < CC_OPT; ++j) {
        const int k = k0 + ty + CC_TY * j;
        if (k < T) cstore(x + ((long long)b * T + k) * row, m, i, cfma(cf(vre[k + 1], vim[k + 1]), zz, acc[j]));
    }
}

// dc[b, l] += sum_{k = l}^{T-1} conj(V[:, k-l]) G[b, k] (a correlation with conj(V)).
// Same tiling as cconv_fwd with the roles of inputs and outputs swapped.
extern "C" __global__ void cconv_bwd_dc(float* dc, const float* g, const float* V, int B, int T, int m, int K) {
    __shared__ float gs_re[CC_TI][CC_TM], gs_im[CC_TI][CC_TM];
    __shared__ float vs_re[CC_TAPS][CC_TM], vs_im[CC_TAPS][CC_TM];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int i = blockIdx.x * CC_TM + tx;
    const int lb = blockIdx.y * CC_TO;
    const int b = blockIdx.z;
    const bool live = i < m;
    const long long row = 2LL * m;
    const float* gb = g + (long long)b * T * row;
    const float* vre = V + (long long)i * K;
    const float* vim = V + (long long)(m + i) * K;
    cf32 acc[CC_OPT];
#pragma unroll
    for (int j = 0; j < CC_OPT; ++j) acc[j] = cf(0.0f, 0.0f);
    for (int k0 = lb; k0 < T; k0 += CC_TI) {
        for (int r = ty; r < CC_TI; r += CC_TY) {
            const int k = k0 + r;
            const cf32 v = (live && k < T) ? cload(gb + k * row, m, i) : cf(0.0f, 0.0f);
            gs_re[r][tx] = v.re;
            gs_im[r][tx] = v.im;
        }
        const int dbase = k0 - lb - (CC_TO - 1);
        for (int r = ty; r < CC_TAPS; r += CC_TY) {
            const int d = dbase + r;
            const bool ok = live && d >= 0 && d < K;
            vs_re[r][tx] = ok ? vre[d] : 0.0f;
            vs_im[r][tx] = ok ? vim[d] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int j = 0; j < CC_OPT; ++j) {
            const int lo = ty + CC_TY * j;  // l - lb; lag k - l sits in slot r - lo + CC_TO - 1
#pragma unroll 8
            for (int r = 0; r < CC_TI; ++r) {
                const int s = r - lo + CC_TO - 1;
                acc[j] = cfmac(cf(vs_re[s][tx], vs_im[s][tx]), cf(gs_re[r][tx], gs_im[r][tx]), acc[j]);
            }
        }
        __syncthreads();
    }
    if (!live) return;
#pragma unroll
    for (int j = 0; j < CC_OPT; ++j) {
        const int l = lb + ty + CC_TY * j;
        if (l < T) cstore_add(dc + ((long long)b * T + l) * row, m, i, acc[j]);
    }
}

// dz0[b] += sum_{k=0}^{T-1} conj(V[:, k+1]) G[b, k]. One thread per (b, mode), any 1-D launch.
extern "C" __global__ void cconv_bwd_dz0(float* dz0, const float* g, const float* V, int B, int T, int m, int K) {
    GRID_STRIDE(idx, B * m) {
        const int b = idx / m, i = idx % m;
        const long long row = 2LL * m;
        const float* gb = g + (long long)b * T * row;
        const float* vre = V + (long long)i * K;
        const float* vim = V + (long long)(m + i) * K;
        cf32 acc = cf(0.0f, 0.0f);
        for (int k = 0; k < T; ++k) acc = cfmac(cf(vre[k + 1], vim[k + 1]), cload(gb + k * row, m, i), acc);
        cstore_add(dz0 + b * row, m, i, acc);
    }
}

// G_V partials over batch chunks: partial[p][2][m][K] = sum over b in chunk p of
//   sum_{l=0}^{T-1-j} conj(c[b, l]) G[b, l+j]   (convolution term, lags j <= T-1)
//   + conj(z0[b]) G[b, j-1]                     (free response, j >= 1).
// Chunk p covers batches [p * batch_per_part, (p+1) * batch_per_part). Then reduce.cu's
// sum_cols_final(dV, partial, P, 2 m K, accumulate = 1) sums the chunks in order.
extern "C" __global__ void cconv_bwd_dv(float* partial, const float* g, const float* c, const float* z0, int B,
                                        int T, int m, int K, int batch_per_part) {
    __shared__ float cs_re[CC_TI][CC_TM], cs_im[CC_TI][CC_TM];
    __shared__ float gs_re[CC_TAPS][CC_TM], gs_im[CC_TAPS][CC_TM];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int i = blockIdx.x * CC_TM + tx;
    const int j0 = blockIdx.y * CC_TO;
    const int p = blockIdx.z;
    const bool live = i < m;
    const long long row = 2LL * m;
    const int b1 = min((p + 1) * batch_per_part, B);
    cf32 acc[CC_OPT];
#pragma unroll
    for (int q = 0; q < CC_OPT; ++q) acc[q] = cf(0.0f, 0.0f);
    for (int b = p * batch_per_part; b < b1; ++b) {
        const float* cb = c + (long long)b * T * row;
        const float* gb = g + (long long)b * T * row;
        for (int l0 = 0; l0 < T - j0; l0 += CC_TI) {  // only l + j < T contributes, j >= j0
            for (int r = ty; r < CC_TI; r += CC_TY) {
                const int l = l0 + r;
                const cf32 v = (live && l < T) ? cload(cb + l * row, m, i) : cf(0.0f, 0.0f);
                cs_re[r][tx] = v.re;
                cs_im[r][tx] = v.im;
            }
            for (int r = ty; r < CC_TAPS; r += CC_TY) {
                const int k = l0 + j0 + r;
                const cf32 v = (live && k < T) ? cload(gb + k * row, m, i) : cf(0.0f, 0.0f);
                gs_re[r][tx] = v.re;
                gs_im[r][tx] = v.im;
            }
            __syncthreads();
#pragma unroll
            for (int q = 0; q < CC_OPT; ++q) {
                const int jo = ty + CC_TY * q;  // j - j0; G[l + j] sits in slot r + jo
#pragma unroll 8
                for (int r = 0; r < CC_TI; ++r)
                    acc[q] = cfmac(cf(cs_re[r][tx], cs_im[r][tx]), cf(gs_re[r + jo][tx], gs_im[r + jo][tx]), acc[q]);
            }
            __syncthreads();
        }
        if (live) {
            const cf32 zz = cload(z0 + b * row, m, i);
#pragma unroll
            for (int q = 0; q < CC_OPT; ++q) {
                const int j = j0 + ty + CC_TY * q;
                if (j >= 1 && j - 1 < T) acc[q] = cfmac(zz, cload(gb + (j - 1) * row, m, i), acc[q]);
            }
        }
    }
    if (!live) return;
    float* out = partial + (long long)p * 2 * m * K;
#pragma unroll
    for (int q = 0; q < CC_OPT; ++q) {
        const int j = j0 + ty + CC_TY * q;
        if (j < K) {
            out[(long long)i * K + j] = acc[q].re;
            out[(long long)(m + i) * K + j] = acc[q].im;
        }
    }
}
