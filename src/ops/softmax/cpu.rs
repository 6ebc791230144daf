//! Softmax over the last axis; with `causal`, rows are [.., T, T] and row t sees columns 0..=t only.
use super::SoftmaxKernel;
use crate::backend::Cpu;
use crate::tensor::Real;
use crate::Result;

pub fn forward<E: Real>(x: &[E], y: &mut [E], n: usize, causal: bool) {
    for (r, (xr, yr)) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)).enumerate() {
        let visible = if causal { (r % n) + 1 } else { n };
        let mx = xr[..visible]
            .iter()
            .copied()
            .fold(E::neg_infinity(), E::max);
        let mut sum = E::zero();
        for j in 0..visible {
            yr[j] = (xr[j] - mx).exp();
            sum += yr[j];
        }
        let inv = E::one() / sum;
        yr[..visible].iter_mut().for_each(|v| *v *= inv);
        yr[visible..].iter_mut().for_each(|v| *v = E::zero());
    }
}

/// dx += y ⊙ (g − Σ g⊙y); masked entries have y = 0 and get nothing.
pub fn backward<E: Real>(y: &[E], g: &[E], dx: &mut [E], n: usize) {
    for ((yr, gr), dr) in y
        .chunks_exact(n)
        .zip(g.chunks_exact(n))
        .zip(dx.chunks_exact_mut(n))
    {
        let dot: E = yr.iter().zip(gr).map(|(y, g)| *y * *g).sum();
        for j in 0..n {
            dr[j] += yr[j] * (gr[j] - dot);
        }
    }
}

impl<E: Real> SoftmaxKernel for Cpu<E> {
    fn softmax_fwd(
        &self,
        x: &Vec<E>,
        y: &mut Vec<E>,
        rows: usize,
        cols: usize,
        causal: bool,
    ) -> Result<()> {
        forward(&x[..rows * cols], &mut y[..rows * cols], cols, causal);
        Ok(())
    }
    fn softmax_bwd(
        &self,
        y: &Vec<E>,
        g: &Vec<E>,
        dx: &mut Vec<E>,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let n = rows * cols;
        backward(&y[..n], &g[..n], &mut dx[..n], cols);
        Ok(())
    }
}
