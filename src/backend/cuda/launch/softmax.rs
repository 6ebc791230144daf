//! Launchers for `kernels/softmax.cu`: softmax over the last dim of a row-major
//! `[rows, cols]` matrix, plain or causal, one warp per row.

use super::{int, need, warp_rows};
use crate::backend::cuda::kernels::softmax as k;
use crate::backend::cuda::{CudaDevice, CudaError, Result};
use cudarc::driver::CudaSlice;

/// `y = softmax(x)` row-wise. `causal`: rows are `[.., T, T]` (`cols == T`, `rows` a multiple of
/// `T`); row `r` is time `r % T` and sees columns `0..=r % T` only (the rest of `y` is 0).
pub fn softmax_fwd(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    rows: usize,
    cols: usize,
    causal: bool,
) -> Result<()> {
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
    dx: &mut CudaSlice<f32>,
    y: &CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    rows: usize,
    cols: usize,
) -> Result<()> {
    need(dx, rows * cols, "softmax_bwd dx")?;
    need(y, rows * cols, "softmax_bwd y")?;
    need(dy, rows * cols, "softmax_bwd dy")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    k::softmax_bwd(dev, warp_rows(rows), dx, y, dy, ri, ci)
}
