//! The gain applied to the encoded actions on the device: c = gain ⊙ u, gain [2m] broadcast.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::koopman::{cmul_gain_bwd, cmul_gain_fwd};
use crate::tensor::Real;
use crate::Result;

pub(crate) fn cmul<E: Real>(t: &mut Tape<E>, a: Var, b: Var) -> Result<Var> {
    let sa = t.shape(a);
    let m = t.shape(b).numel() / 2;
    let rows = sa.numel() / (2 * m);
    let mut y = t.dev_alloc(sa.numel())?;
    cmul_gain_fwd(t.dev()?, &mut y, t.dev_value(a)?, t.dev_value(b)?, rows, m)?;
    Ok(t.push_dev(sa, y, Vec::new(), Op::CMul { a, b }, &[a, b]))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    a: Var,
    b: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    if !s.needs[a.index()] && !s.needs[b.index()] {
        return Ok(());
    }
    let m = t.shape(b).numel() / 2;
    let rows = t.shape(a).numel() / (2 * m);
    // The launcher writes both gradients; an unneeded one goes to scratch and back to the pool.
    let (mut ga, mut gb) = (s.any(a)?, s.any(b)?);
    cmul_gain_bwd(
        t.dev()?,
        &mut ga,
        &mut gb,
        g,
        t.dev_value(a)?,
        t.dev_value(b)?,
        rows,
        m,
    )?;
    s.put(a, Some(ga))?;
    s.put(b, Some(gb))
}
