//! concat, narrow, reshape and permute on the device (`shape.cu`): exact copies. A tensor viewed
//! as `[outer, axis·inner]` turns each concat piece and each narrow into one block copy.
use super::{Piece, ShapeKernel};
use crate::backend::cuda::launch::shape::{copy_block, permute as permute_kernel, Block};
use crate::backend::cuda::{Cuda, DevBuf};
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
        Ok(permute_kernel(
            self.dev(),
            y,
            x,
            &out_dims,
            &out_strides,
            acc,
        )?)
    }
}
