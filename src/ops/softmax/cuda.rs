//! Row softmax (plain or causal) on the device (`reduce.cu`).
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::softmax::{softmax_bwd, softmax_fwd};
use crate::tensor::Real;
use crate::Result;

pub(crate) fn softmax<E: Real>(t: &mut Tape<E>, x: Var, causal: bool) -> Result<Var> {
    let shape = t.shape(x);
    let (rows, cols) = (shape.rows(), shape.last());
    let mut y = t.dev_alloc(shape.numel())?;
    softmax_fwd(t.dev()?, &mut y, t.dev_value(x)?, rows, cols, causal)?;
    Ok(t.push_dev(shape, y, Vec::new(), Op::Softmax { x, causal }, &[x]))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    x: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let Some(mut gx) = s.take(x)? else {
        return Ok(());
    };
    let shape = t.shape(x);
    softmax_bwd(
        t.dev()?,
        &mut gx,
        t.dev_value(y)?,
        g,
        shape.rows(),
        shape.last(),
    )?;
    s.put(x, Some(gx))
}
