//! Complex element-wise product (planar), used to apply the ZOH gain to encoded actions.
pub mod cpu;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::Real;
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
    /// y = a ⊙ b for planar complex a[.., 2m] and b[2m].
    pub fn cmul(&mut self, a: Var, b: Var) -> Result<Var> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let nb = sb.numel();
        if nb == 0 || nb % 2 != 0 || sa.last() != nb {
            return Err(shape_err!(
                "cmul: a {sa:?} ⊙ b {sb:?} (need a[.., 2m], b[2m])"
            ));
        }
        let mut y = self.alloc_uninit(sa.numel());
        cpu::forward(self.value(a), self.value(b), &mut y);
        Ok(self.push(sa, y, Op::CMul { a, b }, &[a, b]))
    }
}

pub(crate) fn backward<E: Real>(t: &Tape<E>, a: Var, b: Var, g: &[E], s: &mut Slots<E>) {
    let (mut ga, mut gb) = (s.take(a), s.take(b));
    cpu::backward(
        t.value(a),
        t.value(b),
        g,
        ga.as_deref_mut(),
        gb.as_deref_mut(),
    );
    s.put(a, ga);
    s.put(b, gb);
}
