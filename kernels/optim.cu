// Optimiser kernels: AdamW step, global gradient-norm clipping, in-place scaling.

// Decoupled weight decay (PyTorch AdamW): p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * p).
// bc1 = 1 - beta1^t and bc2 = 1 - beta2^t are computed on the host, once per step.
extern "C" __global__ void adamw_step(float* p, float* m, float* v, const float* g, int n, float lr, float beta1,
                                      float beta2, float eps, float weight_decay, float bc1, float bc2) {
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / bc1;
        float vhat = vi / bc2;
        p[i] -= lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * p[i]);
    }
}

// Squared-norm partial sums: partial[blockIdx.x] = sum of g^2 over this block's grid-stride share.
// Call once per gradient tensor, each writing its own slice of one partial buffer, then reduce
// the whole buffer with grad_norm_final. 1-D blocks of a multiple of 32 threads.
extern "C" __global__ void grad_sqnorm_partial(float* partial, const float* g, int n) {
    float s = 0.0f;
    GRID_STRIDE(i, n) s += g[i] * g[i];
    s = block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
// One block: norm[0] = sqrt(sum partial); clip[0] = min(1, max_norm / (norm + 1e-6)), the factor
// to scale every gradient by (max_norm <= 0 disables clipping: factor 1). Stays on the device.
extern "C" __global__ void grad_norm_final(float* norm, float* clip, const float* partial, int parts,
                                           float max_norm) {
    float s = 0.0f;
    for (int p = threadIdx.x; p < parts; p += blockDim.x) s += partial[p];
    s = block_sum(s);
    if (threadIdx.x == 0) {
        float nrm = sqrtf(s);
        norm[0] = nrm;
        clip[0] = (max_norm > 0.0f && nrm > max_norm) ? max_norm / (nrm + 1e-6f) : 1.0f;
    }
}
// x *= s[0], with the factor read on the device (e.g. grad_norm_final's clip).
extern "C" __global__ void scale_by_dev(float* x, const float* s, int n) {
    const float k = s[0];
    GRID_STRIDE(i, n) x[i] *= k;
}
// x *= s with a host scalar.
extern "C" __global__ void scale_inplace(float* x, float s, int n) {
    GRID_STRIDE(i, n) x[i] *= s;
}
