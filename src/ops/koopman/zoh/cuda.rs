//! ZOH discretisation on the device: the kernel writes the op's [2, 2m] value (λ̄, then the gain)
//! in place, and its backward reads the stacked gradient the same way.
use super::ZohKernel;
use crate::backend::cuda::launch::koopman::{zoh_bwd, zoh_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
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
