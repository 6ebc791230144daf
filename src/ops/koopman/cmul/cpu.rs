//! Planar complex product y = a ⊙ b, b repeating over a's leading rows.
use super::CmulKernel;
use crate::backend::cpu::PAR_MIN;
use crate::backend::Cpu;
use crate::ops::GradOut;
use crate::tensor::Real;
use crate::util::simd;
use crate::Result;
use rayon::prelude::*;

pub fn forward<E: Real>(a: &[E], b: &[E], y: &mut [E]) {
    simd::run(
        #[inline(always)]
        || forward_body(a, b, y),
    )
}

#[inline(always)]
fn forward_body<E: Real>(a: &[E], b: &[E], y: &mut [E]) {
    let m = b.len() / 2;
    let (br, bi) = b.split_at(m);
    for (yc, ac) in y.chunks_exact_mut(2 * m).zip(a.chunks_exact(2 * m)) {
        let (ar, ai) = ac.split_at(m);
        let (yr, yi) = yc.split_at_mut(m);
        for j in 0..m {
            yr[j] = ar[j] * br[j] - ai[j] * bi[j];
            yi[j] = ar[j] * bi[j] + ai[j] * br[j];
        }
    }
}

/// da += conj(b)·g;  db += Σ_rows conj(a)·g
pub fn backward<E: Real>(a: &[E], b: &[E], g: &[E], da: Option<&mut [E]>, db: Option<&mut [E]>) {
    simd::run(
        #[inline(always)]
        || backward_body(a, b, g, da, db),
    )
}

/// da = conj(b)·g, overwriting da (its old contents are not read).
pub fn backward_da_write<E: Real>(b: &[E], g: &[E], da: &mut [E]) {
    simd::run(
        #[inline(always)]
        || {
            let m = b.len() / 2;
            let (br, bi) = b.split_at(m);
            for (dc, gc) in da.chunks_exact_mut(2 * m).zip(g.chunks_exact(2 * m)) {
                let (gr, gi) = gc.split_at(m);
                let (dr, di) = dc.split_at_mut(m);
                for j in 0..m {
                    dr[j] = br[j] * gr[j] + bi[j] * gi[j];
                    di[j] = br[j] * gi[j] - bi[j] * gr[j];
                }
            }
        },
    )
}

#[inline(always)]
fn backward_body<E: Real>(a: &[E], b: &[E], g: &[E], da: Option<&mut [E]>, db: Option<&mut [E]>) {
    let m = b.len() / 2;
    let (br, bi) = b.split_at(m);
    if let Some(da) = da {
        for (dc, gc) in da.chunks_exact_mut(2 * m).zip(g.chunks_exact(2 * m)) {
            let (gr, gi) = gc.split_at(m);
            let (dr, di) = dc.split_at_mut(m);
            for j in 0..m {
                dr[j] += br[j] * gr[j] + bi[j] * gi[j];
                di[j] += br[j] * gi[j] - bi[j] * gr[j];
            }
        }
    }
    if let Some(db) = db {
        let (dr, di) = db.split_at_mut(m);
        for (ac, gc) in a.chunks_exact(2 * m).zip(g.chunks_exact(2 * m)) {
            let (ar, ai) = ac.split_at(m);
            let (gr, gi) = gc.split_at(m);
            for j in 0..m {
                dr[j] += ar[j] * gr[j] + ai[j] * gi[j];
                di[j] += ar[j] * gi[j] - ai[j] * gr[j];
            }
        }
    }
}

/// Rows per parallel task: large enough to amortise rayon, small enough to balance two cores.
const ROWS: usize = 512;

impl<E: Real> CmulKernel for Cpu<E> {
    fn cmul_fwd(
        &self,
        a: &Vec<E>,
        b: &Vec<E>,
        y: &mut Vec<E>,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        let (nb, n) = (2 * m, rows * 2 * m);
        let (a, b, y) = (&a[..n], &b[..nb], &mut y[..n]);
        if n >= PAR_MIN {
            y.par_chunks_mut(ROWS * nb)
                .zip(a.par_chunks(ROWS * nb))
                .for_each(|(y, a)| forward(a, b, y));
        } else {
            forward(a, b, y);
        }
        Ok(())
    }
    fn cmul_bwd(
        &self,
        a: &Vec<E>,
        b: &Vec<E>,
        g: &Vec<E>,
        da: GradOut<'_, Self>,
        db: Option<&mut Vec<E>>,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        let (nb, n) = (2 * m, rows * 2 * m);
        let (av, bv, g) = (&a[..n], &b[..nb], &g[..n]);
        let chunk = ROWS * nb;
        let ga_acc = da.as_ref().is_some_and(|d| d.1);
        let mut ga = da.map(|(d, _)| &mut d[..n]);
        let mut gb = db.map(|d| &mut d[..nb]);
        let da = |(d, g): (&mut [E], &[E])| {
            if ga_acc {
                backward(&[], bv, g, Some(d), None)
            } else {
                backward_da_write(bv, g, d)
            }
        };
        if n < PAR_MIN {
            if let Some(ga) = ga.as_deref_mut() {
                da((ga, g));
            }
            backward(av, bv, g, None, gb.as_deref_mut());
        } else {
            if let Some(ga) = ga {
                ga.par_chunks_mut(chunk)
                    .zip(g.par_chunks(chunk))
                    .for_each(da);
            }
            if let Some(gb) = gb {
                // Per-chunk partial sums, added in chunk order: deterministic.
                let parts: Vec<Vec<E>> = av
                    .par_chunks(chunk)
                    .zip(g.par_chunks(chunk))
                    .map(|(a, g)| {
                        let mut p = vec![E::zero(); nb];
                        backward(a, bv, g, None, Some(&mut p));
                        p
                    })
                    .collect();
                for p in parts {
                    gb.iter_mut().zip(&p).for_each(|(d, v)| *d += *v);
                }
            }
        }
        Ok(())
    }
}
