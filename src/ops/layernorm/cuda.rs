//! Layer normalisation on the device (`reduce.cu`: a warp per row; γ/β gradients by block
//! partials and a fixed-order final sum).
use super::{LayerNormGrads, LayerNormKernel};
use crate::backend::cuda::launch::layernorm::{layernorm_bwd, layernorm_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

impl LayerNormKernel for Cuda {
    fn layernorm_fwd(
        &self,
        x: &DevBuf,
        gamma: &DevBuf,
        beta: &DevBuf,
        y: &mut DevBuf,
        mean: &mut DevBuf,
        rstd: &mut DevBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        Ok(layernorm_fwd(
            self.dev(),
            y,
            mean,
            rstd,
            x,
            gamma,
            beta,
            rows,
            cols,
        )?)
    }
    fn layernorm_bwd(&self, io: LayerNormGrads<'_, Self>, rows: usize, cols: usize) -> Result<()> {
        Ok(layernorm_bwd(
            self.dev(),
            io.dx,
            io.dgamma_dbeta,
            io.g,
            io.x,
            io.gamma,
            io.mean,
            io.rstd,
            rows,
            cols,
        )?)
    }
}
