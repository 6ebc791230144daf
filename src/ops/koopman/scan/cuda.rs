//! The sequential scan on the device: one thread per (sequence, mode), reverse-time adjoint
//! backward, deterministic λ̄ gradient (`koopman.cu`).
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::koopman::{scan_bwd, scan_fwd};
use crate::tensor::{Real, Shape};
use crate::Result;

pub(crate) fn scan<E: Real>(t: &mut Tape<E>, z0: Var, c: Var, lbar: Var) -> Result<Var> {
    let (b, tl, m2) = (t.dims(c)[0], t.dims(c)[1], t.dims(c)[2]);
    let mut x = t.dev_alloc(b * tl * m2)?;
    let (zv, cv, lv) = (t.dev_value(z0)?, t.dev_value(c)?, t.dev_value(lbar)?);
    scan_fwd(t.dev()?, &mut x, zv, cv, lv, b, tl, m2 / 2)?;
    let shape = Shape::new(&[b, tl, m2]);
    Ok(t.push_dev(
        shape,
        x,
        Vec::new(),
        Op::Scan { z0, c, lbar },
        &[z0, c, lbar],
    ))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    z0: Var,
    c: Var,
    lbar: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (b, tl, m2) = (t.dims(c)[0], t.dims(c)[1], t.dims(c)[2]);
    let (mut gz, mut gc, mut gl) = (s.any(z0)?, s.any(c)?, s.any(lbar)?);
    scan_bwd(
        t.dev()?,
        &mut gz,
        &mut gc,
        &mut gl,
        g,
        t.dev_value(y)?,
        t.dev_value(z0)?,
        t.dev_value(lbar)?,
        b,
        tl,
        m2 / 2,
    )?;
    s.put(z0, Some(gz))?;
    s.put(c, Some(gc))?;
    s.put(lbar, Some(gl))
}
