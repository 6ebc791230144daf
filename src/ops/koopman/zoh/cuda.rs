//! ZOH discretisation on the device: the kernel writes the op's [2, 2m] value (λ̄, then the gain)
//! in place, and its backward reads the stacked gradient the same way.
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
    let mut y = t.dev_alloc(4 * m)?;
    let (mv, ov, dv) = (t.dev_value(mu)?, t.dev_value(omega)?, t.dev_value(log_dt)?);
    zoh_fwd(t.dev()?, &mut y, mv, ov, dv, m)?;
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
    let (mut gm, mut go, mut gd) = (s.take(mu)?, s.take(omega)?, s.any(log_dt)?);
    zoh_bwd(
        t.dev()?,
        gm.as_mut(),
        go.as_mut(),
        &mut gd,
        g,
        t.dev_value(mu)?,
        t.dev_value(omega)?,
        t.dev_value(log_dt)?,
        m,
    )?;
    s.put(mu, gm)?;
    s.put(omega, go)?;
    s.put(log_dt, Some(gd))
}
