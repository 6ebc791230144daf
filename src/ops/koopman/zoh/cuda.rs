//! ZOH discretisation on the device (`kernels/koopman/zoh.cu`), and its launchers: the kernel
//! writes the op's [2, 2m] value (λ̄, then the gain) in place, and its backward reads the stacked
//! gradient the same way. Δt is shared (`log_dt` of 1 value) or per mode (m values), as on the
//! CPU ([`super::cpu`]).
use super::ZohKernel;
use crate::backend::cuda::kernels::koopman::zoh as k;
use crate::backend::cuda::launch::{grid_1d, int, need, one_block, opt_mut};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, CudaError, DevBuf};
use crate::ops::koopman::EigenGrads;
use crate::Result;

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
        Ok(zoh_fwd(self.dev(), out, mu, omega, log_dt, m, nd)?)
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
        let dev = self.dev();
        Ok(zoh_bwd(
            dev, d.dmu, d.domega, d.dlog_dt, g, mu, omega, log_dt, m, nd,
        )?)
    }
}

/// Threads of the one block of the backward's deterministic reduction over modes.
const REDUCE_BLOCK: u32 = 256;

/// Checks the Δt count of `m` modes: 1 (shared) or `m` (per mode); returns it as the kernels'
/// `int`.
pub(crate) fn dt_count(what: &str, m: usize, nd: usize) -> cu::Result<i32> {
    if nd != 1 && nd != m {
        return Err(CudaError(format!(
            "{what}: log_dt has {nd} values, needs 1 (shared) or m = {m} (per mode)"
        )));
    }
    int(nd, "nd")
}

/// `zg = [lbar ; gain]` (`[2, 2m]`, the op's stacked value): `lbar = exp(lambda dt)`,
/// `gain = (lbar - 1) / lambda`, `lambda = mu + i omega`, `dt = exp(log_dt)` with `log_dt` of
/// `nd` values (1: shared; m: mode i uses `log_dt[i]`). The kernel writes the two rows through
/// views of the one buffer.
pub fn zoh_fwd(
    dev: &CudaDevice,
    zg: &mut DevBuf,
    mu: &DevBuf,
    omega: &DevBuf,
    log_dt: &DevBuf,
    m: usize,
    nd: usize,
) -> cu::Result<()> {
    let ndi = dt_count("zoh", m, nd)?;
    need(zg, 4 * m, "zoh lbar and gain")?;
    need(mu, m, "zoh mu")?;
    need(omega, m, "zoh omega")?;
    need(log_dt, nd, "zoh log_dt")?;
    if m == 0 {
        return Ok(());
    }
    let mi = int(m, "m")?;
    let (mut lbar, mut gain) = zg.split_at_mut(2 * m);
    k::zoh_fwd(
        dev,
        grid_1d(m),
        &mut lbar,
        &mut gain,
        mu,
        omega,
        log_dt,
        mi,
        ndi,
    )
}

/// From `g = [g_lbar ; g_gain]` `[2, 2m]`: `dmu`, `domega` `[m]` += (None: frozen parameter),
/// `dlog_dt` `[nd]` += (per mode: each mode its own entry; shared: the deterministic sum over
/// modes).
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
    nd: usize,
) -> cu::Result<()> {
    let ndi = dt_count("zoh_bwd", m, nd)?;
    if let Some(d) = dmu.as_deref() {
        need(d, m, "zoh_bwd dmu")?;
    }
    if let Some(d) = domega.as_deref() {
        need(d, m, "zoh_bwd domega")?;
    }
    need(dlog_dt, nd, "zoh_bwd dlog_dt")?;
    need(g, 4 * m, "zoh_bwd g_lbar and g_gain")?;
    need(mu, m, "zoh_bwd mu")?;
    need(omega, m, "zoh_bwd omega")?;
    need(log_dt, nd, "zoh_bwd log_dt")?;
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
        ndi,
    )
}
