//! Row-wise L2 normalisation: the plain loops, rows in parallel when the tensor is large.
use super::L2NormKernel;
use crate::backend::Cpu;
use crate::ops::PAR_MIN;
use crate::tensor::Real;
use crate::Result;
use rayon::prelude::*;

/// One row: y = x / max(‖x‖, eps); returns ‖x‖.
pub fn forward_row<E: Real>(x: &[E], y: &mut [E], eps: E) -> E {
    let norm = x.iter().fold(E::zero(), |s, &v| s + v * v).sqrt();
    let inv = E::one() / norm.max(eps);
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = x * inv);
    norm
}

/// One row: dx += (g − y·⟨g, y⟩) / ‖x‖, or g / eps where ‖x‖ ≤ eps.
pub fn backward_row<E: Real>(y: &[E], norm: E, g: &[E], dx: &mut [E], eps: E) {
    if norm > eps {
        let gy = g.iter().zip(y).fold(E::zero(), |s, (&g, &y)| s + g * y);
        let inv = E::one() / norm;
        for ((d, &g), &y) in dx.iter_mut().zip(g).zip(y) {
            *d += (g - y * gy) * inv;
        }
    } else {
        let inv = E::one() / eps;
        dx.iter_mut().zip(g).for_each(|(d, &g)| *d += g * inv);
    }
}

impl<E: Real> L2NormKernel for Cpu<E> {
    fn l2norm_fwd(
        &self,
        x: &Vec<E>,
        y: &mut Vec<E>,
        norm: &mut Vec<E>,
        eps: E,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let (x, y, norm) = (&x[..rows * cols], &mut y[..rows * cols], &mut norm[..rows]);
        let row = |((x, y), n): ((&[E], &mut [E]), &mut E)| *n = forward_row(x, y, eps);
        if x.len() >= PAR_MIN {
            x.par_chunks(cols)
                .zip(y.par_chunks_mut(cols))
                .zip(norm.par_iter_mut())
                .for_each(row);
        } else {
            x.chunks(cols)
                .zip(y.chunks_mut(cols))
                .zip(norm.iter_mut())
                .for_each(row);
        }
        Ok(())
    }
    fn l2norm_bwd(
        &self,
        y: &Vec<E>,
        norm: &Vec<E>,
        g: &Vec<E>,
        dx: &mut Vec<E>,
        eps: E,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let (y, g, norm) = (&y[..rows * cols], &g[..rows * cols], &norm[..rows]);
        let row = |(r, dx): (usize, &mut [E])| {
            let at = r * cols..(r + 1) * cols;
            backward_row(&y[at.clone()], norm[r], &g[at], dx, eps)
        };
        let dx = &mut dx[..rows * cols];
        if dx.len() >= PAR_MIN {
            dx.par_chunks_mut(cols).enumerate().for_each(row);
        } else {
            dx.chunks_mut(cols).enumerate().for_each(row);
        }
        Ok(())
    }
}
