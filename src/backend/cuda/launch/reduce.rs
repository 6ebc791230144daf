//! The column sums of `kernels/reduce.cu`, shared by several ops: deterministic partial sums over
//! row chunks, then a fixed-order sum of the partials. Used for bias gradients (matmul), the
//! broadcast operand of add/mul backward (binary), sum and mean (reduce) and the batch reductions
//! of the Koopman backward. The reduce op's own row sums live in `src/ops/reduce/cuda.rs`.

use super::{grid_1d, int, need, opt, row_chunks};
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
    let mut partial = dev.scratch_zeroed::<f32>(parts * cols)?;
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
        k::sum_cols_partial(dev, cfg, &mut *partial, x, opt(w), ri, ci, rpp)?;
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
