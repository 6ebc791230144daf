//! The Koopman model's ops: ZOH discretisation, the Vandermonde matrix, the complex gain product,
//! and the two ways to roll the diagonal operator out over a horizon (scan and convolution).
pub mod cconv;
pub mod cmul;
pub mod scan;
pub mod vandermonde;
pub mod zoh;

use crate::autodiff::{Tape, Var};
use crate::backend::Backend;
use crate::{shape_err, Result};

/// The eigenvalue parameters' gradients (`None`: not needed). The kernels write the Δt gradient
/// in any case: `dlog_dt` is always present.
pub struct EigenGrads<'a, B: Backend> {
    pub dmu: Option<&'a mut B::Buf>,
    pub domega: Option<&'a mut B::Buf>,
    pub dlog_dt: &'a mut B::Buf,
}

/// μ[m], ω[m], log Δt ([1] shared or [m] per mode): checks and returns (m, Δt count).
fn check_eigen<B: Backend>(
    t: &Tape<'_, B>,
    name: &str,
    mu: Var,
    omega: Var,
    log_dt: Var,
) -> Result<(usize, usize)> {
    let m = t.shape(mu).numel();
    let nd = t.shape(log_dt).numel();
    if t.shape(omega).numel() != m || !(nd == 1 || nd == m) || m == 0 {
        return Err(shape_err!(
            "{name}: mu {:?}, omega {:?}, log_dt {:?} (need m, m, and 1 or m)",
            t.shape(mu),
            t.shape(omega),
            t.shape(log_dt)
        ));
    }
    Ok((m, nd))
}

/// Checks z0 [B, 2m] against c [B, T, 2m]; returns (B, T, 2m).
fn check_sequence<B: Backend>(
    t: &Tape<'_, B>,
    name: &str,
    z0: Var,
    c: Var,
) -> Result<(usize, usize, usize)> {
    let (sz, sc) = (t.shape(z0), t.shape(c));
    let (dz, dc) = (sz.dims(), sc.dims());
    if dz.len() != 2 || dc.len() != 3 || dz[0] != dc[0] || dz[1] != dc[2] || dz[1] % 2 != 0 {
        return Err(shape_err!(
            "{name}: z0 {sz:?} and c {sc:?} (need z0 [B, 2m], c [B, T, 2m])"
        ));
    }
    Ok((dc[0], dc[1], dc[2]))
}
