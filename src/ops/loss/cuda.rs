//! Mean squared error on the device (`loss.cu`: block partials, then a fixed-order final sum).
use super::LossKernel;
use crate::backend::cuda::launch::loss::{mse_bwd, mse_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::backend::Backend;
use crate::ops::GradOut;
use crate::Result;

impl LossKernel for Cuda {
    fn mse_fwd(&self, a: &DevBuf, b: &DevBuf, y: &mut DevBuf, n: usize) -> Result<()> {
        Ok(mse_fwd(self.dev(), y, a, b, n)?)
    }
    fn mse_bwd(
        &self,
        a: &DevBuf,
        b: &DevBuf,
        g: &DevBuf,
        da: GradOut<'_, Self>,
        db: GradOut<'_, Self>,
        n: usize,
    ) -> Result<()> {
        // The kernel accumulates: a gradient to overwrite is cleared first.
        let (da, db) = (clear(self, da, n)?, clear(self, db, n)?);
        match (da, db) {
            (Some(da), db) => Ok(mse_bwd(self.dev(), da, db, a, b, g, n)?),
            // (b − a)² is the same loss: b takes the role of the prediction.
            (None, Some(db)) => Ok(mse_bwd(self.dev(), db, None, b, a, g, n)?),
            (None, None) => Ok(()),
        }
    }
}

fn clear<'a>(c: &Cuda, d: GradOut<'a, Cuda>, n: usize) -> Result<Option<&'a mut DevBuf>> {
    let Some((d, acc)) = d else { return Ok(None) };
    if !acc {
        c.fill_zero(d, n)?;
    }
    Ok(Some(d))
}
