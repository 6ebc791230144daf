// Fused GRU cell, PyTorch convention (gate order r, z, n):
//   r = sigmoid(xp_r + hp_r), z = sigmoid(xp_z + hp_z), n = tanh(xp_n + r * hp_n),
//   h' = (1 - z) n + z h,
// where xp [B, 3H] = x W_x + b_x and hp [B, 3H] = h W_h + b_h are GEMM outputs (cuBLAS, outside).
// Forward saves gates [B, 3H] = (r | z | n) for backward. One thread per (b, j), any 1-D launch.

__device__ __forceinline__ float gru_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

extern "C" __global__ void gru_cell_fwd(float* h_new, float* gates, const float* xp, const float* hp, const float* h,
                                        int B, int H) {
    GRID_STRIDE(idx, B * H) {
        const int b = idx / H, j = idx % H;
        const long long g3 = (long long)b * 3 * H;
        const float r = gru_sigmoid(xp[g3 + j] + hp[g3 + j]);
        const float z = gru_sigmoid(xp[g3 + H + j] + hp[g3 + H + j]);
        const float n = tanhf(xp[g3 + 2 * H + j] + r * hp[g3 + 2 * H + j]);
        gates[g3 + j] = r;
        gates[g3 + H + j] = z;
        gates[g3 + 2 * H + j] = n;
        h_new[idx] = (1.0f - z) * n + z * h[idx];
    }
}

// From dh_new [B, H]: dxp, dhp [B, 3H] += and dh [B, H] += (the direct path h -> h'; the path
// through hp = h W_h is the caller's GEMM backward on dhp).
extern "C" __global__ void gru_cell_bwd(float* dxp, float* dhp, float* dh, const float* dh_new, const float* gates,
                                        const float* hp, const float* h, int B, int H) {
    GRID_STRIDE(idx, B * H) {
        const int b = idx / H, j = idx % H;
        const long long g3 = (long long)b * 3 * H;
        const float r = gates[g3 + j], z = gates[g3 + H + j], n = gates[g3 + 2 * H + j];
        const float d = dh_new[idx];
        dh[idx] += d * z;
        const float dn = d * (1.0f - z) * (1.0f - n * n);  // through tanh
        const float dz = d * (h[idx] - n) * z * (1.0f - z);
        const float dr = dn * hp[g3 + 2 * H + j] * r * (1.0f - r);
        dxp[g3 + j] += dr;
        dxp[g3 + H + j] += dz;
        dxp[g3 + 2 * H + j] += dn;
        dhp[g3 + j] += dr;
        dhp[g3 + H + j] += dz;
        dhp[g3 + 2 * H + j] += dn * r;
    }
}
