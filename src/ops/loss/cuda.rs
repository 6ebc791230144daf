//! Mean squared error on the device (`loss.cu`): deterministic partial sums, then one block.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::loss::{mse_bwd, mse_fwd};
use crate::tensor::{Real, Shape};
use crate::Result;

pub(crate) fn mse<E: Real>(t: &mut Tape<E>, a: Var, b: Var) -> Result<Var> {
    let n = t.shape(a).numel();
    let mut y = t.dev_alloc(1)?;
    mse_fwd(t.dev()?, &mut y, t.dev_value(a)?, t.dev_value(b)?, n)?;
    Ok(t.push_dev(Shape::new(&[]), y, Vec::new(), Op::Mse { a, b }, &[a, b]))
}

pub(crate) fn mse_backward<E: Real>(
    t: &Tape<E>,
    a: Var,
    b: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let n = t.shape(a).numel();
    let dev = t.dev()?;
    let (ga, gb) = (s.take(a)?, s.take(b)?);
    let (av, bv) = (t.dev_value(a)?, t.dev_value(b)?);
    match (ga, gb) {
        (Some(mut ga), mut gb) => {
            mse_bwd(dev, &mut ga, gb.as_mut(), av, bv, g, n)?;
            s.put(a, Some(ga))?;
            s.put(b, gb)
        }
        // (b − a)² is the same loss: b takes the role of the prediction.
        (None, Some(mut gb)) => {
            mse_bwd(dev, &mut gb, None, bv, av, g, n)?;
            s.put(b, Some(gb))
        }
        (None, None) => Ok(()),
    }
}
