// Layout ops on the device: the blocks of concat/narrow and their gradients, and permute.
// Both are pure copies (or +=, for gradients), so they are exact: parity with the CPU is bitwise.

// dst[r, dst_off + j] (+)= src[r, src_off + j] for r < rows, j < width, where rows of dst hold
// dst_cols floats and rows of src src_cols floats. A tensor viewed as [outer, axis * inner] makes
// concat (one call per input), narrow, and both their backward passes a single call each.
extern "C" __global__ void copy_block(float* dst, int dst_cols, int dst_off, const float* src,
                                      int src_cols, int src_off, int rows, int width,
                                      int accumulate) {
    // 64-bit offsets: rows * cols may pass 2^31 even when each size fits an int.
    GRID_STRIDE(i, (long long)rows * width) {
        long long r = i / width, j = i - r * width;
        float v = src[r * src_cols + src_off + j];
        float* d = dst + r * dst_cols + dst_off + j;
        *d = accumulate ? *d + v : v;
    }
}

// y (+)= x permuted, rank <= 6: y has dims d0..d5 (unused trailing dims are 1), and s0..s5 are the
// strides of x along y's axes, so y[i0..i5] = x[sum_k i_k * s_k]. Backward is the same kernel with
// the inverse permutation and accumulate = 1.
extern "C" __global__ void permute(float* y, const float* x, int n, int d0, int d1, int d2, int d3,
                                   int d4, int d5, int s0, int s1, int s2, int s3, int s4, int s5,
                                   int accumulate) {
    GRID_STRIDE(i, n) {
        int rem = i, off = 0, c;
        c = rem % d5; rem /= d5; off += c * s5;
        c = rem % d4; rem /= d4; off += c * s4;
        c = rem % d3; rem /= d3; off += c * s3;
        c = rem % d2; rem /= d2; off += c * s2;
        c = rem % d1; rem /= d1; off += c * s1;
        off += rem * s0;
        y[i] = accumulate ? y[i] + x[off] : x[off];
    }
}
