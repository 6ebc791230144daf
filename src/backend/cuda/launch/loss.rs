//! Launchers for `loss.cu`: mean squared error `loss = sum (pred - target)^2 / n`. The forward is
//! two deterministic passes (block partial sums, then one block sums them in fixed order); the
//! backward reads the upstream gradient from the device, so a training step needs no host sync.

use super::{grid_1d, int, need, one_block, BLOCK_1D};
use crate::backend::cuda::{CudaDevice, CudaError, Result};
use crate::kernels::loss as k;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Upper bound on the blocks of the first pass (each grid-strides over its share).
const MAX_PARTS: usize = 1024;

/// `loss[0] = mean((pred - target)^2)` over `n > 0` elements (written, not accumulated).
pub fn mse_fwd(
    dev: &CudaDevice,
    loss: &mut CudaSlice<f32>,
    pred: &CudaSlice<f32>,
    target: &CudaSlice<f32>,
    n: usize,
) -> Result<()> {
    need(loss, 1, "mse loss")?;
    need(pred, n, "mse pred")?;
    need(target, n, "mse target")?;
    if n == 0 {
        return Err(CudaError("mse of zero elements".into()));
    }
    let ni = int(n, "n")?;
    let parts = n.div_ceil(BLOCK_1D as usize).clamp(1, MAX_PARTS);
    let pi = int(parts, "parts")?;
    let mut partial = dev.zeros(parts)?;
    let f = dev.func(k::MSE_FWD_PARTIAL)?;
    let mut b = dev.stream().launch_builder(&f);
    // (float* partial, const float* pred, const float* target, int n)
    b.arg(&mut partial).arg(pred).arg(target).arg(&ni);
    let cfg = LaunchConfig {
        grid_dim: (parts as u32, 1, 1),
        block_dim: (BLOCK_1D, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: sizes checked above; one partial per block, blocks a multiple of 32 threads.
    unsafe { b.launch(cfg) }?;
    let f = dev.func(k::MSE_FWD_FINAL)?;
    let mut b = dev.stream().launch_builder(&f);
    // (float* loss, const float* partial, int parts, int n)
    b.arg(loss).arg(&partial).arg(&pi).arg(&ni);
    // SAFETY: sizes checked above; one block, as the fixed-order final sum requires.
    unsafe { b.launch(one_block(BLOCK_1D)) }?;
    Ok(())
}

/// `dpred += dloss[0] * 2 (pred - target) / n`; `dtarget` (None: the target gets no gradient)
/// `-=` the same. `dloss` is the upstream gradient of the loss, a 1-element device buffer.
pub fn mse_bwd(
    dev: &CudaDevice,
    dpred: &mut CudaSlice<f32>,
    dtarget: Option<&mut CudaSlice<f32>>,
    pred: &CudaSlice<f32>,
    target: &CudaSlice<f32>,
    dloss: &CudaSlice<f32>,
    n: usize,
) -> Result<()> {
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
    let f = dev.func(k::MSE_BWD)?;
    let mut b = dev.stream().launch_builder(&f);
    // (float* dpred, float* dtarget (nullable), const float* pred, const float* target,
    //  const float* dloss, int n)
    b.arg(dpred);
    match dtarget {
        Some(d) => b.arg(d),
        None => b.arg(&super::NULL_PTR),
    };
    b.arg(pred).arg(target).arg(dloss).arg(&ni);
    // SAFETY: sizes checked above; argument types match the kernel signature.
    unsafe { b.launch(grid_1d(n)) }?;
    Ok(())
}
