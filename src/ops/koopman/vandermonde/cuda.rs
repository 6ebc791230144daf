//! The Vandermonde matrix on the device (`koopman.cu`), with its deterministic backward.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::koopman::{vandermonde_bwd, vandermonde_fwd};
use crate::tensor::{Real, Shape};
use crate::Result;

pub(crate) fn vandermonde<E: Real>(
    t: &mut Tape<E>,
    mu: Var,
    omega: Var,
    log_dt: Var,
    k_len: usize,
) -> Result<Var> {
    crate::ops::koopman::zoh::cuda::shared_dt(t, "vandermonde", log_dt)?;
    let m = t.shape(mu).numel();
    let mut v = t.dev_alloc(2 * m * k_len)?;
    let (mv, ov, dv) = (t.dev_value(mu)?, t.dev_value(omega)?, t.dev_value(log_dt)?);
    vandermonde_fwd(t.dev()?, &mut v, mv, ov, dv, m, k_len)?;
    let op = Op::Vandermonde { mu, omega, log_dt };
    Ok(t.push_dev(
        Shape::new(&[2, m, k_len]),
        v,
        Vec::new(),
        op,
        &[mu, omega, log_dt],
    ))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    mu: Var,
    omega: Var,
    log_dt: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (m, k_len) = (t.dims(y)[1], t.dims(y)[2]);
    let (mut gm, mut go, mut gd) = (s.take(mu)?, s.take(omega)?, s.any(log_dt)?);
    vandermonde_bwd(
        t.dev()?,
        gm.as_mut(),
        go.as_mut(),
        &mut gd,
        g,
        t.dev_value(mu)?,
        t.dev_value(omega)?,
        t.dev_value(log_dt)?,
        m,
        k_len,
    )?;
    s.put(mu, gm)?;
    s.put(omega, go)?;
    s.put(log_dt, Some(gd))
}
