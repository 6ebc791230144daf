//! Complex element-wise product (planar), used to apply the ZOH gain to encoded actions.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::ops::PAR_MIN;
use crate::tensor::Real;
use crate::{shape_err, Result};
use rayon::prelude::*;

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
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::cmul(self, a, b);
        }
        let mut y = self.alloc_uninit(sa.numel());
        let (av, bv) = (self.value(a), self.value(b));
        let chunk = ROWS * nb;
        if av.len() >= PAR_MIN {
            y.par_chunks_mut(chunk)
                .zip(av.par_chunks(chunk))
                .for_each(|(y, a)| cpu::forward(a, bv, y));
        } else {
            cpu::forward(av, bv, &mut y);
        }
        Ok(self.push(sa, y, Op::CMul { a, b }, &[a, b]))
    }
}

pub(crate) fn backward<E: Real>(t: &Tape<E>, a: Var, b: Var, g: &[E], s: &mut Slots<E>) {
    let ((mut ga, ga_acc), mut gb) = (s.take_write(a), s.take(b));
    let (av, bv) = (t.value(a), t.value(b));
    let chunk = ROWS * bv.len();
    let da = |(d, g): (&mut [E], &[E])| {
        if ga_acc {
            cpu::backward(&[], bv, g, Some(d), None)
        } else {
            cpu::backward_da_write(bv, g, d)
        }
    };
    if av.len() < PAR_MIN {
        if let Some(ga) = ga.as_deref_mut() {
            da((ga, g));
        }
        cpu::backward(av, bv, g, None, gb.as_deref_mut());
    } else {
        if let Some(ga) = ga.as_deref_mut() {
            ga.par_chunks_mut(chunk)
                .zip(g.par_chunks(chunk))
                .for_each(da);
        }
        if let Some(gb) = gb.as_deref_mut() {
            // Per-chunk partial sums, added in chunk order: deterministic.
            let parts: Vec<Vec<E>> = av
                .par_chunks(chunk)
                .zip(g.par_chunks(chunk))
                .map(|(a, g)| {
                    let mut p = vec![E::zero(); bv.len()];
                    cpu::backward(a, bv, g, None, Some(&mut p));
                    p
                })
                .collect();
            for p in parts {
                gb.iter_mut().zip(&p).for_each(|(d, v)| *d += *v);
            }
        }
    }
    s.put(a, ga);
    s.put(b, gb);
}

/// Rows per parallel task: large enough to amortise rayon, small enough to balance two cores.
const ROWS: usize = 512;
