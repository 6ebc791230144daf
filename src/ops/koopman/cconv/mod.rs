//! The rollout in the paper's convolution form: Vandermonde free response plus causal convolution.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::ops::koopman::scan::check;
use crate::ops::rows_of;
use crate::tensor::{Real, Shape};
use crate::{shape_err, Result};
use rayon::prelude::*;

impl<E: Real> Tape<'_, E> {
    /// z0 [B, 2m], c [B, T, 2m], V [2, m, K ≥ T+1] → x [B, T, 2m]; the same numbers as `scan`.
    pub fn cconv(&mut self, z0: Var, c: Var, v: Var) -> Result<Var> {
        let (b, t, m2) = check(self, "cconv", z0, c)?;
        let dv = self.dims(v).to_vec();
        if dv.len() != 3 || dv[0] != 2 || 2 * dv[1] != m2 || dv[2] < t + 1 {
            return Err(shape_err!(
                "cconv: V {dv:?} needs [2, {}, ≥{}]",
                m2 / 2,
                t + 1
            ));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::cconv(self, z0, c, v);
        }
        let k_len = dv[2];
        let mut vt = self.alloc_uninit(k_len * m2);
        cpu::transpose_v(self.value(v), m2 / 2, k_len, &mut vt);
        let mut x = self.alloc_uninit(b * t * m2);
        let (zv, cv) = (self.value(z0), self.value(c));
        if t > 0 {
            x.par_chunks_mut(t * m2).enumerate().for_each(|(i, xi)| {
                cpu::forward_one(
                    &vt,
                    &zv[i * m2..(i + 1) * m2],
                    &cv[i * t * m2..(i + 1) * t * m2],
                    xi,
                )
            });
        }
        self.recycle(vt);
        Ok(self.push(
            Shape::new(&[b, t, m2]),
            x,
            Op::CConv { z0, c, v },
            &[z0, c, v],
        ))
    }
}

pub(crate) fn backward<E: Real>(t: &Tape<E>, z0: Var, c: Var, v: Var, g: &[E], s: &mut Slots<E>) {
    let (b, tl, m2) = (t.dims(c)[0], t.dims(c)[1], t.dims(c)[2]);
    let k_len = t.dims(v)[2];
    let m = m2 / 2;
    let mut vt = vec![E::zero(); k_len * m2];
    cpu::transpose_v(t.value(v), m, k_len, &mut vt);
    let (zv, cv) = (t.value(z0), t.value(c));
    let (mut gz, mut gc, mut gv) = (s.take(z0), s.take(c), s.take(v));
    if tl > 0 {
        let rows: Vec<_> = rows_of(gz.as_deref_mut(), b, m2)
            .into_iter()
            .zip(rows_of(gc.as_deref_mut(), b, tl * m2))
            .collect();
        rows.into_par_iter().enumerate().for_each(|(i, (dz, dc))| {
            cpu::backward_inputs(&vt, &g[i * tl * m2..(i + 1) * tl * m2], m2, dz, dc)
        });
    }
    if let Some(gv) = gv.as_deref_mut() {
        // Each power j is independent: parallel over j, summed over the batch in order (deterministic).
        let mut dvt = vec![E::zero(); k_len * m2];
        dvt.par_chunks_mut(m2)
            .enumerate()
            .for_each(|(j, row)| cpu::backward_v_row(j, zv, cv, g, b, tl, m2, row));
        for i in 0..m {
            for k in 0..k_len {
                gv[i * k_len + k] += dvt[k * m2 + i];
                gv[m * k_len + i * k_len + k] += dvt[k * m2 + m + i];
            }
        }
    }
    s.put(z0, gz);
    s.put(c, gc);
    s.put(v, gv);
}
