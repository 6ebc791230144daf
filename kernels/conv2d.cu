// 2-D convolution (src/ops/conv2d) around cuBLAS GEMMs: NCHW tensors, one stride and one zero
// padding for both axes. An im2col buffer holds `ns` samples as [ns, C*KH*KW, OH*OW]: row
// (ch, ki, kj), column (oy, ox) is x[ch, oy*stride + ki - pad, ox*stride + kj - pad], 0 in the
// padding. `n0` is the first sample of the chunk in x / dx. Grid-stride loops, 64-bit indices.

// col[s, r, q] for samples n0 .. n0+ns of x [N, C, H, W].
extern "C" __global__ void conv2d_im2col(float* col, const float* x, int n0, int ns, int c, int h, int w,
                                         int kh, int kw, int stride, int pad, int oh, int ow) {
    const int p = oh * ow, ckk = c * kh * kw;
    GRID_STRIDE(i, (long long)ns * ckk * p) {
        const int q = (int)(i % p);
        const long long sr = i / p;
        const int r = (int)(sr % ckk), s = (int)(sr / ckk);
        const int kj = r % kw, ki = (r / kw) % kh, ch = r / (kh * kw);
        const int iy = (q / ow) * stride + ki - pad, ix = (q % ow) * stride + kj - pad;
        float v = 0.0f;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = x[(((long long)(n0 + s) * c + ch) * h + iy) * w + ix];
        col[i] = v;
    }
}

// dx[n0 + s] (+)= col folded back (col2im). One thread per input pixel gathers the entries of the
// windows that read it, in a fixed order: no atomics. acc = 0 overwrites dx.
extern "C" __global__ void conv2d_col2im(float* dx, const float* col, int n0, int ns, int c, int h, int w,
                                         int kh, int kw, int stride, int pad, int oh, int ow, int acc) {
    const int p = oh * ow, ckk = c * kh * kw;
    GRID_STRIDE(i, (long long)ns * c * h * w) {
        const int ix = (int)(i % w), iy = (int)((i / w) % h);
        const long long sc = i / ((long long)h * w);
        const int ch = (int)(sc % c), s = (int)(sc / c);
        const float* cs = col + (long long)s * ckk * p;
        float sum = 0.0f;
        for (int ki = 0; ki < kh; ++ki) {
            const int ty = iy + pad - ki;
            if (ty < 0 || ty % stride != 0 || ty / stride >= oh) continue;
            for (int kj = 0; kj < kw; ++kj) {
                const int tx = ix + pad - kj;
                if (tx < 0 || tx % stride != 0 || tx / stride >= ow) continue;
                sum += cs[(long long)((ch * kh + ki) * kw + kj) * p + (ty / stride) * ow + tx / stride];
            }
        }
        float* d = dx + (long long)n0 * c * h * w + i;
        *d = acc ? *d + sum : sum;
    }
}

// y[n, o, q] += b[o] over all n*o*p outputs.
extern "C" __global__ void conv2d_bias_fwd(float* y, const float* b, int total, int o, int p) {
    GRID_STRIDE(i, total) y[i] += b[(i / p) % o];
}

// db[ch] (+)= sum over n and q of dy[n, ch, q]: one block per channel, a block sum in a fixed
// order (deterministic). acc = 0 overwrites db.
extern "C" __global__ void conv2d_bias_bwd(float* db, const float* dy, int n, int o, int p, int acc) {
    const int ch = blockIdx.x;
    float s = 0.0f;
    for (long long i = threadIdx.x; i < (long long)n * p; i += blockDim.x)
        s += dy[((i / p) * o + ch) * p + i % p];
    s = block_sum(s);
    if (threadIdx.x == 0) db[ch] = acc ? db[ch] + s : s;
}
