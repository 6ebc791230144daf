//! Softmax on the device (`reduce.cu`: one warp per row).
use super::SoftmaxKernel;
use crate::backend::cuda::launch::softmax::{softmax_bwd, softmax_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

impl SoftmaxKernel for Cuda {
    fn softmax_fwd(
        &self,
        x: &DevBuf,
        y: &mut DevBuf,
        rows: usize,
        cols: usize,
        causal: bool,
    ) -> Result<()> {
        Ok(softmax_fwd(self.dev(), y, x, rows, cols, causal)?)
    }
    fn softmax_bwd(
        &self,
        y: &DevBuf,
        g: &DevBuf,
        dx: &mut DevBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        Ok(softmax_bwd(self.dev(), dx, y, g, rows, cols)?)
    }
}
