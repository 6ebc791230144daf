//! The optimiser kernels on the device (`kernels/optim.cu`), and their launchers: the AdamW step,
//! the global gradient norm with its clip factor, and scaling by a device scalar. Clipping stays
//! on the device: [`grad_norm`] leaves the factor in a 1-element buffer and [`scale_by_dev`]
//! applies it, so the optimiser step needs no host sync.
use super::kernel::OptimKernel;
use super::AdamConfig;
use crate::backend::cuda::kernels::optim as k;
use crate::backend::cuda::launch::{grid_1d, int, need, one_block, BLOCK_1D};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, CudaError, DevBuf};
use crate::Result;
use cudarc::driver::LaunchConfig;

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

/// Upper bound on the partial-sum blocks per gradient tensor in [`grad_norm`].
const MAX_PARTS_PER_TENSOR: usize = 1024;

/// One AdamW update of `n` parameters (`p`, moments `m`, `v`, gradient `g`), the CPU rule of
/// [`crate::optim::Adam`]: decoupled weight decay `cfg.weight_decay` (0: plain Adam) and bias
/// correction for step `step` (1-based, the value after incrementing). Clipping is applied to `g`
/// beforehand (see [`scale_by_dev`]). The kernel forms `1 - beta` in f32 from the f32 `beta` where
/// the CPU rounds the f64 difference: for `beta2 = 0.999` the second-moment increment differs by
/// 1.3e-5 relative, well inside the parity tolerance.
#[allow(clippy::too_many_arguments)]
pub fn adamw_step(
    dev: &CudaDevice,
    p: &mut DevBuf,
    m: &mut DevBuf,
    v: &mut DevBuf,
    g: &DevBuf,
    n: usize,
    cfg: &AdamConfig,
    lr: f64,
    step: u64,
) -> cu::Result<()> {
    need(p, n, "adamw p")?;
    need(m, n, "adamw m")?;
    need(v, n, "adamw v")?;
    need(g, n, "adamw g")?;
    if step == 0 {
        return Err(CudaError("adamw: step counts from 1".into()));
    }
    let t = i32::try_from(step).map_err(|_| CudaError(format!("adamw: step {step} too large")))?;
    if n == 0 {
        return Ok(());
    }
    let ni = int(n, "n")?;
    // Bias corrections in f64 on the host, once per step, as the CPU optimiser computes them.
    let bc1 = (1.0 - cfg.beta1.powi(t)) as f32;
    let bc2 = (1.0 - cfg.beta2.powi(t)) as f32;
    let (lr, b1, b2, eps, wd) = (
        lr as f32,
        cfg.beta1 as f32,
        cfg.beta2 as f32,
        cfg.eps as f32,
        cfg.weight_decay as f32,
    );
    let cfg = grid_1d(n);
    k::adamw_step(dev, cfg, p, m, v, g, ni, lr, b1, b2, eps, wd, bc1, bc2)
}

/// The global L2 norm over every gradient tensor (`(buffer, element count)` pairs) into `norm[0]`,
/// and the clip factor into `clip[0]`: `min(1, max_norm / (norm + 1e-6))`, or 1 when
/// `max_norm <= 0` (clipping off), as [`crate::optim::clip_global_norm`] computes it.
/// Deterministic: per-tensor block partials into one buffer, then a fixed-order single-block sum.
pub fn grad_norm(
    dev: &CudaDevice,
    norm: &mut DevBuf,
    clip: &mut DevBuf,
    grads: &[(&DevBuf, usize)],
    max_norm: f32,
) -> cu::Result<()> {
    need(norm, 1, "grad_norm norm")?;
    need(clip, 1, "grad_norm clip")?;
    let mut blocks = Vec::with_capacity(grads.len());
    for (i, &(g, n)) in grads.iter().enumerate() {
        need(g, n, &format!("grad_norm gradient {i}"))?;
        int(n, "gradient length")?;
        blocks.push(n.div_ceil(BLOCK_1D as usize).min(MAX_PARTS_PER_TENSOR));
    }
    let parts: usize = blocks.iter().sum();
    let pi = int(parts, "grad_norm parts")?;
    // Tensors with no elements contribute no blocks; the buffer is never empty.
    let mut partial = dev.scratch_zeroed::<f32>(parts.max(1))?;
    let mut off = 0;
    for (&(g, n), &nb) in grads.iter().zip(&blocks) {
        if nb == 0 {
            continue;
        }
        let ni = int(n, "gradient length")?;
        // `slot` holds exactly one float per block.
        let mut slot = partial.slice_mut(off..off + nb);
        let cfg = LaunchConfig {
            grid_dim: (nb as u32, 1, 1),
            block_dim: (BLOCK_1D, 1, 1),
            shared_mem_bytes: 0,
        };
        k::grad_sqnorm_partial(dev, cfg, &mut slot, g, ni)?;
        off += nb;
    }
    // One block, as the fixed-order final sum requires.
    let cfg = one_block(BLOCK_1D);
    k::grad_norm_final(dev, cfg, norm, clip, &*partial, pi, max_norm)
}

/// `x *= s[0]` over `n` elements, the factor read on the device (e.g. [`grad_norm`]'s clip).
pub fn scale_by_dev(dev: &CudaDevice, x: &mut DevBuf, s: &DevBuf, n: usize) -> cu::Result<()> {
    need(x, n, "scale_by_dev x")?;
    need(s, 1, "scale_by_dev s")?;
    if n == 0 {
        return Ok(());
    }
    k::scale_by_dev(dev, grid_1d(n), x, s, int(n, "n")?)
}
