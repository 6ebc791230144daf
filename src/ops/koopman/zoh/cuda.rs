//! ZOH discretisation on the device: the kernel writes the op's [2, 2m] value (λ̄, then the gain)
//! in place, and its backward reads the stacked gradient the same way.
use super::ZohKernel;
use crate::backend::cuda::kernels::koopman::zoh as k;
use crate::backend::cuda::launch::{grid_1d, int, need, one_block, opt_mut};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::ops::koopman::EigenGrads;
use crate::{Error, Result};

/// The CUDA kernels of `zoh` and `vandermonde` take one shared Δt.
pub(crate) fn shared_dt(op: &str, nd: usize) -> Result<()> {
    if nd != 1 {
        return Err(Error::Device(format!(
            "{op}: a per-mode Δt runs on the CPU only (the CUDA kernel takes one shared Δt)"
        )));
    }
    Ok(())
}

impl ZohKernel for Cuda {
    fn zoh_fwd(
        &self,
        mu: &DevBuf,
        omega: &DevBuf,
        log_dt: &DevBuf,
        out: &mut DevBuf,
        m: usize,
        nd: usize,
    ) -> Result<()> {
        shared_dt("zoh", nd)?;
        Ok(zoh_fwd(self.dev(), out, mu, omega, log_dt, m)?)
    }
    fn zoh_bwd(
        &self,
        mu: &DevBuf,
        omega: &DevBuf,
        log_dt: &DevBuf,
        g: &DevBuf,
        d: EigenGrads<'_, Self>,
        m: usize,
        nd: usize,
    ) -> Result<()> {
        shared_dt("zoh", nd)?;
        let dev = self.dev();
        Ok(zoh_bwd(
            dev, d.dmu, d.domega, d.dlog_dt, g, mu, omega, log_dt, m,
        )?)
    }
}

/// Threads of the one block of the backward's deterministic reduction over modes.
const REDUCE_BLOCK: u32 = 256;

#[allow(clippy::too_many_arguments)]
/// `zg = [lbar ; gain]` (`[2, 2m]`, the op's stacked value): `lbar = exp(lambda dt)`,
/// `gain = (lbar - 1) / lambda`, `lambda = mu + i omega`, `dt = exp(log_dt)`. The kernel writes the
/// two rows through views of the one buffer.
pub fn zoh_fwd(
    dev: &CudaDevice,
    zg: &mut DevBuf,
    mu: &DevBuf,
    omega: &DevBuf,
    log_dt: &DevBuf,
    m: usize,
) -> cu::Result<()> {
    need(zg, 4 * m, "zoh lbar and gain")?;
    need(mu, m, "zoh mu")?;
    need(omega, m, "zoh omega")?;
    need(log_dt, 1, "zoh log_dt")?;
    if m == 0 {
        return Ok(());
    }
    let mi = int(m, "m")?;
    let (mut lbar, mut gain) = zg.split_at_mut(2 * m);
    k::zoh_fwd(dev, grid_1d(m), &mut lbar, &mut gain, mu, omega, log_dt, mi)
}

/// From `g = [g_lbar ; g_gain]` `[2, 2m]`: `dmu`, `domega` `[m]` += (None: frozen parameter),
/// `dlog_dt` += .
#[allow(clippy::too_many_arguments)]
pub fn zoh_bwd(
    dev: &CudaDevice,
    dmu: Option<&mut DevBuf>,
    domega: Option<&mut DevBuf>,
    dlog_dt: &mut DevBuf,
    g: &DevBuf,
    mu: &DevBuf,
    omega: &DevBuf,
    log_dt: &DevBuf,
    m: usize,
) -> cu::Result<()> {
    if let Some(d) = dmu.as_deref() {
        need(d, m, "zoh_bwd dmu")?;
    }
    if let Some(d) = domega.as_deref() {
        need(d, m, "zoh_bwd domega")?;
    }
    need(dlog_dt, 1, "zoh_bwd dlog_dt")?;
    need(g, 4 * m, "zoh_bwd g_lbar and g_gain")?;
    need(mu, m, "zoh_bwd mu")?;
    need(omega, m, "zoh_bwd omega")?;
    need(log_dt, 1, "zoh_bwd log_dt")?;
    if m == 0 {
        return Ok(());
    }
    let mi = int(m, "m")?;
    let (g_lbar, g_gain) = g.split_at(2 * m);
    // One block, as the kernel's deterministic reduction requires.
    k::zoh_bwd(
        dev,
        one_block(REDUCE_BLOCK),
        opt_mut(dmu),
        opt_mut(domega),
        dlog_dt,
        &g_lbar,
        &g_gain,
        mu,
        omega,
        log_dt,
        mi,
    )
}
