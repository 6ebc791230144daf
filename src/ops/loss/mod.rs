//! Mean squared error: mean((a − b)²) over all elements.
#[cfg(feature = "cuda")]
pub(crate) mod cuda;
use super::PAR_MIN;
use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::{Real, Shape};
use crate::util::simd;
use crate::{shape_err, Result};
use rayon::prelude::*;

impl<E: Real> Tape<'_, E> {
    /// Shapes may differ as long as the element counts agree (e.g. [B·T, d] against [B, T, d]).
    pub fn mse(&mut self, a: Var, b: Var) -> Result<Var> {
        let (na, nb) = (self.shape(a).numel(), self.shape(b).numel());
        if na != nb || na == 0 {
            return Err(shape_err!(
                "mse: {:?} against {:?}",
                self.shape(a),
                self.shape(b)
            ));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::mse(self, a, b);
        }
        let (av, bv) = (self.value(a), self.value(b));
        let total: f64 = if na >= PAR_MIN {
            av.par_chunks(4096)
                .zip(bv.par_chunks(4096))
                .map(|(x, y)| sq_sum(x, y))
                .sum()
        } else {
            sq_sum(av, bv)
        };
        let mut y = self.alloc_uninit(1);
        y[0] = E::of(total / na as f64);
        Ok(self.push(Shape::new(&[]), y, Op::Mse { a, b }, &[a, b]))
    }
}

/// Σ (x − y)² in f64, with 16 running partial sums so the loop vectorises (a single f64 chain is
/// bound by the add latency).
fn sq_sum<E: Real>(x: &[E], y: &[E]) -> f64 {
    const L: usize = 16;
    simd::run(
        #[inline(always)]
        || {
            let mut acc = [0f64; L];
            let (xc, yc) = (x.chunks_exact(L), y.chunks_exact(L));
            let (xr, yr) = (xc.remainder(), yc.remainder());
            for (x, y) in xc.zip(yc) {
                for j in 0..L {
                    let d = (x[j] - y[j]).f64();
                    acc[j] += d * d;
                }
            }
            let mut s: f64 = acc.iter().sum();
            for (x, y) in xr.iter().zip(yr) {
                let d = (*x - *y).f64();
                s += d * d;
            }
            s
        },
    )
}

pub(crate) fn mse_backward<E: Real>(t: &Tape<E>, a: Var, b: Var, g: &[E], s: &mut Slots<E>) {
    let (av, bv) = (t.value(a), t.value(b));
    let k = E::of(2.0) * g[0] / E::of(av.len() as f64);
    for (v, sign) in [(a, k), (b, -k)] {
        let (mut gv, acc) = s.take_write(v);
        if let Some(gv) = gv.as_deref_mut() {
            let body = |(d, (x, y)): (&mut [E], (&[E], &[E]))| {
                let it = d.iter_mut().zip(x.iter().zip(y));
                if acc {
                    it.for_each(|(d, (x, y))| *d += sign * (*x - *y));
                } else {
                    it.for_each(|(d, (x, y))| *d = sign * (*x - *y));
                }
            };
            if gv.len() >= PAR_MIN {
                gv.par_chunks_mut(4096)
                    .zip(av.par_chunks(4096).zip(bv.par_chunks(4096)))
                    .for_each(body);
            } else {
                body((gv, (av, bv)));
            }
        }
        s.put(v, gv);
    }
}
