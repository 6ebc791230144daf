//! Activations on the device (`elementwise.cu`).
use super::Unary;
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::elementwise::{unary_bwd, unary_fwd};
use crate::tensor::Real;
use crate::Result;

/// Infallible like its CPU twin: a device failure is recorded on the tape (`push_fault`).
pub(crate) fn unary<E: Real>(t: &mut Tape<E>, x: Var, kind: Unary) -> Var {
    let shape = t.shape(x);
    let run = |t: &mut Tape<E>| -> Result<_> {
        let mut y = t.dev_alloc(shape.numel())?;
        unary_fwd(t.dev()?, kind, &mut y, t.dev_value(x)?, shape.numel())?;
        Ok(y)
    };
    match run(t) {
        Ok(y) => t.push_dev(shape, y, Vec::new(), Op::Unary { x, kind }, &[x]),
        Err(e) => t.push_fault(shape, Op::Unary { x, kind }, &[x], e),
    }
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    x: Var,
    kind: Unary,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let Some(mut gx) = s.take(x)? else {
        return Ok(());
    };
    let n = t.shape(x).numel();
    unary_bwd(
        t.dev()?,
        kind,
        &mut gx,
        t.dev_value(x)?,
        t.dev_value(y)?,
        g,
        n,
    )?;
    s.put(x, Some(gx))
}
