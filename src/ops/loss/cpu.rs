//! Mean squared error on the CPU: the sum of squares in f64.
use super::LossKernel;
use crate::backend::cpu::PAR_MIN;
use crate::backend::Cpu;
use crate::ops::GradOut;
use crate::tensor::Real;
use crate::util::simd;
use crate::Result;
use rayon::prelude::*;

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

/// d (+)= sign · (x − y)
fn diff_into<E: Real>(x: &[E], y: &[E], sign: E, d: &mut [E], acc: bool) {
    let body = |(d, (x, y)): (&mut [E], (&[E], &[E]))| {
        let it = d.iter_mut().zip(x.iter().zip(y));
        if acc {
            it.for_each(|(d, (x, y))| *d += sign * (*x - *y));
        } else {
            it.for_each(|(d, (x, y))| *d = sign * (*x - *y));
        }
    };
    if d.len() >= PAR_MIN {
        d.par_chunks_mut(4096)
            .zip(x.par_chunks(4096).zip(y.par_chunks(4096)))
            .for_each(body);
    } else {
        body((d, (x, y)));
    }
}

impl<E: Real> LossKernel for Cpu<E> {
    fn mse_fwd(&self, a: &Vec<E>, b: &Vec<E>, y: &mut Vec<E>, n: usize) -> Result<()> {
        let (a, b) = (&a[..n], &b[..n]);
        let total: f64 = if n >= PAR_MIN {
            a.par_chunks(4096)
                .zip(b.par_chunks(4096))
                .map(|(x, y)| sq_sum(x, y))
                .sum()
        } else {
            sq_sum(a, b)
        };
        y[0] = E::of(total / n as f64);
        Ok(())
    }
    fn mse_bwd(
        &self,
        a: &Vec<E>,
        b: &Vec<E>,
        g: &Vec<E>,
        da: GradOut<'_, Self>,
        db: GradOut<'_, Self>,
        n: usize,
    ) -> Result<()> {
        let k = E::of(2.0) * g[0] / E::of(n as f64);
        let (a, b) = (&a[..n], &b[..n]);
        if let Some((d, acc)) = da {
            diff_into(a, b, k, &mut d[..n], acc);
        }
        if let Some((d, acc)) = db {
            diff_into(a, b, -k, &mut d[..n], acc);
        }
        Ok(())
    }
}
