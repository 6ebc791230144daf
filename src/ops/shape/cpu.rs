//! Data movement for concat / narrow / permute, using the (outer, axis, inner) view of a shape.
use crate::tensor::{Real, Shape};

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
    for o in 0..outer {
        let s = &src[o * len * inner..(o + 1) * len * inner];
        let d = &mut dst[(o * total + start) * inner..(o * total + start + len) * inner];
        if add {
            d.iter_mut().zip(s).for_each(|(d, s)| *d += *s);
        } else {
            d.copy_from_slice(s);
        }
    }
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
    for o in 0..outer {
        let s = &src[(o * total + start) * inner..(o * total + start + len) * inner];
        let d = &mut dst[o * len * inner..(o + 1) * len * inner];
        if add {
            d.iter_mut().zip(s).for_each(|(d, s)| *d += *s);
        } else {
            d.copy_from_slice(s);
        }
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
