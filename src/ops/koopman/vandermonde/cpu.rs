//! V[i, k] = λ̄_i^k = e^{μΔtk}(cos ωΔtk + i sin ωΔtk), closed form: parallel and free of accumulated
//! rounding. The phase is reduced modulo 2π in f64 so large k·ω·Δt keep full accuracy.
use super::VandermondeKernel;
use crate::backend::Cpu;
use crate::ops::koopman::EigenGrads;
use crate::tensor::Real;
use crate::Result;
use std::f64::consts::TAU;

/// Layout of V: [2][m][K], all real parts, then all imaginary parts.
pub fn forward<E: Real>(mu: &[E], omega: &[E], log_dt: &[E], k_len: usize, v: &mut [E]) {
    let m = mu.len();
    for i in 0..m {
        let dt = log_dt[i % log_dt.len()].f64().exp();
        let (a, w) = (mu[i].f64() * dt, omega[i].f64() * dt);
        for k in 0..k_len {
            let kf = k as f64;
            let mag = (a * kf).exp();
            let (s, c) = (w * kf).rem_euclid(TAU).sin_cos();
            v[i * k_len + k] = E::of(mag * c);
            v[m * k_len + i * k_len + k] = E::of(mag * s);
        }
    }
}

/// dV/dμ = Δt k V, dV/dω = iΔt k V, dV/dΔt = λ k V; each contributes Re(conj(dV)·G).
#[allow(clippy::too_many_arguments)]
pub fn backward<E: Real>(
    mu: &[E],
    omega: &[E],
    log_dt: &[E],
    v: &[E],
    g: &[E],
    k_len: usize,
    mut dmu: Option<&mut [E]>,
    mut domega: Option<&mut [E]>,
    mut dlog_dt: Option<&mut [E]>,
) {
    let m = mu.len();
    for i in 0..m {
        let dt = log_dt[i % log_dt.len()].f64().exp();
        let (mu_i, om_i) = (mu[i].f64(), omega[i].f64());
        let (mut s_re, mut s_im, mut s_dt) = (0.0, 0.0, 0.0);
        for k in 0..k_len {
            let (vr, vi) = (v[i * k_len + k].f64(), v[m * k_len + i * k_len + k].f64());
            let (gr, gi) = (g[i * k_len + k].f64(), g[m * k_len + i * k_len + k].f64());
            let kf = k as f64;
            // conj(V)·G
            let (cr, ci) = (vr * gr + vi * gi, vr * gi - vi * gr);
            s_re += kf * cr;
            s_im += kf * ci;
            // Re(conj(λ)·conj(V)·G) = μ·Re(conj(V)G) + ω·Im(conj(V)G)
            s_dt += kf * (mu_i * cr + om_i * ci);
        }
        if let Some(d) = dmu.as_deref_mut() {
            d[i] += E::of(dt * s_re);
        }
        if let Some(d) = domega.as_deref_mut() {
            d[i] += E::of(dt * s_im);
        }
        if let Some(d) = dlog_dt.as_deref_mut() {
            d[i % d.len()] += E::of(dt * s_dt);
        }
    }
}

impl<E: Real> VandermondeKernel for Cpu<E> {
    fn vandermonde_fwd(
        &self,
        mu: &Vec<E>,
        omega: &Vec<E>,
        log_dt: &Vec<E>,
        v: &mut Vec<E>,
        m: usize,
        k_len: usize,
        nd: usize,
    ) -> Result<()> {
        forward(
            &mu[..m],
            &omega[..m],
            &log_dt[..nd],
            k_len,
            &mut v[..2 * m * k_len],
        );
        Ok(())
    }
    fn vandermonde_bwd(
        &self,
        mu: &Vec<E>,
        omega: &Vec<E>,
        log_dt: &Vec<E>,
        v: &Vec<E>,
        g: &Vec<E>,
        d: EigenGrads<'_, Self>,
        m: usize,
        k_len: usize,
        nd: usize,
    ) -> Result<()> {
        let n = 2 * m * k_len;
        backward(
            &mu[..m],
            &omega[..m],
            &log_dt[..nd],
            &v[..n],
            &g[..n],
            k_len,
            d.dmu.map(|v| &mut v[..m]),
            d.domega.map(|v| &mut v[..m]),
            Some(&mut d.dlog_dt[..nd]),
        );
        Ok(())
    }
}
