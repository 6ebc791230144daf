//! Sum and mean on the device: a deterministic column sum (`reduce.cu`).
use super::ReduceKernel;
use crate::backend::cuda::launch::elementwise::scale_fwd;
use crate::backend::cuda::launch::optim::scale_inplace;
use crate::backend::cuda::launch::reduce::{sum_cols, sum_cols_bwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

impl ReduceKernel for Cuda {
    fn sum_fwd(&self, x: &DevBuf, y: &mut DevBuf, n: usize, mean: bool) -> Result<()> {
        sum_cols(self.dev(), y, x, None, n, 1, false)?;
        if mean {
            scale_inplace(self.dev(), y, 1.0 / n.max(1) as f32, 1)?;
        }
        Ok(())
    }
    fn sum_bwd(
        &self,
        g: &DevBuf,
        k: f32,
        dx: &mut DevBuf,
        n: usize,
        scratch: &mut DevBuf,
    ) -> Result<()> {
        scale_fwd(self.dev(), scratch, g, k, 1)?;
        Ok(sum_cols_bwd(self.dev(), dx, scratch, n, 1)?)
    }
}
