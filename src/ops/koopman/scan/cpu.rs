//! The diagonal complex recurrence, channels innermost (SIMD) and one batch row per task.
//! Row layout [Re_0..Re_{m-1}, Im_0..Im_{m-1}]; the previous row stays in L1 across the time loop.
use super::{ScanGrads, ScanKernel};
use crate::backend::cpu::PAR_MIN;
use crate::backend::Cpu;
use crate::ops::rows_of;
use crate::tensor::Real;
use crate::util::simd;
use crate::Result;
use rayon::prelude::*;

/// next = λ̄ ⊙ prev + c, for one row of m complex values. Every slice is cut to exactly m so the
/// loop carries no bounds checks and vectorises.
#[inline(always)]
fn step<E: Real>(lr: &[E], li: &[E], prev: &[E], c: &[E], next: &mut [E]) {
    let m = lr.len();
    let (li, pr, pi, cr, ci) = (&li[..m], &prev[..m], &prev[m..2 * m], &c[..m], &c[m..2 * m]);
    let (nr, ni) = next[..2 * m].split_at_mut(m);
    for j in 0..m {
        nr[j] = lr[j] * pr[j] - li[j] * pi[j] + cr[j];
        ni[j] = lr[j] * pi[j] + li[j] * pr[j] + ci[j];
    }
}

/// One sequence: z0 [2m], c [T, 2m] → x [T, 2m] with x[k] = x̂_{k+1}.
pub fn forward_one<E: Real>(lbar: &[E], z0: &[E], c: &[E], x: &mut [E]) {
    simd::run(
        #[inline(always)]
        || forward_body(lbar, z0, c, x),
    )
}

#[inline(always)]
fn forward_body<E: Real>(lbar: &[E], z0: &[E], c: &[E], x: &mut [E]) {
    let m2 = lbar.len();
    let (lr, li) = lbar.split_at(m2 / 2);
    step(lr, li, z0, &c[..m2], &mut x[..m2]);
    for k in 1..c.len() / m2 {
        let (done, rest) = x.split_at_mut(k * m2);
        step(
            lr,
            li,
            &done[(k - 1) * m2..],
            &c[k * m2..(k + 1) * m2],
            &mut rest[..m2],
        );
    }
}

/// Reverse-time adjoint for one sequence: a_k = g_k + conj(λ̄)·a_{k+1};
/// dc_k += a_{k+1}; dz0 += conj(λ̄)·a_1; dλ̄ += Σ_k conj(x̂_k)·a_{k+1} (x̂_0 = z0).
/// `a` is scratch of length 2m.
#[allow(clippy::too_many_arguments)]
pub fn backward_one<E: Real>(
    lbar: &[E],
    z0: &[E],
    x: &[E],
    g: &[E],
    a: &mut [E],
    dz0: Option<&mut [E]>,
    dc: Option<&mut [E]>,
    dlbar: Option<&mut [E]>,
) {
    backward_one_acc(lbar, z0, x, g, a, dz0, dc, dlbar, true)
}

