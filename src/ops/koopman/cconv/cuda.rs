//! The causal convolution on the device (`kernels/koopman/cconv.cu`): tiled over time and modes;
//! the V gradient by per-block partials and a fixed-order sum. Its launchers follow the impl.
use super::{CconvGrads, CconvKernel};
use crate::backend::cuda::kernels::koopman::cconv as k;
use crate::backend::cuda::launch::reduce::sum_cols_final;
use crate::backend::cuda::launch::{grid_1d, grid_y, int, need};
use crate::backend::cuda::CudaError;
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::Result;
use cudarc::driver::LaunchConfig;

impl CconvKernel for Cuda {
    fn cconv_fwd(
        &self,
        z0: &DevBuf,
        c: &DevBuf,
        v: &DevBuf,
        x: &mut DevBuf,
        _scratch: &mut DevBuf,
        [b, t, m, k_len]: [usize; 4],
    ) -> Result<()> {
        Ok(cconv_fwd(self.dev(), x, z0, c, v, b, t, m, k_len)?)
    }
    fn cconv_bwd(
        &self,
        io: CconvGrads<'_, Self>,
        _scratch: &mut DevBuf,
        [b, t, m, k_len]: [usize; 4],
    ) -> Result<()> {
        // The launcher writes all three gradients.
        let (mut tz, mut tc, mut tv) = (None, None, None);
        let dz0 = self.grad_out(io.dz0.map(|d| (d, true)), b * 2 * m, &mut tz)?;
        let dc = self.grad_out(io.dc.map(|d| (d, true)), b * t * 2 * m, &mut tc)?;
        let dv = self.grad_out(io.dv.map(|d| (d, true)), 2 * m * k_len, &mut tv)?;
        let dev = self.dev();
        Ok(cconv_bwd(
            dev, dz0, dc, dv, io.g, io.z0, io.c, io.v, b, t, m, k_len,
        )?)
    }
}

/// Convolution tile, matching CC_TM x CC_TY threads and CC_TO outputs per block in cconv.cu.
const CC_TM: usize = 32;
const CC_TY: u32 = 8;
const CC_TO: usize = 32;
/// Upper bound on batch chunks for the dV partial sums (parallelism vs scratch size).
const DV_MAX_PARTS: usize = 16;

fn cconv_cfg(m: usize, outputs: usize, z: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (
            m.div_ceil(CC_TM) as u32,
            outputs.div_ceil(CC_TO) as u32,
            z as u32,
        ),
        block_dim: (CC_TM as u32, CC_TY, 1),
        shared_mem_bytes: 0,
    }
}

fn check_k(t: usize, kk: usize) -> cu::Result<()> {
    if kk < t + 1 {
        return Err(CudaError(format!(
            "Vandermonde has K = {kk} columns, needs T + 1 = {}",
            t + 1
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
/// Causal convolution with the free response fused:
/// `x[b, k] = V[:, k+1] z0[b] + sum_{l <= k} V[:, k-l] c[b, l]`.
pub fn cconv_fwd(
    dev: &CudaDevice,
    x: &mut DevBuf,
    z0: &DevBuf,
    c: &DevBuf,
    v: &DevBuf,
    b: usize,
    t: usize,
    m: usize,
    kk: usize,
) -> cu::Result<()> {
    check_k(t, kk)?;
    need(x, b * t * 2 * m, "cconv x")?;
    need(z0, b * 2 * m, "cconv z0")?;
    need(c, b * t * 2 * m, "cconv c")?;
    need(v, 2 * m * kk, "cconv V")?;
    grid_y(b, "batch")?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi, ki) = (int(b, "B")?, int(t, "T")?, int(m, "m")?, int(kk, "K")?);
    int(2 * m * kk, "2 m K")?;
    k::cconv_fwd(dev, cconv_cfg(m, t, b), x, z0, c, v, bi, ti, mi, ki)
}

#[allow(clippy::too_many_arguments)]
/// Convolution backward from `g` (upstream gradient of `x`): `dz0`, `dc`, `dv` += .
pub fn cconv_bwd(
    dev: &CudaDevice,
    dz0: &mut DevBuf,
    dc: &mut DevBuf,
    dv: &mut DevBuf,
    g: &DevBuf,
    z0: &DevBuf,
    c: &DevBuf,
    v: &DevBuf,
    b: usize,
    t: usize,
    m: usize,
    kk: usize,
) -> cu::Result<()> {
    check_k(t, kk)?;
    need(dz0, b * 2 * m, "cconv_bwd dz0")?;
    need(dc, b * t * 2 * m, "cconv_bwd dc")?;
    need(dv, 2 * m * kk, "cconv_bwd dV")?;
    need(g, b * t * 2 * m, "cconv_bwd g")?;
    need(z0, b * 2 * m, "cconv_bwd z0")?;
    need(c, b * t * 2 * m, "cconv_bwd c")?;
    need(v, 2 * m * kk, "cconv_bwd V")?;
    grid_y(b, "batch")?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi, ki) = (int(b, "B")?, int(t, "T")?, int(m, "m")?, int(kk, "K")?);
    int(b * m, "B m")?;

    k::cconv_bwd_dc(dev, cconv_cfg(m, t, b), dc, g, v, bi, ti, mi, ki)?;
    k::cconv_bwd_dz0(dev, grid_1d(b * m), dz0, g, v, bi, ti, mi, ki)?;

    let parts = b.min(DV_MAX_PARTS);
    let per_part = b.div_ceil(parts);
    let parts = b.div_ceil(per_part);
    let n_v = 2 * m * kk;
    int(parts * n_v, "dV partials")?;
    let mut partial = dev.scratch_zeroed::<f32>(parts * n_v)?;
    let bpp = int(per_part, "batch per part")?;
    let cfg = cconv_cfg(m, kk, parts);
    k::cconv_bwd_dv(dev, cfg, &mut *partial, g, c, z0, bi, ti, mi, ki, bpp)?;
    sum_cols_final(dev, dv, &partial, parts, n_v, true)
}
