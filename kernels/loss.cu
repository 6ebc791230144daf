// Mean squared error: loss = sum (pred - target)^2 / n.
// Forward is two passes (block partial sums, then one block sums the partials in fixed order), so
// the loss is deterministic. Launch mse_fwd_partial with 1-D blocks of a multiple of 32 threads and
// any grid (grid-stride), then mse_fwd_final with one block.

extern "C" __global__ void mse_fwd_partial(float* partial, const float* pred, const float* target, int n) {
    float s = 0.0f;
    GRID_STRIDE(i, n) {
        float d = pred[i] - target[i];
        s += d * d;
    }
    s = block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
// loss[0] = sum_p partial[p] / n (written, not accumulated: the loss is an activation).
extern "C" __global__ void mse_fwd_final(float* loss, const float* partial, int parts, int n) {
    float s = 0.0f;
    for (int p = threadIdx.x; p < parts; p += blockDim.x) s += partial[p];
    s = block_sum(s);
    if (threadIdx.x == 0) loss[0] = s / n;
}
// dpred += dloss * 2 (pred - target) / n; dtarget (nullable, for a target that is not
// stop-gradient) gets the negative. dloss is a device scalar, so no host sync is needed.
extern "C" __global__ void mse_bwd(float* dpred, NULLABLE float* dtarget, const float* pred, const float* target,
                                   const float* dloss, int n) {
    const float k = 2.0f * dloss[0] / n;
    GRID_STRIDE(i, n) {
        float g = k * (pred[i] - target[i]);
        dpred[i] += g;
        if (dtarget) dtarget[i] -= g;
    }
}
