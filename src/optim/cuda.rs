//! The optimiser kernels on the device (`optim.cu`): the clip factor never leaves the device.
use super::kernel::OptimKernel;
use super::AdamConfig;
use crate::backend::cuda::launch::optim::{adamw_step, grad_norm, scale_by_dev};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

impl OptimKernel for Cuda {
    fn grad_norm(
        &self,
        grads: &[(&DevBuf, usize)],
        max_norm: f64,
        norm: &mut DevBuf,
        clip: &mut DevBuf,
    ) -> Result<()> {
        Ok(grad_norm(self.dev(), norm, clip, grads, max_norm as f32)?)
    }
    fn adamw(
        &self,
        p: &mut DevBuf,
        m: &mut DevBuf,
        v: &mut DevBuf,
        g: &mut DevBuf,
        clip: &DevBuf,
        n: usize,
        cfg: &AdamConfig,
        lr: f64,
        step: u64,
    ) -> Result<()> {
        scale_by_dev(self.dev(), g, clip, n)?;
        Ok(adamw_step(self.dev(), p, m, v, g, n, cfg, lr, step)?)
    }
}
