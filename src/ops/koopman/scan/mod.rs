//! Sequential complex scan: x̂_{k+1} = λ̄ ⊙ x̂_k + c_k, the rollout's recurrent form.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::ops::rows_of;
use crate::tensor::{Real, Shape};
use crate::{shape_err, Result};
use rayon::prelude::*;

impl<E: Real> Tape<'_, E> {
    /// z0 [B, 2m], c [B, T, 2m], λ̄ [2m] → x [B, T, 2m], where x[:, k] = x̂_{k+1}.
    pub fn scan(&mut self, z0: Var, c: Var, lbar: Var) -> Result<Var> {
        let (b, t, m2) = check(self, "scan", z0, c)?;
        if self.shape(lbar).numel() != m2 {
            return Err(shape_err!(
                "scan: lbar {:?} needs {m2} values",
                self.shape(lbar)
            ));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::scan(self, z0, c, lbar);
        }
        let mut x = self.alloc_uninit(b * t * m2);
        let (lv, zv, cv) = (self.value(lbar), self.value(z0), self.value(c));
        let body = |(i, xi): (usize, &mut [E])| {
            cpu::forward_one(
                lv,
                &zv[i * m2..(i + 1) * m2],
                &cv[i * t * m2..(i + 1) * t * m2],
                xi,
            )
        };
        if b * t * m2 >= super::super::PAR_MIN && t > 0 {
            x.par_chunks_mut(t * m2).enumerate().for_each(body);
        } else if t > 0 {
            x.chunks_mut(t * m2).enumerate().for_each(body);
        }
        Ok(self.push(
            Shape::new(&[b, t, m2]),
            x,
            Op::Scan { z0, c, lbar },
            &[z0, c, lbar],
        ))
    }
}

/// Checks z0 [B, 2m] against c [B, T, 2m]; returns (B, T, 2m).
pub(crate) fn check<E: Real>(
    tape: &Tape<E>,
    name: &str,
    z0: Var,
    c: Var,
) -> Result<(usize, usize, usize)> {
    let (sz, sc) = (tape.shape(z0), tape.shape(c));
    let (dz, dc) = (sz.dims(), sc.dims());
    if dz.len() != 2 || dc.len() != 3 || dz[0] != dc[0] || dz[1] != dc[2] || dz[1] % 2 != 0 {
        return Err(shape_err!(
            "{name}: z0 {sz:?} and c {sc:?} (need z0 [B, 2m], c [B, T, 2m])"
        ));
    }
    Ok((dc[0], dc[1], dc[2]))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    z0: Var,
    c: Var,
    lbar: Var,
    g: &[E],
    s: &mut Slots<E>,
) {
    let (b, tl, m2) = (t.dims(c)[0], t.dims(c)[1], t.dims(c)[2]);
    let (lv, zv, xv) = (t.value(lbar), t.value(z0), t.value(y));
    let (mut gz, mut gl) = (s.take(z0), s.take(lbar));
    let (mut gc, gc_acc) = s.take_write(c);
    let want_l = gl.is_some();
    // Per-sequence partials of dλ̄, summed in batch order afterwards: deterministic, no atomics.
    let mut partial = vec![E::zero(); if want_l { b * m2 } else { 0 }];
    if tl > 0 {
        let gz_rows = rows_of(gz.as_deref_mut(), b, m2);
        let gc_rows = rows_of(gc.as_deref_mut(), b, tl * m2);
        let gl_rows = rows_of(want_l.then_some(&mut partial[..]), b, m2);
        let rows: Vec<_> = gz_rows.into_iter().zip(gc_rows).zip(gl_rows).collect();
        rows.into_par_iter()
            .enumerate()
            .for_each(|(i, ((dz, dc), dl))| {
                let mut a = vec![E::zero(); m2];
                let seq = i * tl * m2..(i + 1) * tl * m2;
                let (z, x, gi) = (&zv[i * m2..(i + 1) * m2], &xv[seq.clone()], &g[seq]);
                cpu::backward_one_acc(lv, z, x, gi, &mut a, dz, dc, dl, gc_acc);
            });
    }
    if let Some(gl) = gl.as_deref_mut() {
        for row in partial.chunks_exact(m2) {
            gl.iter_mut().zip(row).for_each(|(d, p)| *d += *p);
        }
    }
    s.put(z0, gz);
    s.put(c, gc);
    s.put(lbar, gl);
}
