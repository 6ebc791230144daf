//! The fused GRU cell on the device (`gru.cu`); the gates are saved on the node for backward.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::gru::{gru_cell_bwd, gru_cell_fwd};
use crate::tensor::Real;
use crate::Result;

pub(crate) fn gru_cell<E: Real>(t: &mut Tape<E>, xp: Var, hp: Var, h: Var) -> Result<Var> {
    let sh = t.shape(h);
    let (rows, hd) = (sh.rows(), sh.last());
    let mut out = t.dev_alloc(rows * hd)?;
    let mut gates = t.dev_alloc(rows * 3 * hd)?;
    gru_cell_fwd(
        t.dev()?,
        &mut out,
        &mut gates,
        t.dev_value(xp)?,
        t.dev_value(hp)?,
        t.dev_value(h)?,
        rows,
        hd,
    )?;
    let op = Op::GruCell {
        xp,
        hp,
        h,
        gates: Vec::new(),
    };
    Ok(t.push_dev(sh, out, vec![gates], op, &[xp, hp, h]))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    xp: Var,
    hp: Var,
    h: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let [gates] = t.dev_saved(y) else {
        return Err(crate::Error::Device("gru_cell: saved gates missing".into()));
    };
    let sh = t.shape(h);
    // The kernel writes all three gradients; unneeded ones go to scratch and back to the pool.
    let (mut dxp, mut dhp, mut dh) = (s.any(xp)?, s.any(hp)?, s.any(h)?);
    gru_cell_bwd(
        t.dev()?,
        &mut dxp,
        &mut dhp,
        &mut dh,
        g,
        gates,
        t.dev_value(hp)?,
        t.dev_value(h)?,
        sh.rows(),
        sh.last(),
    )?;
    s.put(xp, Some(dxp))?;
    s.put(hp, Some(dhp))?;
    s.put(h, Some(dh))
}
