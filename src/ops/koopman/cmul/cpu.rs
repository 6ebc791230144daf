//! Planar complex product y = a ⊙ b, b repeating over a's leading rows.
use crate::tensor::Real;
use crate::util::simd;

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
