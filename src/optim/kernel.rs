//! The optimiser's device work, per backend: the global gradient norm with its clip factor, and the
//! AdamW step, both on the backend's buffers so a training step never copies gradients to the host.
use super::AdamConfig;
use crate::backend::Backend;
use crate::Result;

pub trait OptimKernel: Backend {
    /// The L2 norm over every gradient (`(buffer, length)`) into `norm[0]`, and into `clip[0]` the
    /// factor `min(1, max_norm / (norm + 1e-6))` (1 when `max_norm` ≤ 0).
    fn grad_norm(
        &self,
        grads: &[(&Self::Buf, usize)],
        max_norm: f64,
        norm: &mut Self::Buf,
        clip: &mut Self::Buf,
    ) -> Result<()>;
    /// One AdamW step (`step` from 1) of `n` parameters with the gradient scaled by `clip[0]`
    /// (the gradient buffer may be scaled in place).
    #[allow(clippy::too_many_arguments)]
    fn adamw(
        &self,
        p: &mut Self::Buf,
        m: &mut Self::Buf,
        v: &mut Self::Buf,
        g: &mut Self::Buf,
        clip: &Self::Buf,
        n: usize,
        cfg: &AdamConfig,
        lr: f64,
        step: u64,
    ) -> Result<()>;
}
