//! concat, narrow, reshape and permute on the device (`kernels/shape.cu`): exact copies. A tensor
//! viewed as `[outer, axis·inner]` turns each concat piece and each narrow into one block copy.
//! The launchers below: block copies (concat, narrow and their gradients) and permute.
use super::{Piece, ShapeKernel};
use crate::backend::cuda::kernels::shape as k;
use crate::backend::cuda::launch::{grid_1d, int, need};
use crate::backend::cuda::CudaError;
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::backend::Backend;
use crate::Result;

impl Piece {
    /// The block copy from the piece into the whole tensor, and from the whole into the piece.
    fn blocks(self) -> (Block, Block) {
        let (w, whole, at) = (
            self.len * self.inner,
            self.total * self.inner,
            self.start * self.inner,
        );
        let into_whole = Block {
            rows: self.outer,
            width: w,
            dst_cols: whole,
            dst_off: at,
            src_cols: w,
            src_off: 0,
        };
        let from_whole = Block {
            rows: self.outer,
            width: w,
            dst_cols: w,
            dst_off: 0,
            src_cols: whole,
            src_off: at,
        };
        (into_whole, from_whole)
    }
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut st = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        st[i] = st[i + 1] * dims[i + 1];
    }
    st
}

impl ShapeKernel for Cuda {
    fn extract(&self, src: &DevBuf, dst: &mut DevBuf, p: Piece, acc: bool) -> Result<()> {
        Ok(copy_block(self.dev(), dst, src, p.blocks().1, acc)?)
    }
    fn place(&self, src: &DevBuf, dst: &mut DevBuf, p: Piece, acc: bool) -> Result<()> {
        Ok(copy_block(self.dev(), dst, src, p.blocks().0, acc)?)
    }
    fn place_fresh(&self, src: &DevBuf, dst: &mut DevBuf, p: Piece) -> Result<()> {
        self.fill_zero(dst, p.outer * p.total * p.inner)?;
        self.place(src, dst, p, false)
    }
    fn permute(
        &self,
        x: &DevBuf,
        x_dims: &[usize],
        perm: &[usize],
        y: &mut DevBuf,
        acc: bool,
    ) -> Result<()> {
        let st = strides(x_dims);
        let out_dims: Vec<usize> = perm.iter().map(|&p| x_dims[p]).collect();
        let out_strides: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
        Ok(permute(self.dev(), y, x, &out_dims, &out_strides, acc)?)
    }
}

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
    dst: &mut DevBuf,
    src: &DevBuf,
    b: Block,
    accumulate: bool,
) -> cu::Result<()> {
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
    y: &mut DevBuf,
    x: &DevBuf,
    y_dims: &[usize],
    x_strides: &[usize],
    accumulate: bool,
) -> cu::Result<()> {
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
