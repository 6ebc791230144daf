//! ZOH discretisation on the device. The kernel writes λ̄ and the gain as two [2m] vectors; the
//! op's value is their [2, 2m] stack, so both are staged through small scratch buffers.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::koopman::{zoh_bwd, zoh_fwd};
use crate::tensor::{Real, Shape};
use crate::{Error, Result};

/// The CUDA kernels of `zoh` and `vandermonde` take one shared Δt; a per-mode Δt is CPU-only.
pub(crate) fn shared_dt<E: Real>(t: &Tape<E>, op: &str, log_dt: Var) -> Result<()> {
    if t.shape(log_dt).numel() != 1 {
        return Err(Error::Device(format!(
            "{op}: a per-mode Δt runs on the CPU only (the CUDA kernel takes one shared Δt)"
        )));
    }
    Ok(())
}

pub(crate) fn zoh<E: Real>(t: &mut Tape<E>, mu: Var, omega: Var, log_dt: Var) -> Result<Var> {
    shared_dt(t, "zoh", log_dt)?;
    let m = t.shape(mu).numel();
    let (mut lbar, mut gain) = (t.dev_alloc(2 * m)?, t.dev_alloc(2 * m)?);
    let mut y = t.dev_alloc(4 * m)?;
    let dev = t.dev()?;
    let (mv, ov, dv) = (t.dev_value(mu)?, t.dev_value(omega)?, t.dev_value(log_dt)?);
    zoh_fwd(dev, &mut lbar, &mut gain, mv, ov, dv, m)?;
    dev.stream()
        .memcpy_dtod(&lbar, &mut y.slice_mut(0..2 * m))?;
    dev.stream()
        .memcpy_dtod(&gain, &mut y.slice_mut(2 * m..4 * m))?;
    t.dev_give(lbar);
    t.dev_give(gain);
    let op = Op::Zoh { mu, omega, log_dt };
    Ok(t.push_dev(
        Shape::new(&[2, 2 * m]),
        y,
        Vec::new(),
        op,
        &[mu, omega, log_dt],
    ))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    mu: Var,
    omega: Var,
    log_dt: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let m = t.shape(mu).numel();
    let dev = t.dev()?;
    let (mut g_lbar, mut g_gain) = (s.scratch(2 * m)?, s.scratch(2 * m)?);
    dev.stream().memcpy_dtod(&g.slice(0..2 * m), &mut g_lbar)?;
    dev.stream()
        .memcpy_dtod(&g.slice(2 * m..4 * m), &mut g_gain)?;
    let (mut gm, mut go, mut gd) = (s.take(mu)?, s.take(omega)?, s.any(log_dt)?);
    zoh_bwd(
        dev,
        gm.as_mut(),
        go.as_mut(),
        &mut gd,
        &g_lbar,
        &g_gain,
        t.dev_value(mu)?,
        t.dev_value(omega)?,
        t.dev_value(log_dt)?,
        m,
    )?;
    s.give(g_lbar);
    s.give(g_gain);
    s.put(mu, gm)?;
    s.put(omega, go)?;
    s.put(log_dt, Some(gd))
}
