//! Softmax on the device (`kernels/softmax.cu`), and its launchers: softmax over the last dim of
//! a row-major `[rows, cols]` matrix, plain or causal, one warp per row.
use super::SoftmaxKernel;
use crate::backend::cuda::kernels::softmax as k;
use crate::backend::cuda::launch::{int, need, warp_rows};
use crate::backend::cuda::CudaError;
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
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

/// `y = softmax(x)` row-wise. `causal`: rows are `[.., T, T]` (`cols == T`, `rows` a multiple of
/// `T`); row `r` is time `r % T` and sees columns `0..=r % T` only (the rest of `y` is 0).
pub fn softmax_fwd(
    dev: &CudaDevice,
    y: &mut DevBuf,
    x: &DevBuf,
    rows: usize,
    cols: usize,
    causal: bool,
) -> cu::Result<()> {
    need(y, rows * cols, "softmax y")?;
    need(x, rows * cols, "softmax x")?;
    if causal && cols > 0 && !rows.is_multiple_of(cols) {
        return Err(CudaError(format!(
            "causal softmax: {rows} rows are not whole [T, T] blocks of T = {cols}"
        )));
    }
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci, ca) = (int(rows, "rows")?, int(cols, "cols")?, causal as i32);
    k::softmax_fwd(dev, warp_rows(rows), y, x, ri, ci, ca)
}

/// `dx += y * (dy - sum(y * dy))` row-wise, from the forward output `y` (plain or causal alike:
/// masked entries have `y = 0`).
pub fn softmax_bwd(
    dev: &CudaDevice,
    dx: &mut DevBuf,
    y: &DevBuf,
    dy: &DevBuf,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    need(dx, rows * cols, "softmax_bwd dx")?;
    need(y, rows * cols, "softmax_bwd y")?;
    need(dy, rows * cols, "softmax_bwd dy")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    k::softmax_bwd(dev, warp_rows(rows), dx, y, dy, ri, ci)
}
