//! Row and column sums of `reduce.cu` (softmax and layernorm, from the same file, have their own
//! launcher modules). Column sums are deterministic: partial sums over row chunks, then a
//! fixed-order sum of the partials. Used for bias gradients, the broadcast operand of add/mul
//! backward and the batch reductions of the Koopman backward.

use super::{grid_1d, int, need, row_chunks, warp_rows};
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
    let f = dev.func(k::SUM_ROWS_FWD)?;
    let mut b = dev.stream().launch_builder(&f);
    // (float* y, const float* x, int rows, int cols)
    b.arg(y).arg(x).arg(&ri).arg(&ci);
    // SAFETY: buffer sizes checked above; argument types match the kernel signature.
    unsafe { b.launch(warp_rows(rows)) }?;
    Ok(())
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
    let f = dev.func(k::SUM_ROWS_BWD)?;
    let mut b = dev.stream().launch_builder(&f);
    // (float* dx, const float* dy, int rows, int cols)
    b.arg(dx).arg(dy).arg(&ri).arg(&ci);
    // SAFETY: buffer sizes checked above; argument types match the kernel signature.
    unsafe { b.launch(grid_1d(rows * cols)) }?;
    Ok(())
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
    let f = dev.func(k::SUM_COLS_BWD)?;
    let mut b = dev.stream().launch_builder(&f);
    // (float* dx, const float* dy, int rows, int cols)
    b.arg(dx).arg(dy).arg(&ri).arg(&ci);
    // SAFETY: buffer sizes checked above; argument types match the kernel signature.
    unsafe { b.launch(grid_1d(rows * cols)) }?;
    Ok(())
}
