//! Layer normalisation over the last axis: y = (x − mean)·rstd·γ + β, saving mean and rstd (llm.c style).
use super::{LayerNormGrads, LayerNormKernel};
use crate::backend::Cpu;
use crate::tensor::Real;
use crate::Result;

pub const EPS: f64 = 1e-5;

pub fn forward<E: Real>(
    x: &[E],
    gamma: &[E],
    beta: &[E],
    y: &mut [E],
    mean: &mut [E],
    rstd: &mut [E],
) {
    let d = gamma.len();
    let inv_d = E::one() / E::of(d as f64);
    for (r, (xr, yr)) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)).enumerate() {
        let m = xr.iter().copied().sum::<E>() * inv_d;
        let var = xr.iter().map(|&v| (v - m) * (v - m)).sum::<E>() * inv_d;
        let rs = E::one() / (var + E::of(EPS)).sqrt();
        for i in 0..d {
            yr[i] = (xr[i] - m) * rs * gamma[i] + beta[i];
        }
        mean[r] = m;
        rstd[r] = rs;
    }
}

#[allow(clippy::too_many_arguments)]
pub fn backward<E: Real>(
    x: &[E],
    gamma: &[E],
    mean: &[E],
    rstd: &[E],
    g: &[E],
    mut dx: Option<&mut [E]>,
    mut dgamma: Option<&mut [E]>,
    mut dbeta: Option<&mut [E]>,
) {
    let d = gamma.len();
    let inv_d = E::one() / E::of(d as f64);
    for (r, (xr, gr)) in x.chunks_exact(d).zip(g.chunks_exact(d)).enumerate() {
        let (m, rs) = (mean[r], rstd[r]);
        // dnorm = g·γ; dx = rstd·(dnorm − mean(dnorm) − xhat·mean(dnorm·xhat))
        let mut mean_dn = E::zero();
        let mut mean_dn_xhat = E::zero();
        for i in 0..d {
            let xhat = (xr[i] - m) * rs;
            let dn = gr[i] * gamma[i];
            mean_dn += dn;
            mean_dn_xhat += dn * xhat;
            if let Some(dg) = dgamma.as_deref_mut() {
                dg[i] += gr[i] * xhat;
            }
            if let Some(db) = dbeta.as_deref_mut() {
                db[i] += gr[i];
            }
        }
        mean_dn *= inv_d;
        mean_dn_xhat *= inv_d;
        if let Some(dx) = dx.as_deref_mut() {
            let dxr = &mut dx[r * d..(r + 1) * d];
            for i in 0..d {
                let xhat = (xr[i] - m) * rs;
                dxr[i] += rs * (gr[i] * gamma[i] - mean_dn - xhat * mean_dn_xhat);
            }
        }
    }
}

impl<E: Real> LayerNormKernel for Cpu<E> {
    fn layernorm_fwd(
        &self,
        x: &Vec<E>,
        gamma: &Vec<E>,
        beta: &Vec<E>,
        y: &mut Vec<E>,
        mean: &mut Vec<E>,
        rstd: &mut Vec<E>,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        let n = rows * cols;
        forward(
            &x[..n],
            &gamma[..cols],
            &beta[..cols],
            &mut y[..n],
            &mut mean[..rows],
            &mut rstd[..rows],
        );
        Ok(())
    }
    fn layernorm_bwd(&self, io: LayerNormGrads<'_, Self>, rows: usize, cols: usize) -> Result<()> {
        let n = rows * cols;
        let (dg, db) = match io.dgamma_dbeta {
            Some((dg, db)) => (Some(&mut dg[..cols]), Some(&mut db[..cols])),
            None => (None, None),
        };
        backward(
            &io.x[..n],
            &io.gamma[..cols],
            &io.mean[..rows],
            &io.rstd[..rows],
            &io.g[..n],
            io.dx.map(|d| &mut d[..n]),
            dg,
            db,
        );
        Ok(())
    }
}
