//! The complex gain product on the device (`koopman.cu`); the gain's gradient is a deterministic
//! two-pass column sum.
use super::CmulKernel;
use crate::backend::cuda::launch::koopman::{cmul_gain_bwd, cmul_gain_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::ops::GradOut;
use crate::Result;

impl CmulKernel for Cuda {
    fn cmul_fwd(
        &self,
        a: &DevBuf,
        b: &DevBuf,
        y: &mut DevBuf,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        Ok(cmul_gain_fwd(self.dev(), y, a, b, rows, m)?)
    }
    fn cmul_bwd(
        &self,
        a: &DevBuf,
        b: &DevBuf,
        g: &DevBuf,
        da: GradOut<'_, Self>,
        db: Option<&mut DevBuf>,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        // The launcher writes both gradients.
        let (mut ta, mut tb) = (None, None);
        let da = self.grad_out(da, rows * 2 * m, &mut ta)?;
        let db = self.grad_out(db.map(|d| (d, true)), 2 * m, &mut tb)?;
        Ok(cmul_gain_bwd(self.dev(), da, db, g, a, b, rows, m)?)
    }
}
