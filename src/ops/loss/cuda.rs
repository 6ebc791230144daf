//! Mean squared error on the device (`kernels/loss.cu`), and its launchers:
//! `loss = sum (pred - target)^2 / n`. The forward is two deterministic passes (block partial
//! sums, then one block sums them in fixed order); the backward reads the upstream gradient from
//! the device, so a training step needs no host sync.
use super::LossKernel;
use crate::backend::cuda::kernels::loss as k;
use crate::backend::cuda::launch::{grid_1d, int, need, one_block, opt_mut, BLOCK_1D};
use crate::backend::cuda::CudaError;
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::backend::Backend;
use crate::ops::GradOut;
use crate::Result;
use cudarc::driver::LaunchConfig;

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

/// Upper bound on the blocks of the first pass (each grid-strides over its share).
const MAX_PARTS: usize = 1024;

/// `loss[0] = mean((pred - target)^2)` over `n > 0` elements (written, not accumulated).
pub fn mse_fwd(
    dev: &CudaDevice,
    loss: &mut DevBuf,
    pred: &DevBuf,
    target: &DevBuf,
    n: usize,
) -> cu::Result<()> {
    need(loss, 1, "mse loss")?;
    need(pred, n, "mse pred")?;
    need(target, n, "mse target")?;
    if n == 0 {
        return Err(CudaError("mse of zero elements".into()));
    }
    let ni = int(n, "n")?;
    let parts = n.div_ceil(BLOCK_1D as usize).clamp(1, MAX_PARTS);
    let pi = int(parts, "parts")?;
    let mut partial = dev.scratch_zeroed::<f32>(parts)?;
    // One partial per block, blocks a multiple of 32 threads.
    let cfg = LaunchConfig {
        grid_dim: (parts as u32, 1, 1),
        block_dim: (BLOCK_1D, 1, 1),
        shared_mem_bytes: 0,
    };
    k::mse_fwd_partial(dev, cfg, &mut *partial, pred, target, ni)?;
    // One block, as the fixed-order final sum requires.
    k::mse_fwd_final(dev, one_block(BLOCK_1D), loss, &*partial, pi, ni)
}

/// `dpred += dloss[0] * 2 (pred - target) / n`; `dtarget` (None: the target gets no gradient)
/// `-=` the same. `dloss` is the upstream gradient of the loss, a 1-element device buffer.
pub fn mse_bwd(
    dev: &CudaDevice,
    dpred: &mut DevBuf,
    dtarget: Option<&mut DevBuf>,
    pred: &DevBuf,
    target: &DevBuf,
    dloss: &DevBuf,
    n: usize,
) -> cu::Result<()> {
    need(dpred, n, "mse_bwd dpred")?;
    if let Some(d) = dtarget.as_deref() {
        need(d, n, "mse_bwd dtarget")?;
    }
    need(pred, n, "mse_bwd pred")?;
    need(target, n, "mse_bwd target")?;
    need(dloss, 1, "mse_bwd dloss")?;
    if n == 0 {
        return Ok(());
    }
    let ni = int(n, "n")?;
    let dtarget = opt_mut(dtarget);
    k::mse_bwd(dev, grid_1d(n), dpred, dtarget, pred, target, dloss, ni)
}
