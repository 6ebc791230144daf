//! The scan on the device (`koopman.cu`): one thread per (sequence, mode), sequential over time.
use super::{ScanGrads, ScanKernel};
use crate::backend::cuda::launch::koopman::{scan_bwd, scan_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

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
