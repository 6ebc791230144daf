//! Row and column sums of `kernels/reduce.cu`. Column sums are deterministic: partial sums over row chunks, then a
//! fixed-order sum of the partials. Used for bias gradients, the broadcast operand of add/mul
//! backward and the batch reductions of the Koopman backward.

use super::{grid_1d, int, need, opt, row_chunks, warp_rows};
use crate::backend::cuda::kernels::reduce as k;
use crate::backend::cuda::{CudaDevice, Result};
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Rows summed by one block of `sum_cols_partial`.
const ROWS_PER_PART: usize = 256;

/// `y[c] (+)= sum_r x[r, c] * w[r, c]` over a row-major `[rows, cols]` matrix (`w = None`: plain
/// sum). `accumulate` selects `+=` (gradients) or `=`.
pub fn sum_cols(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    w: Option<&CudaSlice<f32>>,
    rows: usize,
    cols: usize,
    accumulate: bool,
) -> Result<()> {
    need(y, cols, "sum_cols y")?;
    need(x, rows * cols, "sum_cols x")?;
    if let Some(w) = w {
        need(w, rows * cols, "sum_cols w")?;
    }
    if cols == 0 {
        return Ok(());
    }
    let (per, parts) = row_chunks(rows, ROWS_PER_PART);
    let mut partial = dev.zeros(parts * cols)?;
    let (ri, ci, rpp) = (
        int(rows, "rows")?,
        int(cols, "cols")?,
        int(per, "rows per part")?,
    );
    if rows > 0 {
        // Block (32, 8), as the kernel's CR_TX x CR_TY tile requires.
        let cfg = LaunchConfig {
            grid_dim: (cols.div_ceil(32) as u32, parts as u32, 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        k::sum_cols_partial(dev, cfg, &mut partial, x, opt(w), ri, ci, rpp)?;
    }
    sum_cols_final(dev, y, &partial, parts, cols, accumulate)
}

/// `y[c] (+)= sum_p partial[p, c]` in ascending p: the second pass of every two-pass column sum.
pub fn sum_cols_final(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    partial: &CudaSlice<f32>,
    parts: usize,
    cols: usize,
    accumulate: bool,
) -> Result<()> {
    need(y, cols, "sum_cols_final y")?;
    need(partial, parts * cols, "sum_cols_final partial")?;
    if cols == 0 {
        return Ok(());
    }
    let (pi, ci, acc) = (int(parts, "parts")?, int(cols, "cols")?, accumulate as i32);
    k::sum_cols_final(dev, grid_1d(cols), y, partial, pi, ci, acc)
}

/// `y[r] = sum_c x[r, c]` over a row-major `[rows, cols]` matrix (one warp per row; written, not
/// accumulated).
pub fn sum_rows_fwd(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    rows: usize,
    cols: usize,
) -> Result<()> {
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
    dx: &mut CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    rows: usize,
    cols: usize,
) -> Result<()> {
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
    dx: &mut CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    rows: usize,
    cols: usize,
) -> Result<()> {
    need(dx, rows * cols, "sum_cols_bwd dx")?;
    need(dy, cols, "sum_cols_bwd dy")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    int(rows * cols, "rows * cols")?;
    k::sum_cols_bwd(dev, grid_1d(rows * cols), dx, dy, ri, ci)
}
