//! Sum and mean on the device: a deterministic column sum (the backend's shared
//! [`sum_cols`], `kernels/reduce.cu`), and the launchers of the row sums and the column sum's
//! backward.
use super::ReduceKernel;
use crate::backend::cuda::kernels::reduce as k;
use crate::backend::cuda::launch::elementwise::scale_inplace;
use crate::backend::cuda::launch::reduce::sum_cols;
use crate::backend::cuda::launch::{grid_1d, int, need, warp_rows};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::ops::binary::cuda::scale_fwd;
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

/// `y[r] = sum_c x[r, c]` over a row-major `[rows, cols]` matrix (one warp per row; written, not
/// accumulated).
pub fn sum_rows_fwd(
    dev: &CudaDevice,
    y: &mut DevBuf,
    x: &DevBuf,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    need(y, rows, "sum_rows y")?;
    need(x, rows * cols, "sum_rows x")?;
    if rows == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    k::sum_rows_fwd(dev, warp_rows(rows), y, x, ri, ci)
}

/// Backward of [`sum_rows_fwd`]: `dx[r, c] += dy[r]`.
pub fn sum_rows_bwd(
    dev: &CudaDevice,
    dx: &mut DevBuf,
    dy: &DevBuf,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    need(dx, rows * cols, "sum_rows_bwd dx")?;
    need(dy, rows, "sum_rows_bwd dy")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    int(rows * cols, "rows * cols")?;
    k::sum_rows_bwd(dev, grid_1d(rows * cols), dx, dy, ri, ci)
}

/// Backward of a column sum (and of a bias add): `dx[r, c] += dy[c]`.
pub fn sum_cols_bwd(
    dev: &CudaDevice,
    dx: &mut DevBuf,
    dy: &DevBuf,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    need(dx, rows * cols, "sum_cols_bwd dx")?;
    need(dy, cols, "sum_cols_bwd dy")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    int(rows * cols, "rows * cols")?;
    k::sum_cols_bwd(dev, grid_1d(rows * cols), dx, dy, ri, ci)
}