/// `backward_one`, where `dc_acc == false` overwrites dc (its old contents are not read) instead of
/// adding into it.
#[allow(clippy::too_many_arguments)]
pub fn backward_one_acc<E: Real>(
    lbar: &[E],
    z0: &[E],
    x: &[E],
    g: &[E],
    a: &mut [E],
    dz0: Option<&mut [E]>,
    dc: Option<&mut [E]>,
    dlbar: Option<&mut [E]>,
    dc_acc: bool,
) {
    simd::run(
        #[inline(always)]
        || backward_body(lbar, z0, x, g, a, dz0, dc, dlbar, dc_acc),
    )
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_body<E: Real>(
    lbar: &[E],
    z0: &[E],
    x: &[E],
    g: &[E],
    a: &mut [E],
    dz0: Option<&mut [E]>,
    mut dc: Option<&mut [E]>,
    mut dlbar: Option<&mut [E]>,
    dc_acc: bool,
) {
    let m2 = lbar.len();
    let m = m2 / 2;
    // Every slice is cut to exactly m so the loops carry no bounds checks and vectorise.
    let (lr, li) = (&lbar[..m], &lbar[m..2 * m]);
    let t_len = g.len() / m2;
    a.iter_mut().for_each(|v| *v = E::zero());
    for k in (1..=t_len).rev() {
        // a ← g_k + conj(λ̄)·a_{k+1}   (g_k lives in row k−1), then dc_k (+)= a and
        // dλ̄ += conj(x̂_{k−1})·a, in one pass over the row.
        let gk = &g[(k - 1) * m2..k * m2];
        let (gr, gi) = (&gk[..m], &gk[m..2 * m]);
        let (ar, ai) = a[..2 * m].split_at_mut(m);
        let ai = &mut ai[..m];
        for j in 0..m {
            let (r, i) = (ar[j], ai[j]);
            ar[j] = gr[j] + lr[j] * r + li[j] * i;
            ai[j] = gi[j] + lr[j] * i - li[j] * r;
        }
        if let Some(dc) = dc.as_deref_mut() {
            let (cr, ci) = dc[(k - 1) * m2..k * m2].split_at_mut(m);
            let ci = &mut ci[..m];
            if dc_acc {
                for j in 0..m {
                    cr[j] += ar[j];
                    ci[j] += ai[j];
                }
            } else {
                cr.copy_from_slice(ar);
                ci.copy_from_slice(ai);
            }
        }
        if let Some(dl) = dlbar.as_deref_mut() {
            let prev = if k == 1 {
                z0
            } else {
                &x[(k - 2) * m2..(k - 1) * m2]
            };
            let (pr, pi) = (&prev[..m], &prev[m..2 * m]);
            let (dr, di) = dl[..2 * m].split_at_mut(m);
            let di = &mut di[..m];
            for j in 0..m {
                dr[j] += pr[j] * ar[j] + pi[j] * ai[j];
                di[j] += pr[j] * ai[j] - pi[j] * ar[j];
            }
        }
    }
    if let Some(dz0) = dz0 {
        let (ar, ai) = (&a[..m], &a[m..2 * m]);
        let (dr, di) = dz0[..2 * m].split_at_mut(m);
        let di = &mut di[..m];
        for j in 0..m {
            dr[j] += lr[j] * ar[j] + li[j] * ai[j];
            di[j] += lr[j] * ai[j] - li[j] * ar[j];
        }
    }
}

impl<E: Real> ScanKernel for Cpu<E> {
    fn scan_fwd(
        &self,
        z0: &Vec<E>,
        c: &Vec<E>,
        lbar: &Vec<E>,
        x: &mut Vec<E>,
        b: usize,
        t: usize,
        m: usize,
    ) -> Result<()> {
        let m2 = 2 * m;
        let body = |(i, xi): (usize, &mut [E])| {
            forward_one(
                &lbar[..m2],
                &z0[i * m2..(i + 1) * m2],
                &c[i * t * m2..(i + 1) * t * m2],
                xi,
            )
        };
        let x = &mut x[..b * t * m2];
        if b * t * m2 >= PAR_MIN && t > 0 {
            x.par_chunks_mut(t * m2).enumerate().for_each(body);
        } else if t > 0 {
            x.chunks_mut(t * m2).enumerate().for_each(body);
        }
        Ok(())
    }
    fn scan_bwd(&self, io: ScanGrads<'_, Self>, b: usize, tl: usize, m: usize) -> Result<()> {
        let m2 = 2 * m;
        let (lv, zv, xv, g) = (&io.lbar[..m2], io.z0, io.x, io.g);
        let gc_acc = io.dc.as_ref().is_some_and(|d| d.1);
        let gc = io.dc.map(|(d, _)| &mut d[..b * tl * m2]);
        let gz = io.dz0.map(|d| &mut d[..b * m2]);
        let want_l = io.dlbar.is_some();
        // Per-sequence partials of dλ̄, summed in batch order afterwards: deterministic, no atomics.
        let mut partial = vec![E::zero(); if want_l { b * m2 } else { 0 }];
        if tl > 0 {
            let gz_rows = rows_of(gz, b, m2);
            let gc_rows = rows_of(gc, b, tl * m2);
            let gl_rows = rows_of(want_l.then_some(&mut partial[..]), b, m2);
            let rows: Vec<_> = gz_rows.into_iter().zip(gc_rows).zip(gl_rows).collect();
            rows.into_par_iter()
                .enumerate()
                .for_each(|(i, ((dz, dc), dl))| {
                    let mut a = vec![E::zero(); m2];
                    let seq = i * tl * m2..(i + 1) * tl * m2;
                    let (z, x, gi) = (&zv[i * m2..(i + 1) * m2], &xv[seq.clone()], &g[seq]);
                    backward_one_acc(lv, z, x, gi, &mut a, dz, dc, dl, gc_acc);
                });
        }
        if let Some(gl) = io.dlbar {
            for row in partial.chunks_exact(m2) {
                gl.iter_mut().zip(row).for_each(|(d, p)| *d += *p);
            }
        }
        Ok(())
    }
}
