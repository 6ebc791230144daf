//! The Vandermonde matrix on the device (one thread per entry, closed form), and its backward
//! (per-mode sums over the powers; the Δt gradient by a fixed-order reduction).
use super::VandermondeKernel;
use crate::backend::cuda::launch::koopman::{vandermonde_bwd, vandermonde_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::ops::koopman::zoh::cuda::shared_dt;
use crate::ops::koopman::EigenGrads;
use crate::Result;

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
        shared_dt("vandermonde", nd)?;
        Ok(vandermonde_fwd(self.dev(), v, mu, omega, log_dt, m, k_len)?)
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
        shared_dt("vandermonde", nd)?;
        let dev = self.dev();
        let (dmu, domega) = (d.dmu, d.domega);
        Ok(vandermonde_bwd(
            dev, dmu, domega, d.dlog_dt, g, mu, omega, log_dt, m, k_len,
        )?)
    }
}
