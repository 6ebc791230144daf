//! concat, split, narrow, reshape, permute/transpose.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::{Real, Shape};
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
    /// Joins along `axis`; all other axes must agree.
    pub fn concat(&mut self, xs: &[Var], axis: usize) -> Result<Var> {
        let Some(&first) = xs.first() else {
            return Err(shape_err!("concat of nothing"));
        };
        let s0 = self.shape(first);
        if axis >= s0.rank() {
            return Err(shape_err!("concat: axis {axis} out of range for {s0:?}"));
        }
        let mut total = 0;
        for &x in xs {
            let s = self.shape(x);
            let same = s.rank() == s0.rank()
                && (0..s.rank()).all(|i| i == axis || s.dims()[i] == s0.dims()[i]);
            if !same {
                return Err(shape_err!(
                    "concat along {axis}: {s:?} does not match {s0:?}"
                ));
            }
            total += s.dims()[axis];
        }
        let mut dims = s0.dims().to_vec();
        dims[axis] = total;
        let shape = Shape::new(&dims);
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::concat(self, xs, axis, shape);
        }
        let (outer, _, inner) = shape.around(axis);
        let mut y = self.alloc_uninit(shape.numel());
        let mut start = 0;
        for &x in xs {
            let len = self.dims(x)[axis];
            cpu::place(
                self.value(x),
                &mut y,
                outer,
                len,
                total,
                inner,
                start,
                false,
            );
            start += len;
        }
        Ok(self.push(
            shape,
            y,
            Op::Concat {
                xs: xs.to_vec(),
                axis,
            },
            xs,
        ))
    }

    /// The slice [start, start + len) of `axis`.
    pub fn narrow(&mut self, x: Var, axis: usize, start: usize, len: usize) -> Result<Var> {
        let s = self.shape(x);
        if axis >= s.rank() || start + len > s.dims()[axis] {
            return Err(shape_err!(
                "narrow: [{start}, {}) of axis {axis} of {s:?}",
                start + len
            ));
        }
        let (outer, total, inner) = s.around(axis);
        let mut dims = s.dims().to_vec();
        dims[axis] = len;
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::narrow(self, x, axis, start, Shape::new(&dims));
        }
        let mut y = self.alloc_uninit(outer * len * inner);
        cpu::extract(
            self.value(x),
            &mut y,
            outer,
            len,
            total,
            inner,
            start,
            false,
        );
        Ok(self.push(Shape::new(&dims), y, Op::Narrow { x, axis, start }, &[x]))
    }

    /// Splits `axis` into consecutive pieces of the given sizes.
    pub fn split(&mut self, x: Var, axis: usize, sizes: &[usize]) -> Result<Vec<Var>> {
        let mut start = 0;
        let mut out = Vec::with_capacity(sizes.len());
        for &len in sizes {
            out.push(self.narrow(x, axis, start, len)?);
            start += len;
        }
        Ok(out)
    }

    /// Same data, new shape (same element count).
    pub fn reshape(&mut self, x: Var, dims: &[usize]) -> Result<Var> {
        let s = self.shape(x);
        let shape = Shape::new(dims);
        if shape.numel() != s.numel() {
            return Err(shape_err!("reshape {s:?} to {dims:?}"));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::reshape(self, x, shape);
        }
        let mut y = self.alloc_uninit(s.numel());
        cpu::copy_or_add(self.value(x), &mut y, false);
        Ok(self.push(shape, y, Op::Reshape { x }, &[x]))
    }

    /// y.dims[i] = x.dims[perm[i]].
    pub fn permute(&mut self, x: Var, perm: &[usize]) -> Result<Var> {
        let s = self.shape(x);
        let mut seen = vec![false; s.rank()];
        if perm.len() != s.rank()
            || perm
                .iter()
                .any(|&p| p >= s.rank() || std::mem::replace(&mut seen[p], true))
        {
            return Err(shape_err!("permute {perm:?} of {s:?}"));
        }
        let dims: Vec<usize> = perm.iter().map(|&p| s.dims()[p]).collect();
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::permute(self, x, perm, Shape::new(&dims));
        }
        let mut y = self.alloc_uninit(s.numel());
        cpu::permute(self.value(x), &s, perm, &mut y, false);
        Ok(self.push(
            Shape::new(&dims),
            y,
            Op::Permute {
                x,
                perm: perm.to_vec(),
            },
            &[x],
        ))
    }

    /// Swaps two axes.
    pub fn transpose(&mut self, x: Var, a: usize, b: usize) -> Result<Var> {
        let mut perm: Vec<usize> = (0..self.shape(x).rank()).collect();
        if a >= perm.len() || b >= perm.len() {
            return Err(shape_err!("transpose axes {a}, {b} of {:?}", self.shape(x)));
        }
        perm.swap(a, b);
        self.permute(x, &perm)
    }
}

pub(crate) fn concat_backward<E: Real>(
    t: &Tape<E>,
    xs: &[Var],
    axis: usize,
    g: &[E],
    s: &mut Slots<E>,
) {
    let (outer, _, inner) = t.shape(xs[0]).around(axis);
    let total: usize = xs.iter().map(|&x| t.dims(x)[axis]).sum();
    let mut start = 0;
    for &x in xs {
        let len = t.dims(x)[axis];
        let (mut gx, acc) = s.take_write(x);
        if let Some(gx) = gx.as_deref_mut() {
            cpu::extract(g, gx, outer, len, total, inner, start, acc);
        }
        s.put(x, gx);
        start += len;
    }
}

pub(crate) fn narrow_backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    x: Var,
    axis: usize,
    start: usize,
    g: &[E],
    s: &mut Slots<E>,
) {
    let (outer, total, inner) = t.shape(x).around(axis);
    let len = t.dims(y)[axis];
    let (mut gx, acc) = s.take_write(x);
    if let Some(gx) = gx.as_deref_mut() {
        if acc {
            cpu::place(g, gx, outer, len, total, inner, start, true);
        } else {
            cpu::place_fresh(g, gx, outer, len, total, inner, start);
        }
    }
    s.put(x, gx);
}

pub(crate) fn reshape_backward<E: Real>(x: Var, g: &[E], s: &mut Slots<E>) {
    let (mut gx, acc) = s.take_write(x);
    if let Some(gx) = gx.as_deref_mut() {
        cpu::copy_or_add(g, gx, acc);
    }
    s.put(x, gx);
}

pub(crate) fn permute_backward<E: Real>(
    t: &Tape<E>,
    x: Var,
    perm: &[usize],
    g: &[E],
    s: &mut Slots<E>,
) {
    let mut inv = vec![0; perm.len()];
    perm.iter().enumerate().for_each(|(i, &p)| inv[p] = i);
    let ydims: Vec<usize> = perm.iter().map(|&p| t.dims(x)[p]).collect();
    let mut gx = s.take(x);
    if let Some(gx) = gx.as_deref_mut() {
        cpu::permute(g, &Shape::new(&ydims), &inv, gx, true);
    }
    s.put(x, gx);
}
