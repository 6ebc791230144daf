// Koopman latent dynamics, causal convolution (src/ops/koopman/cconv), forward + backward.
//
// Layouts (planar complex, see prelude): mu, omega [m] real; log_dt [1]; lbar, gain [2m];
// z0 [B, 2m]; u, c, x [B, T, 2m] where x row k holds xhat_{k+1}; V [2][m][K] (all Re rows,
// then all Im rows), V[i, k] = lbar_i^k for k = 0..K-1, K >= T + 1.
// Gradients use G = dL/dRe + i dL/dIm (model-math.md section 6): for y = a * x, G_x += conj(a) G_y.

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
