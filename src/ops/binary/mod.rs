//! add, mul (with suffix broadcasting) and scale.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::Real;
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
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
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::add(self, a, b);
        }
        let shape = self.shape(a);
        let mut y = self.alloc_uninit(shape.numel());
        cpu::add(self.value(a), self.value(b), &mut y);
        Ok(self.push(shape, y, Op::Add { a, b }, &[a, b]))
    }
    /// y = a ⊙ b, b broadcast over a's leading axes.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.check_broadcast("mul", a, b)?;
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::mul(self, a, b);
        }
        let shape = self.shape(a);
        let mut y = self.alloc_uninit(shape.numel());
        cpu::mul(self.value(a), self.value(b), &mut y);
        Ok(self.push(shape, y, Op::Mul { a, b }, &[a, b]))
    }
    /// y = k·x
    pub fn scale(&mut self, x: Var, k: E) -> Var {
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::scale(self, x, k);
        }
        let shape = self.shape(x);
        let mut y = self.alloc_uninit(shape.numel());
        y.iter_mut()
            .zip(self.value(x))
            .for_each(|(y, x)| *y = k * *x);
        self.push(shape, y, Op::Scale { x, s: k }, &[x])
    }
}

pub(crate) fn add_backward<E: Real>(t: &Tape<E>, a: Var, b: Var, g: &[E], s: &mut Slots<E>) {
    let (mut ga, acc) = s.take_write(a);
    if let Some(ga) = ga.as_deref_mut() {
        cpu::copy_or_add(g, ga, acc);
    }
    s.put(a, ga);
    if a != b && t.shape(b).numel() == g.len() {
        // Same shape: the gradient is g itself.
        let (mut gb, acc) = s.take_write(b);
        if let Some(gb) = gb.as_deref_mut() {
            cpu::copy_or_add(g, gb, acc);
        }
        s.put(b, gb);
        return;
    }
    let mut gb = s.take(b);
    if let Some(gb) = gb.as_deref_mut() {
        cpu::reduce_repeats(g, gb);
    }
    s.put(b, gb);
}

pub(crate) fn mul_backward<E: Real>(t: &Tape<E>, a: Var, b: Var, g: &[E], s: &mut Slots<E>) {
    let (mut ga, mut gb) = (s.take(a), None);
    if a != b {
        gb = s.take(b);
    }
    cpu::mul_backward(
        t.value(a),
        t.value(b),
        g,
        ga.as_deref_mut(),
        gb.as_deref_mut(),
    );
    if a == b {
        // x ⊙ x: both operand gradients land on x.
        let mut g2 = s.take(b);
        cpu::mul_backward(t.value(a), t.value(b), g, g2.as_deref_mut(), None);
        s.put(a, g2);
    }
    s.put(a, ga);
    s.put(b, gb);
}

pub(crate) fn scale_backward<E: Real>(x: Var, k: E, g: &[E], s: &mut Slots<E>) {
    let mut gx = s.take(x);
    if let Some(gx) = gx.as_deref_mut() {
        gx.iter_mut().zip(g).for_each(|(d, g)| *d += k * *g);
    }
    s.put(x, gx);
}
