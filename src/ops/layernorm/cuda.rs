//! LayerNorm on the device (`reduce.cu`); mean and rstd are saved on the node for backward.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::layernorm::{layernorm_bwd, layernorm_fwd};
use crate::tensor::Real;
use crate::Result;

pub(crate) fn layernorm<E: Real>(t: &mut Tape<E>, x: Var, gamma: Var, beta: Var) -> Result<Var> {
    let shape = t.shape(x);
    let (rows, cols) = (shape.rows(), shape.last());
    let mut y = t.dev_alloc(shape.numel())?;
    let mut mean = t.dev_alloc(rows)?;
    let mut rstd = t.dev_alloc(rows)?;
    layernorm_fwd(
        t.dev()?,
        &mut y,
        &mut mean,
        &mut rstd,
        t.dev_value(x)?,
        t.dev_value(gamma)?,
        t.dev_value(beta)?,
        rows,
        cols,
    )?;
    let op = Op::LayerNorm {
        x,
        gamma,
        beta,
        mean: Vec::new(),
        rstd: Vec::new(),
    };
    Ok(t.push_dev(shape, y, vec![mean, rstd], op, &[x, gamma, beta]))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    x: Var,
    gamma: Var,
    beta: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let shape = t.shape(x);
    let [mean, rstd] = t.dev_saved(y) else {
        return Err(crate::Error::Device(
            "layernorm: saved statistics missing".into(),
        ));
    };
    let mut gx = s.take(x)?;
    // The kernel writes dgamma and dbeta together: both slots, or neither.
    let affine = s.needs[gamma.index()] || s.needs[beta.index()];
    let mut gb = if affine {
        Some((s.any(gamma)?, s.any(beta)?))
    } else {
        None
    };
    layernorm_bwd(
        t.dev()?,
        gx.as_mut(),
        gb.as_mut().map(|(a, b)| (a, b)),
        g,
        t.dev_value(x)?,
        t.dev_value(gamma)?,
        mean,
        rstd,
        shape.rows(),
        shape.last(),
    )?;
    s.put(x, gx)?;
    if let Some((dg, db)) = gb {
        s.put(gamma, Some(dg))?;
        s.put(beta, Some(db))?;
    }
    Ok(())
}
