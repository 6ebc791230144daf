//! Sum and mean to a scalar on the device: a deterministic two-pass column sum over one column.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::elementwise::scale_fwd;
use crate::backend::cuda::launch::optim::scale_inplace;
use crate::backend::cuda::launch::reduce::{sum_cols, sum_cols_bwd};
use crate::tensor::{Real, Shape};
use crate::Result;

/// Sum (`mean` false) or mean of every element. Infallible like its CPU twin (`push_fault`).
pub(crate) fn reduce<E: Real>(t: &mut Tape<E>, x: Var, mean: bool) -> Var {
    let n = t.shape(x).numel();
    let op = if mean { Op::Mean { x } } else { Op::Sum { x } };
    let run = |t: &mut Tape<E>| -> Result<_> {
        let mut y = t.dev_alloc(1)?;
        let dev = t.dev()?;
        sum_cols(dev, &mut y, t.dev_value(x)?, None, n, 1, false)?;
        if mean {
            scale_inplace(dev, &mut y, 1.0 / n.max(1) as f32, 1)?;
        }
        Ok(y)
    };
    match run(t) {
        Ok(y) => t.push_dev(Shape::new(&[]), y, Vec::new(), op, &[x]),
        Err(e) => t.push_fault(Shape::new(&[]), op, &[x], e),
    }
}

/// dx += k·g[0] for every element (k = 1 for sum, 1/n for mean).
pub(crate) fn sum_backward<E: Real>(
    t: &Tape<E>,
    x: Var,
    k: f32,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let Some(mut gx) = s.take(x)? else {
        return Ok(());
    };
    let dev = t.dev()?;
    let mut kg = s.scratch(1)?;
    scale_fwd(dev, &mut kg, g, k, 1)?;
    sum_cols_bwd(dev, &mut gx, &kg, t.shape(x).numel(), 1)?;
    s.give(kg);
    s.put(x, Some(gx))
}
