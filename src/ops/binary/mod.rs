//! add, mul (with suffix broadcasting) and scale.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::{shape_err, Result};

/// The operands and gradients of a multiply's backward (`None`: no gradient needed).
pub struct MulGrads<'a, B: Backend> {
    pub a: &'a B::Buf,
    pub b: &'a B::Buf,
    pub g: &'a B::Buf,
    pub da: Option<&'a mut B::Buf>,
    pub db: Option<&'a mut B::Buf>,
}

/// The element-wise kernels of a backend. `b` has `nb` elements repeated over `a`'s `n`.
pub trait BinaryKernel: Backend {
    fn add_fwd(
        &self,
        a: &Self::Buf,
        b: &Self::Buf,
        y: &mut Self::Buf,
        n: usize,
        nb: usize,
    ) -> Result<()>;
    fn mul_fwd(
        &self,
        a: &Self::Buf,
        b: &Self::Buf,
        y: &mut Self::Buf,
        n: usize,
        nb: usize,
    ) -> Result<()>;
    /// db += Σ over repeats of g (the gradient of a broadcast operand).
    fn reduce_repeats(&self, g: &Self::Buf, db: &mut Self::Buf, n: usize, nb: usize) -> Result<()>;
    /// da += g ⊙ b (b repeating); db += Σ_repeats g ⊙ a.
    fn mul_bwd(&self, io: MulGrads<'_, Self>, n: usize, nb: usize) -> Result<()>;
    /// y = k·x
    fn scale_fwd(&self, x: &Self::Buf, k: Self::E, y: &mut Self::Buf, n: usize) -> Result<()>;
    /// dx += k·g
    fn scale_bwd(&self, g: &Self::Buf, k: Self::E, dx: &mut Self::Buf, n: usize) -> Result<()>;
}

impl<B: BinaryKernel> Tape<'_, B> {
    fn check_broadcast(&self, name: &str, a: Var, b: Var) -> Result<()> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        if !sa.ends_with(&sb) || sb.numel() == 0 {
            return Err(shape_err!(
                "{name}: {sb:?} does not broadcast onto {sa:?} (must be a suffix)"
            ));
        }
        Ok(())
    }
    /// y = a + b, b broadcast over a's leading axes.
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        self.check_broadcast("add", a, b)?;
        let (shape, nb) = (self.shape(a), self.shape(b).numel());
        let mut y = self.alloc(shape.numel())?;
        let (av, bv) = (self.buf(a)?, self.buf(b)?);
        self.backend().add_fwd(av, bv, &mut y, shape.numel(), nb)?;
        Ok(self.push(shape, y, Add { a, b }, &[a, b]))
    }
    /// y = a ⊙ b, b broadcast over a's leading axes.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.check_broadcast("mul", a, b)?;
        let (shape, nb) = (self.shape(a), self.shape(b).numel());
        let mut y = self.alloc(shape.numel())?;
        let (av, bv) = (self.buf(a)?, self.buf(b)?);
        self.backend().mul_fwd(av, bv, &mut y, shape.numel(), nb)?;
        Ok(self.push(shape, y, Mul { a, b }, &[a, b]))
    }
    /// y = k·x. Infallible: a device failure is recorded on the tape (`push_or_fault`).
    pub fn scale(&mut self, x: Var, k: B::E) -> Var {
        let shape = self.shape(x);
        let run = |t: &mut Self| -> Result<B::Buf> {
            let mut y = t.alloc(shape.numel())?;
            t.backend().scale_fwd(t.buf(x)?, k, &mut y, shape.numel())?;
            Ok(y)
        };
        let y = run(self);
        self.push_or_fault(shape, y, Scale { x, k }, &[x])
    }
}

struct Add {
    a: Var,
    b: Var,
}

impl<B: BinaryKernel> Backward<B> for Add {
    fn name(&self) -> &'static str {
        "add"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (a, b) = (self.a, self.b);
        let (n, nb) = (t.shape(a).numel(), t.shape(b).numel());
        if let (Some(mut ga), acc) = s.take_write(a)? {
            s.backend().copy_or_add(g, &mut ga, n, acc)?;
            s.put(a, Some(ga))?;
        }
        if a != b && nb == n {
            // Same shape: the gradient is g itself.
            if let (Some(mut gb), acc) = s.take_write(b)? {
                s.backend().copy_or_add(g, &mut gb, n, acc)?;
                s.put(b, Some(gb))?;
            }
        } else if let Some(mut gb) = s.take(b)? {
            s.backend().reduce_repeats(g, &mut gb, n, nb)?;
            s.put(b, Some(gb))?;
        }
        Ok(())
    }
}

struct Mul {
    a: Var,
    b: Var,
}

impl<B: BinaryKernel> Backward<B> for Mul {
    fn name(&self) -> &'static str {
        "mul"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (a, b) = (self.a, self.b);
        let (n, nb) = (t.shape(a).numel(), t.shape(b).numel());
        let (av, bv) = (t.buf(a)?, t.buf(b)?);
        let mut ga = s.take(a)?;
        let mut gb = if a != b { s.take(b)? } else { None };
        let io = MulGrads {
            a: av,
            b: bv,
            g,
            da: ga.as_mut(),
            db: gb.as_mut(),
        };
        s.backend().mul_bwd(io, n, nb)?;
        if a == b {
            // x ⊙ x: both operand gradients land on x.
            let mut g2 = s.take(b)?;
            let io = MulGrads {
                a: av,
                b: bv,
                g,
                da: g2.as_mut(),
                db: None,
            };
            s.backend().mul_bwd(io, n, nb)?;
            s.put(a, g2)?;
        }
        s.put(a, ga)?;
        s.put(b, gb)
    }
}

struct Scale<E> {
    x: Var,
    k: E,
}

impl<B: BinaryKernel> Backward<B> for Scale<B::E> {
    fn name(&self) -> &'static str {
        "scale"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        if let Some(mut gx) = s.take(self.x)? {
            s.backend()
                .scale_bwd(g, self.k, &mut gx, t.shape(self.x).numel())?;
            s.put(self.x, Some(gx))?;
        }
        Ok(())
    }
}
