//! Broadcasting add and multiply, and scale, on the device (`elementwise.cu`).
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::elementwise::{
    add_bwd, add_fwd, mul_bwd, mul_fwd, scale_bwd, scale_fwd,
};
use crate::tensor::Real;
use crate::Result;

pub(crate) fn add<E: Real>(t: &mut Tape<E>, a: Var, b: Var) -> Result<Var> {
    let shape = t.shape(a);
    let (n, nb) = (shape.numel(), t.shape(b).numel());
    let mut y = t.dev_alloc(n)?;
    add_fwd(t.dev()?, &mut y, t.dev_value(a)?, t.dev_value(b)?, n, nb)?;
    Ok(t.push_dev(shape, y, Vec::new(), Op::Add { a, b }, &[a, b]))
}

pub(crate) fn mul<E: Real>(t: &mut Tape<E>, a: Var, b: Var) -> Result<Var> {
    let shape = t.shape(a);
    let (n, nb) = (shape.numel(), t.shape(b).numel());
    let mut y = t.dev_alloc(n)?;
    mul_fwd(t.dev()?, &mut y, t.dev_value(a)?, t.dev_value(b)?, n, nb)?;
    Ok(t.push_dev(shape, y, Vec::new(), Op::Mul { a, b }, &[a, b]))
}

/// Infallible like its CPU twin: a device failure is recorded on the tape (`push_fault`).
pub(crate) fn scale<E: Real>(t: &mut Tape<E>, x: Var, k: E) -> Var {
    let shape = t.shape(x);
    let op = Op::Scale { x, s: k };
    let run = |t: &mut Tape<E>| -> Result<_> {
        let mut y = t.dev_alloc(shape.numel())?;
        scale_fwd(
            t.dev()?,
            &mut y,
            t.dev_value(x)?,
            k.f64() as f32,
            shape.numel(),
        )?;
        Ok(y)
    };
    match run(t) {
        Ok(y) => t.push_dev(shape, y, Vec::new(), op, &[x]),
        Err(e) => t.push_fault(shape, op, &[x], e),
    }
}

pub(crate) fn add_backward<E: Real>(
    t: &Tape<E>,
    a: Var,
    b: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (n, nb) = (t.shape(a).numel(), t.shape(b).numel());
    let (mut ga, mut gb) = (s.take(a)?, s.take(b)?);
    add_bwd(t.dev()?, ga.as_mut(), gb.as_mut(), g, n, nb)?;
    s.put(a, ga)?;
    s.put(b, gb)
}

pub(crate) fn mul_backward<E: Real>(
    t: &Tape<E>,
    a: Var,
    b: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (n, nb) = (t.shape(a).numel(), t.shape(b).numel());
    let (mut ga, mut gb) = (s.take(a)?, s.take(b)?);
    let (av, bv) = (t.dev_value(a)?, t.dev_value(b)?);
    mul_bwd(t.dev()?, ga.as_mut(), gb.as_mut(), av, bv, g, n, nb)?;
    s.put(a, ga)?;
    s.put(b, gb)
}

pub(crate) fn scale_backward<E: Real>(
    t: &Tape<E>,
    x: Var,
    k: f32,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let Some(mut gx) = s.take(x)? else {
        return Ok(());
    };
    scale_bwd(t.dev()?, &mut gx, g, k, t.shape(x).numel())?;
    s.put(x, Some(gx))
}
