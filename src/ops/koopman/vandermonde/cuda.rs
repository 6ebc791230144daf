//! The Vandermonde matrix on the device (`kernels/koopman/vandermonde.cu`: one thread per entry,
//! closed form), its backward (per-mode sums over the powers; a shared Δt's gradient by a
//! fixed-order reduction over modes, a per-mode Δt's gradient per mode), and their launchers.
use super::VandermondeKernel;
use crate::backend::cuda::kernels::koopman::vandermonde as k;
use crate::backend::cuda::launch::{grid_1d, int, need, one_block, opt_mut};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::ops::koopman::zoh::cuda::dt_count;
use crate::ops::koopman::EigenGrads;
use crate::Result;
use cudarc::driver::LaunchConfig;

impl VandermondeKernel for Cuda {
    fn vandermonde_fwd(
        &self,
        mu: &DevBuf,
        omega: &DevBuf,
        log_dt: &DevBuf,
        v: &mut DevBuf,
        m: usize,
        k_len: usize,
        nd: usize,
    ) -> Result<()> {
        Ok(vandermonde_fwd(
            self.dev(),
            v,
            mu,
            omega,
            log_dt,
            m,
            k_len,
            nd,
        )?)
    }
    fn vandermonde_bwd(
        &self,
        mu: &DevBuf,
        omega: &DevBuf,
        log_dt: &DevBuf,
        _v: &DevBuf,
        g: &DevBuf,
        d: EigenGrads<'_, Self>,
        m: usize,
        k_len: usize,
        nd: usize,
    ) -> Result<()> {
        let dev = self.dev();
        let (dmu, domega) = (d.dmu, d.domega);
        Ok(vandermonde_bwd(
            dev, dmu, domega, d.dlog_dt, g, mu, omega, log_dt, m, k_len, nd,
        )?)
    }
}

/// Threads of the one block of the Δt reduction over modes.
const REDUCE_BLOCK: u32 = 256;

/// `V[i, k] = exp(lambda_i dt_i k)` for `k < K`, planar `[2][m][K]`; `log_dt` of `nd` values (1:
/// shared; m: mode i uses `log_dt[i]`).
#[allow(clippy::too_many_arguments)]
pub fn vandermonde_fwd(
    dev: &CudaDevice,
    v: &mut DevBuf,
    mu: &DevBuf,
    omega: &DevBuf,
    log_dt: &DevBuf,
    m: usize,
    kk: usize,
    nd: usize,
) -> cu::Result<()> {
    let ndi = dt_count("vandermonde", m, nd)?;
    need(v, 2 * m * kk, "vandermonde V")?;
    need(mu, m, "vandermonde mu")?;
    need(omega, m, "vandermonde omega")?;
    need(log_dt, nd, "vandermonde log_dt")?;
    if m * kk == 0 {
        return Ok(());
    }
    let (mi, ki) = (int(m, "m")?, int(kk, "K")?);
    int(2 * m * kk, "2 m K")?;
    k::vandermonde_fwd(dev, grid_1d(m * kk), v, mu, omega, log_dt, mi, ki, ndi)
}

/// From `g_v` `[2][m][K]`: `dmu`, `domega` += (None: frozen), `dlog_dt` `[nd]` += (per mode: each
/// mode its own entry, written by the mode's block; shared: two deterministic passes).
#[allow(clippy::too_many_arguments)]
pub fn vandermonde_bwd(
    dev: &CudaDevice,
    dmu: Option<&mut DevBuf>,
    domega: Option<&mut DevBuf>,
    dlog_dt: &mut DevBuf,
    g_v: &DevBuf,
    mu: &DevBuf,
    omega: &DevBuf,
    log_dt: &DevBuf,
    m: usize,
    kk: usize,
    nd: usize,
) -> cu::Result<()> {
    let ndi = dt_count("vandermonde_bwd", m, nd)?;
    if let Some(d) = dmu.as_deref() {
        need(d, m, "vandermonde_bwd dmu")?;
    }
    if let Some(d) = domega.as_deref() {
        need(d, m, "vandermonde_bwd domega")?;
    }
    need(dlog_dt, nd, "vandermonde_bwd dlog_dt")?;
    need(g_v, 2 * m * kk, "vandermonde_bwd g_v")?;
    need(mu, m, "vandermonde_bwd mu")?;
    need(omega, m, "vandermonde_bwd omega")?;
    need(log_dt, nd, "vandermonde_bwd log_dt")?;
    if m == 0 {
        return Ok(());
    }
    let (mi, ki) = (int(m, "m")?, int(kk, "K")?);
    int(2 * m * kk, "2 m K")?;
    // One block per mode, as the kernel expects.
    let cfg = LaunchConfig {
        grid_dim: (m as u32, 1, 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    let (dmu, domega) = (opt_mut(dmu), opt_mut(domega));
    if nd == m && nd > 1 {
        // Per-mode Δt: each mode's block accumulates into its own entry; nothing to reduce.
        return k::vandermonde_bwd(
            dev, cfg, dmu, domega, dlog_dt, g_v, mu, omega, log_dt, mi, ki, ndi,
        );
    }
    // Shared Δt: per-mode shares into zeroed scratch, then a fixed-order sum.
    let mut dt_partial = dev.scratch_zeroed::<f32>(m)?;
    k::vandermonde_bwd(
        dev,
        cfg,
        dmu,
        domega,
        &mut *dt_partial,
        g_v,
        mu,
        omega,
        log_dt,
        mi,
        ki,
        ndi,
    )?;
    k::dt_reduce(dev, one_block(REDUCE_BLOCK), dlog_dt, &*dt_partial, mi)
}
