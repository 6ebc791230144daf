//! The rollout as free response plus causal convolution (paper Eq. 9), summed directly:
//! x[k] = V_{k+1} ⊙ z0 + Σ_{l≤k} V_{k−l} ⊙ c[l]. V is first transposed to rows Vt[k] = (λ̄^k planar),
//! so every inner loop runs over contiguous channels.
use super::{CconvGrads, CconvKernel};
use crate::backend::Cpu;
use crate::ops::rows_of;
use crate::tensor::Real;
use crate::util::simd;
use crate::Result;
use rayon::prelude::*;

/// [2][m][K] → [K][2m]
pub fn transpose_v<E: Real>(v: &[E], m: usize, k_len: usize, vt: &mut [E]) {
    for i in 0..m {
        for k in 0..k_len {
            vt[k * 2 * m + i] = v[i * k_len + k];
            vt[k * 2 * m + m + i] = v[m * k_len + i * k_len + k];
        }
    }
}

/// acc += p ⊙ q (complex, planar rows of m)
#[inline(always)]
fn cfma<E: Real>(acc: &mut [E], p: &[E], q: &[E]) {
    let m = acc.len() / 2;
    let (ar, ai) = acc.split_at_mut(m);
    let (pr, pi) = p.split_at(m);
    let (qr, qi) = q.split_at(m);
    for j in 0..m {
        ar[j] += pr[j] * qr[j] - pi[j] * qi[j];
        ai[j] += pr[j] * qi[j] + pi[j] * qr[j];
    }
}

/// acc += conj(p) ⊙ q
#[inline(always)]
fn cfma_conj<E: Real>(acc: &mut [E], p: &[E], q: &[E]) {
    let m = acc.len() / 2;
    let (ar, ai) = acc.split_at_mut(m);
    let (pr, pi) = p.split_at(m);
    let (qr, qi) = q.split_at(m);
    for j in 0..m {
        ar[j] += pr[j] * qr[j] + pi[j] * qi[j];
        ai[j] += pr[j] * qi[j] - pi[j] * qr[j];
    }
}

/// One sequence: z0 [2m], c [T, 2m], vt [K ≥ T+1, 2m] → x [T, 2m].
pub fn forward_one<E: Real>(vt: &[E], z0: &[E], c: &[E], x: &mut [E]) {
    simd::run(
        #[inline(always)]
        || forward_one_body(vt, z0, c, x),
    )
}

#[inline(always)]
fn forward_one_body<E: Real>(vt: &[E], z0: &[E], c: &[E], x: &mut [E]) {
    let m2 = z0.len();
    let t_len = c.len() / m2;
    for k in 0..t_len {
        let xk = &mut x[k * m2..(k + 1) * m2];
        xk.iter_mut().for_each(|v| *v = E::zero());
        cfma(xk, &vt[(k + 1) * m2..(k + 2) * m2], z0);
        for l in 0..=k {
            cfma(
                xk,
                &vt[(k - l) * m2..(k - l + 1) * m2],
                &c[l * m2..(l + 1) * m2],
            );
        }
    }
}

/// dz0 += Σ_k conj(V_{k+1})·g_k;  dc_l += Σ_{k≥l} conj(V_{k−l})·g_k (a correlation with conj(V)).
pub fn backward_inputs<E: Real>(
    vt: &[E],
    g: &[E],
    m2: usize,
    dz0: Option<&mut [E]>,
    dc: Option<&mut [E]>,
) {
    simd::run(
        #[inline(always)]
        || backward_inputs_body(vt, g, m2, dz0, dc),
    )
}

