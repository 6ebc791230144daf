//! The causal convolution on the device (`koopman.cu`): tiled over time and modes; the V gradient
//! by per-block partials and a fixed-order sum.
use super::{CconvGrads, CconvKernel};
use crate::backend::cuda::launch::koopman::{cconv_bwd, cconv_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

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
