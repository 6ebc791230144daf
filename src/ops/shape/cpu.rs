//! Data movement for concat / narrow / permute, using the (outer, axis, inner) view of a shape.
use super::{Piece, ShapeKernel};
use crate::backend::cpu::PAR_MIN;
use crate::backend::Cpu;
use crate::tensor::{Real, Shape};
use crate::Result;
use rayon::prelude::*;

pub use crate::backend::cpu::copy_or_add;

/// Runs `f(o, src_block, dst_block)` for each of the `outer` blocks of `src` (`sb` long) and `dst`
/// (`db` long), in parallel when the data is large.
fn for_blocks<E: Real>(
    src: &[E],
    dst: &mut [E],
    outer: usize,
    sb: usize,
    db: usize,
    f: impl Fn(&[E], &mut [E]) + Sync + Send,
) {
    if sb == 0 || db == 0 {
        return;
    }
    let (src, dst) = (&src[..outer * sb], &mut dst[..outer * db]);
    if outer > 1 && outer * sb.min(db) >= PAR_MIN {
        let min = (PAR_MIN / 4 / sb.min(db)).max(1);
        dst.par_chunks_mut(db)
            .zip(src.par_chunks(sb))
            .with_min_len(min)
            .for_each(|(d, s)| f(s, d));
    } else {
        dst.chunks_mut(db)
            .zip(src.chunks(sb))
            .for_each(|(d, s)| f(s, d));
    }
}

/// Copies `src` ([outer, len, inner]) into `dst` ([outer, total, inner]) at offset `start` on the axis
/// (`add`: accumulate instead of overwrite; used by backward).
#[allow(clippy::too_many_arguments)]
pub fn place<E: Real>(
    src: &[E],
    dst: &mut [E],
    outer: usize,
    len: usize,
    total: usize,
    inner: usize,
    start: usize,
    add: bool,
) {
    let (n, at) = (len * inner, start * inner);
    for_blocks(src, dst, outer, n, total * inner, |s, d| {
        let d = &mut d[at..at + n];
        if add {
            d.iter_mut().zip(s).for_each(|(d, s)| *d += *s);
        } else {
            d.copy_from_slice(s);
        }
    });
}

/// `place` into a buffer whose old contents are not read: the slice gets `src`, the rest of every
/// block zeros (the gradient of a narrow, written without zero-filling the whole buffer first).
pub fn place_fresh<E: Real>(
    src: &[E],
    dst: &mut [E],
    outer: usize,
    len: usize,
    total: usize,
    inner: usize,
    start: usize,
) {
    let (n, at) = (len * inner, start * inner);
    if n == 0 {
        dst.iter_mut().for_each(|d| *d = E::zero());
        return;
    }
    for_blocks(src, dst, outer, n, total * inner, |s, d| {
        let (head, rest) = d.split_at_mut(at);
        let (mid, tail) = rest.split_at_mut(n);
        head.iter_mut().for_each(|d| *d = E::zero());
        mid.copy_from_slice(s);
        tail.iter_mut().for_each(|d| *d = E::zero());
    });
}

/// The inverse of `place`: reads [outer, len, inner] out of [outer, total, inner] at `start`.
#[allow(clippy::too_many_arguments)]
pub fn extract<E: Real>(
    src: &[E],
    dst: &mut [E],
    outer: usize,
    len: usize,
    total: usize,
    inner: usize,
    start: usize,
    add: bool,
) {
    let (n, at) = (len * inner, start * inner);
    // Same walk with the roles swapped: blocks of dst are `n` long, blocks of src `total·inner`.
    if n == 0 || outer == 0 {
        return;
    }
    let (src, dst) = (&src[..outer * total * inner], &mut dst[..outer * n]);
    let body = |(d, s): (&mut [E], &[E])| {
        let s = &s[at..at + n];
        if add {
            d.iter_mut().zip(s).for_each(|(d, s)| *d += *s);
        } else {
            d.copy_from_slice(s);
        }
    };
    if outer > 1 && outer * n >= PAR_MIN {
        let min = (PAR_MIN / 4 / n).max(1);
        dst.par_chunks_mut(n)
            .zip(src.par_chunks(total * inner))
            .with_min_len(min)
            .for_each(body);
    } else {
        dst.chunks_mut(n)
            .zip(src.chunks(total * inner))
            .for_each(body);
    }
}

/// y = permute(x, perm), i.e. y.dims[i] = x.dims[perm[i]]. With `add`, y += instead.
pub fn permute<E: Real>(x: &[E], xs: &Shape, perm: &[usize], y: &mut [E], add: bool) {
    let xd = xs.dims();
    let r = xd.len();
    let mut xstride = vec![1usize; r];
    for i in (0..r.saturating_sub(1)).rev() {
        xstride[i] = xstride[i + 1] * xd[i + 1];
    }
    let yd: Vec<usize> = perm.iter().map(|&p| xd[p]).collect();
    // Stride in x of each y axis; walk y in order with an odometer.
    let ys: Vec<usize> = perm.iter().map(|&p| xstride[p]).collect();
    let mut idx = vec![0usize; r];
    let mut off = 0usize;
    let inner = *yd.last().unwrap_or(&1);
    let inner_stride = *ys.last().unwrap_or(&1);
    for yc in y.chunks_exact_mut(inner.max(1)) {
        for (j, v) in yc.iter_mut().enumerate() {
            let xv = x[off + j * inner_stride];
            if add {
                *v += xv
            } else {
                *v = xv
            }
        }
        // advance the odometer over all axes but the last
        let mut a = r.saturating_sub(1);
        while a > 0 {
            a -= 1;
            idx[a] += 1;
            off += ys[a];
            if idx[a] < yd[a] {
                break;
            }
            off -= ys[a] * yd[a];
            idx[a] = 0;
        }
    }
}

impl<E: Real> ShapeKernel for Cpu<E> {
    fn extract(&self, src: &Vec<E>, dst: &mut Vec<E>, p: Piece, acc: bool) -> Result<()> {
        extract(src, dst, p.outer, p.len, p.total, p.inner, p.start, acc);
        Ok(())
    }
    fn place(&self, src: &Vec<E>, dst: &mut Vec<E>, p: Piece, acc: bool) -> Result<()> {
        place(src, dst, p.outer, p.len, p.total, p.inner, p.start, acc);
        Ok(())
    }
    fn place_fresh(&self, src: &Vec<E>, dst: &mut Vec<E>, p: Piece) -> Result<()> {
        place_fresh(src, dst, p.outer, p.len, p.total, p.inner, p.start);
        Ok(())
    }
    fn permute(
        &self,
        x: &Vec<E>,
        x_dims: &[usize],
        perm: &[usize],
        y: &mut Vec<E>,
        acc: bool,
    ) -> Result<()> {
        permute(x, &Shape::new(x_dims), perm, y, acc);
        Ok(())
    }
}
