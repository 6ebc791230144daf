//! The fused free response + causal convolution on the device (`koopman.cu`).
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::koopman::{cconv_bwd, cconv_fwd};
use crate::tensor::{Real, Shape};
use crate::Result;

pub(crate) fn cconv<E: Real>(t: &mut Tape<E>, z0: Var, c: Var, v: Var) -> Result<Var> {
    let (b, tl, m2) = (t.dims(c)[0], t.dims(c)[1], t.dims(c)[2]);
    let k_len = t.dims(v)[2];
    let mut x = t.dev_alloc(b * tl * m2)?;
    let (zv, cv, vv) = (t.dev_value(z0)?, t.dev_value(c)?, t.dev_value(v)?);
    cconv_fwd(t.dev()?, &mut x, zv, cv, vv, b, tl, m2 / 2, k_len)?;
    let shape = Shape::new(&[b, tl, m2]);
    Ok(t.push_dev(shape, x, Vec::new(), Op::CConv { z0, c, v }, &[z0, c, v]))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    z0: Var,
    c: Var,
    v: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (b, tl, m2) = (t.dims(c)[0], t.dims(c)[1], t.dims(c)[2]);
    let k_len = t.dims(v)[2];
    let (mut gz, mut gc, mut gv) = (s.any(z0)?, s.any(c)?, s.any(v)?);
    cconv_bwd(
        t.dev()?,
        &mut gz,
        &mut gc,
        &mut gv,
        g,
        t.dev_value(z0)?,
        t.dev_value(c)?,
        t.dev_value(v)?,
        b,
        tl,
        m2 / 2,
        k_len,
    )?;
    s.put(z0, Some(gz))?;
    s.put(c, Some(gc))?;
    s.put(v, Some(gv))
}
