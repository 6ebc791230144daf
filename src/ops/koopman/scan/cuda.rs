//! The scan on the device (`kernels/koopman/scan.cu`): one thread per (sequence, mode), sequential
//! over time. Its launchers follow the impl.
use super::{ScanGrads, ScanKernel};
use crate::backend::cuda::kernels::koopman::scan as k;
use crate::backend::cuda::launch::reduce::sum_cols_final;
use crate::backend::cuda::launch::{grid_y, int, need};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::Result;
use cudarc::driver::LaunchConfig;

impl ScanKernel for Cuda {
    fn scan_fwd(
        &self,
        z0: &DevBuf,
        c: &DevBuf,
        lbar: &DevBuf,
        x: &mut DevBuf,
        b: usize,
        t: usize,
        m: usize,
    ) -> Result<()> {
        Ok(scan_fwd(self.dev(), x, z0, c, lbar, b, t, m)?)
    }
    fn scan_bwd(&self, io: ScanGrads<'_, Self>, b: usize, t: usize, m: usize) -> Result<()> {
        // The launcher writes all three gradients.
        let (mut tz, mut tc, mut tl) = (None, None, None);
        let dz0 = self.grad_out(io.dz0.map(|d| (d, true)), b * 2 * m, &mut tz)?;
        let dc = self.grad_out(io.dc, b * t * 2 * m, &mut tc)?;
        let dl = self.grad_out(io.dlbar.map(|d| (d, true)), 2 * m, &mut tl)?;
        let dev = self.dev();
        Ok(scan_bwd(
            dev, dz0, dc, dl, io.g, io.x, io.z0, io.lbar, b, t, m,
        )?)
    }
}

/// Threads per block along modes for the scan (grid y = batch).
const SCAN_BLOCK: u32 = 128;

fn scan_cfg(b: usize, m: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((m as u32).div_ceil(SCAN_BLOCK), b as u32, 1),
        block_dim: (SCAN_BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

#[allow(clippy::too_many_arguments)]
/// Sequential scan: `x[:, k] = lbar * x[:, k-1] + c[:, k]`, starting from `z0`; `x` row k = xhat_{k+1}.
pub fn scan_fwd(
    dev: &CudaDevice,
    x: &mut DevBuf,
    z0: &DevBuf,
    c: &DevBuf,
    lbar: &DevBuf,
    b: usize,
    t: usize,
    m: usize,
) -> cu::Result<()> {
    need(x, b * t * 2 * m, "scan x")?;
    need(z0, b * 2 * m, "scan z0")?;
    need(c, b * t * 2 * m, "scan c")?;
    need(lbar, 2 * m, "scan lbar")?;
    grid_y(b, "batch")?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi) = (int(b, "B")?, int(t, "T")?, int(m, "m")?);
    k::scan_fwd(dev, scan_cfg(b, m), x, z0, c, lbar, bi, ti, mi)
}

#[allow(clippy::too_many_arguments)]
/// Scan backward from `gx` (upstream gradient of `x`): `dz0`, `dc`, `dlbar` += .
pub fn scan_bwd(
    dev: &CudaDevice,
    dz0: &mut DevBuf,
    dc: &mut DevBuf,
    dlbar: &mut DevBuf,
    gx: &DevBuf,
    x: &DevBuf,
    z0: &DevBuf,
    lbar: &DevBuf,
    b: usize,
    t: usize,
    m: usize,
) -> cu::Result<()> {
    need(dz0, b * 2 * m, "scan_bwd dz0")?;
    need(dc, b * t * 2 * m, "scan_bwd dc")?;
    need(dlbar, 2 * m, "scan_bwd dlbar")?;
    need(gx, b * t * 2 * m, "scan_bwd gx")?;
    need(x, b * t * 2 * m, "scan_bwd x")?;
    need(z0, b * 2 * m, "scan_bwd z0")?;
    need(lbar, 2 * m, "scan_bwd lbar")?;
    grid_y(b, "batch")?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi) = (int(b, "B")?, int(t, "T")?, int(m, "m")?);
    let mut partial = dev.scratch_zeroed::<f32>(b * 2 * m)?;
    let cfg = scan_cfg(b, m);
    k::scan_bwd(
        dev,
        cfg,
        dz0,
        dc,
        &mut *partial,
        gx,
        x,
        z0,
        lbar,
        bi,
        ti,
        mi,
    )?;
    sum_cols_final(dev, dlbar, &partial, b, 2 * m, true)
}
