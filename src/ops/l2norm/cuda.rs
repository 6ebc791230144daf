//! Row-wise L2 normalisation on the device (`kernels/l2norm.cu`: one warp per row), and its
//! launchers.
use super::L2NormKernel;
use crate::backend::cuda::kernels::l2norm as k;
use crate::backend::cuda::launch::{int, need, warp_rows};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::Result;

impl L2NormKernel for Cuda {
    fn l2norm_fwd(
        &self,
        x: &DevBuf,
        y: &mut DevBuf,
        norm: &mut DevBuf,
        eps: f32,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        Ok(l2norm_fwd(self.dev(), y, norm, x, eps, rows, cols)?)
    }
    fn l2norm_bwd(
        &self,
        y: &DevBuf,
        norm: &DevBuf,
        g: &DevBuf,
        dx: &mut DevBuf,
        eps: f32,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        Ok(l2norm_bwd(self.dev(), dx, y, norm, g, eps, rows, cols)?)
    }
}

/// `y = x / max(‖x‖, eps)` per row of `[rows, cols]`; `norm [rows]` = ‖x‖.
pub fn l2norm_fwd(
    dev: &CudaDevice,
    y: &mut DevBuf,
    norm: &mut DevBuf,
    x: &DevBuf,
    eps: f32,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    need(y, rows * cols, "l2norm y")?;
    need(norm, rows, "l2norm norm")?;
    need(x, rows * cols, "l2norm x")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    k::l2norm_fwd(dev, warp_rows(rows), y, norm, x, eps, ri, ci)
}

/// `dx += (g − y⟨g, y⟩) / ‖x‖` per row (`g / eps` for a row with ‖x‖ ≤ eps).
#[allow(clippy::too_many_arguments)]
pub fn l2norm_bwd(
    dev: &CudaDevice,
    dx: &mut DevBuf,
    y: &DevBuf,
    norm: &DevBuf,
    g: &DevBuf,
    eps: f32,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    need(dx, rows * cols, "l2norm dx")?;
    need(y, rows * cols, "l2norm y")?;
    need(norm, rows, "l2norm norm")?;
    need(g, rows * cols, "l2norm g")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    k::l2norm_bwd(dev, warp_rows(rows), dx, y, norm, g, eps, ri, ci)
}
