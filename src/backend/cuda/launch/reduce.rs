//! Deterministic column sums (`reduce.cu`): partial sums over row chunks, then a fixed-order sum
//! of the partials. Used for bias gradients and for the batch reductions of the Koopman backward.

use super::{grid_1d, int, need, row_chunks};
use crate::backend::cuda::{CudaDevice, Result};
use crate::kernels::reduce as k;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

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
        let f = dev.func(k::SUM_COLS_PARTIAL)?;
        let mut b = dev.stream().launch_builder(&f);
        b.arg(&mut partial).arg(x);
        match w {
            Some(w) => b.arg(w),
            None => b.arg(&super::NULL_PTR),
        };
        b.arg(&ri).arg(&ci).arg(&rpp);
        let cfg = LaunchConfig {
            grid_dim: (cols.div_ceil(32) as u32, parts as u32, 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: buffer sizes checked above; argument types match the kernel signature.
        unsafe { b.launch(cfg) }?;
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
    let f = dev.func(k::SUM_COLS_FINAL)?;
    let mut b = dev.stream().launch_builder(&f);
    b.arg(y).arg(partial).arg(&pi).arg(&ci).arg(&acc);
    // SAFETY: buffer sizes checked above; argument types match the kernel signature.
    unsafe { b.launch(grid_1d(cols)) }?;
    Ok(())
}
