//! concat, split, narrow, reshape, permute/transpose.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::tensor::Shape;
use crate::{shape_err, Result};

/// `len` entries at `start` of an axis of `total` entries, in a tensor viewed as
/// [outer, total, inner].
#[derive(Clone, Copy, Debug)]
pub struct Piece {
    pub outer: usize,
    pub len: usize,
    pub total: usize,
    pub inner: usize,
    pub start: usize,
}

/// The data-movement kernels of a backend.
pub trait ShapeKernel: Backend {
    /// dst [outer, len, inner] (+)= src [outer, total, inner] at the piece.
    fn extract(&self, src: &Self::Buf, dst: &mut Self::Buf, p: Piece, acc: bool) -> Result<()>;
    /// dst [outer, total, inner] at the piece (+)= src [outer, len, inner]; the rest untouched.
    fn place(&self, src: &Self::Buf, dst: &mut Self::Buf, p: Piece, acc: bool) -> Result<()>;
    /// dst = src at the piece, zero elsewhere.
    fn place_fresh(&self, src: &Self::Buf, dst: &mut Self::Buf, p: Piece) -> Result<()>;
    /// y (+)= x permuted: y's axis k is x's axis `perm[k]`.
    fn permute(
        &self,
        x: &Self::Buf,
        x_dims: &[usize],
        perm: &[usize],
        y: &mut Self::Buf,
        acc: bool,
    ) -> Result<()>;
}

impl<B: ShapeKernel> Tape<'_, B> {
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
        let (outer, _, inner) = shape.around(axis);
        let mut y = self.alloc(shape.numel())?;
        let mut start = 0;
        for &x in xs {
            let len = self.dims(x)[axis];
            let p = Piece {
                outer,
                len,
                total,
                inner,
                start,
            };
            self.backend().place(self.buf(x)?, &mut y, p, false)?;
            start += len;
        }
        let rule = Concat {
            xs: xs.to_vec(),
            axis,
        };
        Ok(self.push(shape, y, rule, xs))
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
        let mut y = self.alloc(outer * len * inner)?;
        let p = Piece {
            outer,
            len,
            total,
            inner,
            start,
        };
        self.backend().extract(self.buf(x)?, &mut y, p, false)?;
        Ok(self.push(Shape::new(&dims), y, Narrow { x, p }, &[x]))
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
        let mut y = self.alloc(s.numel())?;
        self.backend().copy(self.buf(x)?, &mut y, s.numel())?;
        Ok(self.push(shape, y, Reshape { x }, &[x]))
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
        let mut y = self.alloc(s.numel())?;
        self.backend()
            .permute(self.buf(x)?, s.dims(), perm, &mut y, false)?;
        let rule = Permute {
            x,
            perm: perm.to_vec(),
        };
        Ok(self.push(Shape::new(&dims), y, rule, &[x]))
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

struct Concat {
    xs: Vec<Var>,
    axis: usize,
}

impl<B: ShapeKernel> Backward<B> for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (outer, total, inner) = t.shape(y).around(self.axis);
        let mut start = 0;
        for &x in &self.xs {
            let len = t.dims(x)[self.axis];
            if let (Some(mut gx), acc) = s.take_write(x)? {
                let p = Piece {
                    outer,
                    len,
                    total,
                    inner,
                    start,
                };
                s.backend().extract(g, &mut gx, p, acc)?;
                s.put(x, Some(gx))?;
            }
            start += len;
        }
        Ok(())
    }
}

struct Narrow {
    x: Var,
    p: Piece,
}

impl<B: ShapeKernel> Backward<B> for Narrow {
    fn name(&self) -> &'static str {
        "narrow"
    }
    fn backward(&self, _: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        if let (Some(mut gx), acc) = s.take_write(self.x)? {
            if acc {
                s.backend().place(g, &mut gx, self.p, true)?;
            } else {
                s.backend().place_fresh(g, &mut gx, self.p)?;
            }
            s.put(self.x, Some(gx))?;
        }
        Ok(())
    }
}

struct Reshape {
    x: Var,
}

impl<B: ShapeKernel> Backward<B> for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        if let (Some(mut gx), acc) = s.take_write(self.x)? {
            let n = t.shape(self.x).numel();
            s.backend().copy_or_add(g, &mut gx, n, acc)?;
            s.put(self.x, Some(gx))?;
        }
        Ok(())
    }
}

struct Permute {
    x: Var,
    perm: Vec<usize>,
}

impl<B: ShapeKernel> Backward<B> for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        if let (Some(mut gx), acc) = s.take_write(self.x)? {
            let mut inv = vec![0; self.perm.len()];
            self.perm.iter().enumerate().for_each(|(i, &p)| inv[p] = i);
            s.backend().permute(g, t.dims(y), &inv, &mut gx, acc)?;
            s.put(self.x, Some(gx))?;
        }
        Ok(())
    }
}
