//! Activations on the device (`elementwise.cu`).
use super::{Unary, UnaryKernel};
use crate::backend::cuda::launch::elementwise::{unary_bwd, unary_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::backend::Backend;
use crate::Result;

impl UnaryKernel for Cuda {
    fn unary_fwd(&self, kind: Unary, x: &DevBuf, y: &mut DevBuf, n: usize) -> Result<()> {
        Ok(unary_fwd(self.dev(), kind, y, x, n)?)
    }
    fn unary_bwd(
        &self,
        kind: Unary,
        xy: &DevBuf,
        dy: &DevBuf,
        dx: &mut DevBuf,
        n: usize,
        acc: bool,
    ) -> Result<()> {
        if !acc {
            self.fill_zero(dx, n)?;
        }
        // The launcher reads x or y by `kind`; both are the value the rule chose.
        Ok(unary_bwd(self.dev(), kind, dx, xy, xy, dy, n)?)
    }
}
