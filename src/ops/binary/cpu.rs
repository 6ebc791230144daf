//! Element-wise add and multiply where b repeats over a's leading axes (b's shape is a suffix of a's).
use super::{BinaryKernel, MulGrads};
use crate::backend::Cpu;
use crate::ops::PAR_MIN;
use crate::tensor::Real;
use crate::Result;
use rayon::prelude::*;

pub fn add<E: Real>(a: &[E], b: &[E], y: &mut [E]) {
    let body = |(y, a): (&mut [E], &[E])| {
        for (yc, ac) in y.chunks_exact_mut(b.len()).zip(a.chunks_exact(b.len())) {
            yc.iter_mut()
                .zip(ac)
                .zip(b)
                .for_each(|((y, a), b)| *y = *a + *b);
        }
    };
    // Blocks of whole repeats of b, so every block starts at b[0].
    if y.len() >= PAR_MIN && !b.is_empty() {
        let blk = b.len() * (1usize << 14).div_ceil(b.len());
        y.par_chunks_mut(blk).zip(a.par_chunks(blk)).for_each(body);
    } else {
        body((y, a));
    }
}

pub fn mul<E: Real>(a: &[E], b: &[E], y: &mut [E]) {
    for (yc, ac) in y.chunks_exact_mut(b.len()).zip(a.chunks_exact(b.len())) {
        yc.iter_mut()
            .zip(ac)
            .zip(b)
            .for_each(|((y, a), b)| *y = *a * *b);
    }
}

/// db += Σ_repeats g
pub fn reduce_repeats<E: Real>(g: &[E], db: &mut [E]) {
    for gc in g.chunks_exact(db.len()) {
        db.iter_mut().zip(gc).for_each(|(d, g)| *d += *g);
    }
}

/// da += g ⊙ b (b repeating); db += Σ_repeats g ⊙ a
pub fn mul_backward<E: Real>(
    a: &[E],
    b: &[E],
    g: &[E],
    da: Option<&mut [E]>,
    db: Option<&mut [E]>,
) {
    if let Some(da) = da {
        for (dc, gc) in da.chunks_exact_mut(b.len()).zip(g.chunks_exact(b.len())) {
            dc.iter_mut()
                .zip(gc)
                .zip(b)
                .for_each(|((d, g), b)| *d += *g * *b);
        }
    }
    if let Some(db) = db {
        for (ac, gc) in a.chunks_exact(b.len()).zip(g.chunks_exact(b.len())) {
            db.iter_mut()
                .zip(gc)
                .zip(ac)
                .for_each(|((d, g), a)| *d += *g * *a);
        }
    }
}

impl<E: Real> BinaryKernel for Cpu<E> {
    fn add_fwd(&self, a: &Vec<E>, b: &Vec<E>, y: &mut Vec<E>, n: usize, nb: usize) -> Result<()> {
        add(&a[..n], &b[..nb], &mut y[..n]);
        Ok(())
    }
    fn mul_fwd(&self, a: &Vec<E>, b: &Vec<E>, y: &mut Vec<E>, n: usize, nb: usize) -> Result<()> {
        mul(&a[..n], &b[..nb], &mut y[..n]);
        Ok(())
    }
    fn reduce_repeats(&self, g: &Vec<E>, db: &mut Vec<E>, n: usize, nb: usize) -> Result<()> {
        reduce_repeats(&g[..n], &mut db[..nb]);
        Ok(())
    }
    fn mul_bwd(&self, io: MulGrads<'_, Self>, n: usize, nb: usize) -> Result<()> {
        let da = io.da.map(|d| &mut d[..n]);
        let db = io.db.map(|d| &mut d[..nb]);
        mul_backward(&io.a[..n], &io.b[..nb], &io.g[..n], da, db);
        Ok(())
    }
    fn scale_fwd(&self, x: &Vec<E>, k: E, y: &mut Vec<E>, n: usize) -> Result<()> {
        y[..n]
            .iter_mut()
            .zip(&x[..n])
            .for_each(|(y, x)| *y = k * *x);
        Ok(())
    }
    fn scale_bwd(&self, g: &Vec<E>, k: E, dx: &mut Vec<E>, n: usize) -> Result<()> {
        dx[..n]
            .iter_mut()
            .zip(&g[..n])
            .for_each(|(d, g)| *d += k * *g);
        Ok(())
    }
}
