//! Fused GRU cell: one op instead of a dozen element-wise ones per time step.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::Real;
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
    /// xp [B, 3H] (input projection), hp [B, 3H] (hidden projection), h [B, H] → h' [B, H].
    pub fn gru_cell(&mut self, xp: Var, hp: Var, h: Var) -> Result<Var> {
        let sh = self.shape(h);
        let hd = sh.last();
        let rows = sh.rows();
        for v in [xp, hp] {
            let s = self.shape(v);
            if s.last() != 3 * hd || s.rows() != rows {
                return Err(shape_err!(
                    "gru_cell: {s:?} does not match h {sh:?} (need [B, 3H])"
                ));
            }
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::gru_cell(self, xp, hp, h);
        }
        let mut out = self.alloc_uninit(rows * hd);
        let mut gates = self.alloc_uninit(rows * 3 * hd);
        cpu::forward(
            hd,
            self.value(xp),
            self.value(hp),
            self.value(h),
            &mut out,
            &mut gates,
        );
        Ok(self.push(sh, out, Op::GruCell { xp, hp, h, gates }, &[xp, hp, h]))
    }
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    xp: Var,
    hp: Var,
    h: Var,
    gates: &[E],
    g: &[E],
    s: &mut Slots<E>,
) {
    let hd = t.shape(h).last();
    let (mut gx, mut gh3, mut gh) = (s.take(xp), s.take(hp), s.take(h));
    cpu::backward(
        hd,
        t.value(hp),
        t.value(h),
        gates,
        g,
        gx.as_deref_mut(),
        gh3.as_deref_mut(),
        gh.as_deref_mut(),
    );
    s.put(xp, gx);
    s.put(hp, gh3);
    s.put(h, gh);
}