#[inline(always)]
fn backward_inputs_body<E: Real>(
    vt: &[E],
    g: &[E],
    m2: usize,
    dz0: Option<&mut [E]>,
    dc: Option<&mut [E]>,
) {
    let t_len = g.len() / m2;
    if let Some(dz0) = dz0 {
        for k in 0..t_len {
            cfma_conj(
                dz0,
                &vt[(k + 1) * m2..(k + 2) * m2],
                &g[k * m2..(k + 1) * m2],
            );
        }
    }
    if let Some(dc) = dc {
        for l in 0..t_len {
            let dcl = &mut dc[l * m2..(l + 1) * m2];
            for k in l..t_len {
                cfma_conj(
                    dcl,
                    &vt[(k - l) * m2..(k - l + 1) * m2],
                    &g[k * m2..(k + 1) * m2],
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// dVt_j += Σ_b [conj(z0_b)·g_{b, j−1} + Σ_l conj(c_{b, l})·g_{b, l+j}], for one j.
pub fn backward_v_row<E: Real>(
    j: usize,
    z0: &[E],
    c: &[E],
    g: &[E],
    b: usize,
    t_len: usize,
    m2: usize,
    dvt_j: &mut [E],
) {
    simd::run(
        #[inline(always)]
        || backward_v_row_body(j, z0, c, g, b, t_len, m2, dvt_j),
    )
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_v_row_body<E: Real>(
    j: usize,
    z0: &[E],
    c: &[E],
    g: &[E],
    b: usize,
    t_len: usize,
    m2: usize,
    dvt_j: &mut [E],
) {
    for bi in 0..b {
        let (zb, cb, gb) = (
            &z0[bi * m2..(bi + 1) * m2],
            &c[bi * t_len * m2..],
            &g[bi * t_len * m2..],
        );
        if j >= 1 && j <= t_len {
            cfma_conj(dvt_j, zb, &gb[(j - 1) * m2..j * m2]);
        }
        for l in 0..t_len.saturating_sub(j) {
            cfma_conj(
                dvt_j,
                &cb[l * m2..(l + 1) * m2],
                &gb[(l + j) * m2..(l + j + 1) * m2],
            );
        }
    }
}

impl<E: Real> CconvKernel for Cpu<E> {
    fn cconv_fwd(
        &self,
        z0: &Vec<E>,
        c: &Vec<E>,
        v: &Vec<E>,
        x: &mut Vec<E>,
        scratch: &mut Vec<E>,
        [b, t, m, k_len]: [usize; 4],
    ) -> Result<()> {
        let m2 = 2 * m;
        let vt = &mut scratch[..k_len * m2];
        transpose_v(v, m, k_len, vt);
        if t > 0 {
            x[..b * t * m2]
                .par_chunks_mut(t * m2)
                .enumerate()
                .for_each(|(i, xi)| {
                    forward_one(
                        vt,
                        &z0[i * m2..(i + 1) * m2],
                        &c[i * t * m2..(i + 1) * t * m2],
                        xi,
                    )
                });
        }
        Ok(())
    }
    fn cconv_bwd(
        &self,
        io: CconvGrads<'_, Self>,
        scratch: &mut Vec<E>,
        [b, tl, m, k_len]: [usize; 4],
    ) -> Result<()> {
        let m2 = 2 * m;
        let vt = &mut scratch[..k_len * m2];
        transpose_v(io.v, m, k_len, vt);
        let (zv, cv, g) = (io.z0, io.c, io.g);
        if tl > 0 {
            let rows: Vec<_> = rows_of(io.dz0.map(|d| &mut d[..b * m2]), b, m2)
                .into_iter()
                .zip(rows_of(io.dc.map(|d| &mut d[..b * tl * m2]), b, tl * m2))
                .collect();
            let vt = &*vt;
            rows.into_par_iter().enumerate().for_each(|(i, (dz, dc))| {
                backward_inputs(vt, &g[i * tl * m2..(i + 1) * tl * m2], m2, dz, dc)
            });
        }
        if let Some(gv) = io.dv {
            // Each power j is independent: parallel over j, summed over the batch in order
            // (deterministic).
            let mut dvt = vec![E::zero(); k_len * m2];
            dvt.par_chunks_mut(m2)
                .enumerate()
                .for_each(|(j, row)| backward_v_row(j, zv, cv, g, b, tl, m2, row));
            for i in 0..m {
                for k in 0..k_len {
                    gv[i * k_len + k] += dvt[k * m2 + i];
                    gv[m * k_len + i * k_len + k] += dvt[k * m2 + m + i];
                }
            }
        }
        Ok(())
    }
}
