//! ZOH discretisation per mode, computed in f64 (only m values, so precision is free).
use super::ZohKernel;
use crate::backend::Cpu;
use crate::ops::koopman::EigenGrads;
use crate::tensor::Real;
use crate::Result;
use num_complex::Complex64 as C;

/// Below this |λΔt| the gain uses its Taylor series: (e^z − 1)/λ loses all digits as λ → 0.
const SERIES_BELOW: f64 = 1e-4;

/// (λ̄, b, db/dλ) for one mode.
pub fn mode(mu: f64, omega: f64, dt: f64) -> (C, C, C) {
    let lam = C::new(mu, omega);
    let z = lam * dt;
    let lbar = z.exp();
    if z.norm() < SERIES_BELOW {
        let b = dt * (1.0 + z / 2.0 + z * z / 6.0);
        let db = dt * dt * (0.5 + z / 3.0 + z * z / 8.0);
        (lbar, b, db)
    } else {
        let b = (lbar - 1.0) / lam;
        (lbar, b, (dt * lbar - b) / lam)
    }
}

/// out = [λ̄ (re m, im m) ; b (re m, im m)]. `log_dt` has 1 (shared) or m values.
pub fn forward<E: Real>(mu: &[E], omega: &[E], log_dt: &[E], out: &mut [E]) {
    let m = mu.len();
    for i in 0..m {
        let dt = log_dt[i % log_dt.len()].f64().exp();
        let (lbar, b, _) = mode(mu[i].f64(), omega[i].f64(), dt);
        out[i] = E::of(lbar.re);
        out[m + i] = E::of(lbar.im);
        out[2 * m + i] = E::of(b.re);
        out[3 * m + i] = E::of(b.im);
    }
}

/// Chain rule through λ̄(μ, ω, Δt) and b(μ, ω, Δt), given G = [G_λ̄ ; G_b] in the same layout as `out`.
#[allow(clippy::too_many_arguments)]
pub fn backward<E: Real>(
    mu: &[E],
    omega: &[E],
    log_dt: &[E],
    g: &[E],
    mut dmu: Option<&mut [E]>,
    mut domega: Option<&mut [E]>,
    mut dlog_dt: Option<&mut [E]>,
) {
    let m = mu.len();
    for i in 0..m {
        let dt = log_dt[i % log_dt.len()].f64().exp();
        let (mu_i, om_i) = (mu[i].f64(), omega[i].f64());
        let (lbar, _b, db) = mode(mu_i, om_i, dt);
        let gl = C::new(g[i].f64(), g[m + i].f64());
        let gb = C::new(g[2 * m + i].f64(), g[3 * m + i].f64());
        // dλ̄/dμ = Δt λ̄, dλ̄/dω = iΔt λ̄, db/dμ = b', db/dω = i b'  →  Re / Im of conj(·)·G.
        let s = dt * lbar.conj() * gl + db.conj() * gb;
        if let Some(d) = dmu.as_deref_mut() {
            d[i] += E::of(s.re);
        }
        if let Some(d) = domega.as_deref_mut() {
            d[i] += E::of(s.im);
        }
        if let Some(d) = dlog_dt.as_deref_mut() {
            // dλ̄/dΔt = λ λ̄, db/dΔt = λ̄; d/dlogΔt = Δt · d/dΔt.
            let lam = C::new(mu_i, om_i);
            let ddt = ((lam * lbar).conj() * gl + lbar.conj() * gb).re;
            d[i % d.len()] += E::of(dt * ddt);
        }
    }
}

impl<E: Real> ZohKernel for Cpu<E> {
    fn zoh_fwd(
        &self,
        mu: &Vec<E>,
        omega: &Vec<E>,
        log_dt: &Vec<E>,
        out: &mut Vec<E>,
        m: usize,
        nd: usize,
    ) -> Result<()> {
        forward(&mu[..m], &omega[..m], &log_dt[..nd], &mut out[..4 * m]);
        Ok(())
    }
    fn zoh_bwd(
        &self,
        mu: &Vec<E>,
        omega: &Vec<E>,
        log_dt: &Vec<E>,
        g: &Vec<E>,
        d: EigenGrads<'_, Self>,
        m: usize,
        nd: usize,
    ) -> Result<()> {
        backward(
            &mu[..m],
            &omega[..m],
            &log_dt[..nd],
            &g[..4 * m],
            d.dmu.map(|v| &mut v[..m]),
            d.domega.map(|v| &mut v[..m]),
            Some(&mut d.dlog_dt[..nd]),
        );
        Ok(())
    }
}
