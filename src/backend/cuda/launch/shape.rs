//! Launchers for `kernels/shape.cu`: block copies (concat, narrow and their gradients) and permute.
use super::{grid_1d, int, need};
use crate::backend::cuda::kernels::shape as k;
use crate::backend::cuda::{CudaDevice, CudaError, Result};
use cudarc::driver::CudaSlice;

/// A `[rows, width]` block between row-major matrices: `dst[r, dst_off..+width] (+)= src[r,
/// src_off..+width]`, rows of `dst_cols` and `src_cols` floats.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    pub rows: usize,
    pub width: usize,
    pub dst_cols: usize,
    pub dst_off: usize,
    pub src_cols: usize,
    pub src_off: usize,
}

pub fn copy_block(
    dev: &CudaDevice,
    dst: &mut CudaSlice<f32>,
    src: &CudaSlice<f32>,
    b: Block,
    accumulate: bool,
) -> Result<()> {
    let n = b.rows * b.width;
    if n == 0 {
        return Ok(());
    }
    if b.dst_off + b.width > b.dst_cols || b.src_off + b.width > b.src_cols {
        return Err(CudaError(format!("copy_block: {b:?} exceeds a row")));
    }
    need(dst, b.rows * b.dst_cols, "copy_block dst")?;
    need(src, b.rows * b.src_cols, "copy_block src")?;
    int(n, "rows * width")?;
    // Both matrices hold `rows` full rows (checked above); offsets stay inside a row.
    k::copy_block(
        dev,
        grid_1d(n),
        dst,
        int(b.dst_cols, "dst_cols")?,
        int(b.dst_off, "dst_off")?,
        src,
        int(b.src_cols, "src_cols")?,
        int(b.src_off, "src_off")?,
        int(b.rows, "rows")?,
        int(b.width, "width")?,
        accumulate as i32,
    )
}

/// `y (+)= permute(x)`: `y_dims` are y's dims, `x_strides[k]` the stride of x along y's axis k
/// (rank ≤ 6).
pub fn permute(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    y_dims: &[usize],
    x_strides: &[usize],
    accumulate: bool,
) -> Result<()> {
    let rank = y_dims.len();
    if rank > 6 || x_strides.len() != rank {
        return Err(CudaError(format!(
            "permute: rank {rank} with {} strides (at most 6)",
            x_strides.len()
        )));
    }
    let n: usize = y_dims.iter().product();
    if n == 0 {
        return Ok(());
    }
    need(y, n, "permute y")?;
    need(x, n, "permute x")?;
    // Right-align into six axes: leading unit dims with stride 0.
    let mut d = [1i32; 6];
    let mut s = [0i32; 6];
    for k in 0..rank {
        d[6 - rank + k] = int(y_dims[k], "permute dim")?;
        s[6 - rank + k] = int(x_strides[k], "permute stride")?;
    }
    let (ni, acc) = (int(n, "n")?, accumulate as i32);
    // x and y hold n floats; every offset sum_k i_k s_k < n for a valid permutation.
    let ([d0, d1, d2, d3, d4, d5], [s0, s1, s2, s3, s4, s5]) = (d, s);
    k::permute(
        dev,
        grid_1d(n),
        y,
        x,
        ni,
        d0,
        d1,
        d2,
        d3,
        d4,
        d5,
        s0,
        s1,
        s2,
        s3,
        s4,
        s5,
        acc,
    )
}
