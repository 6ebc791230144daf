//! concat, narrow, reshape and permute on the device (`shape.cu`): exact copies. A tensor viewed
//! as `[outer, axis·inner]` turns each concat piece and each narrow into one block copy.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::elementwise::add_bwd;
use crate::backend::cuda::launch::shape::{copy_block, permute as permute_kernel, Block};
use crate::tensor::{Real, Shape};
use crate::Result;

/// The block holding `len` entries of `axis` at `start` within a tensor of `total` entries.
fn piece(outer: usize, inner: usize, start: usize, len: usize, total: usize) -> (Block, Block) {
    let into_whole = Block {
        rows: outer,
        width: len * inner,
        dst_cols: total * inner,
        dst_off: start * inner,
        src_cols: len * inner,
        src_off: 0,
    };
    let from_whole = Block {
        rows: outer,
        width: len * inner,
        dst_cols: len * inner,
        dst_off: 0,
        src_cols: total * inner,
        src_off: start * inner,
    };
    (into_whole, from_whole)
}

pub(crate) fn concat<E: Real>(
    t: &mut Tape<E>,
    xs: &[Var],
    axis: usize,
    shape: Shape,
) -> Result<Var> {
    let (outer, total, inner) = shape.around(axis);
    let mut y = t.dev_alloc(shape.numel())?;
    let dev = t.dev()?;
    let mut start = 0;
    for &x in xs {
        let len = t.dims(x)[axis];
        let (into, _) = piece(outer, inner, start, len, total);
        copy_block(dev, &mut y, t.dev_value(x)?, into, false)?;
        start += len;
    }
    let op = Op::Concat {
        xs: xs.to_vec(),
        axis,
    };
    Ok(t.push_dev(shape, y, Vec::new(), op, xs))
}

pub(crate) fn concat_backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    xs: &[Var],
    axis: usize,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (outer, total, inner) = t.shape(y).around(axis);
    let dev = t.dev()?;
    let mut start = 0;
    for &x in xs {
        let len = t.dims(x)[axis];
        if let Some(mut gx) = s.take(x)? {
            let (_, from) = piece(outer, inner, start, len, total);
            copy_block(dev, &mut gx, g, from, true)?;
            s.put(x, Some(gx))?;
        }
        start += len;
    }
    Ok(())
}

pub(crate) fn narrow<E: Real>(
    t: &mut Tape<E>,
    x: Var,
    axis: usize,
    start: usize,
    shape: Shape,
) -> Result<Var> {
    let (outer, total, inner) = t.shape(x).around(axis);
    let len = shape.dims()[axis];
    let mut y = t.dev_alloc(shape.numel())?;
    let (_, from) = piece(outer, inner, start, len, total);
    copy_block(t.dev()?, &mut y, t.dev_value(x)?, from, false)?;
    Ok(t.push_dev(shape, y, Vec::new(), Op::Narrow { x, axis, start }, &[x]))
}

pub(crate) fn narrow_backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    x: Var,
    axis: usize,
    start: usize,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let Some(mut gx) = s.take(x)? else {
        return Ok(());
    };
    let (outer, total, inner) = t.shape(x).around(axis);
    let (into, _) = piece(outer, inner, start, t.dims(y)[axis], total);
    copy_block(t.dev()?, &mut gx, g, into, true)?;
    s.put(x, Some(gx))
}

pub(crate) fn reshape<E: Real>(t: &mut Tape<E>, x: Var, shape: Shape) -> Result<Var> {
    let y = t.dev_clone(x)?;
    Ok(t.push_dev(shape, y, Vec::new(), Op::Reshape { x }, &[x]))
}

pub(crate) fn reshape_backward<E: Real>(
    t: &Tape<E>,
    x: Var,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let Some(mut gx) = s.take(x)? else {
        return Ok(());
    };
    let n = t.shape(x).numel();
    add_bwd(t.dev()?, Some(&mut gx), None, g, n, n)?;
    s.put(x, Some(gx))
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut st = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        st[i] = st[i + 1] * dims[i + 1];
    }
    st
}

/// `out (+)= src` permuted: out's axis k is src's axis `perm[k]`.
fn permute_into(
    t_dev: &crate::backend::cuda::CudaDevice,
    out: &mut DevBuf,
    src: &DevBuf,
    src_dims: &[usize],
    perm: &[usize],
    accumulate: bool,
) -> Result<()> {
    let st = strides(src_dims);
    let out_dims: Vec<usize> = perm.iter().map(|&p| src_dims[p]).collect();
    let out_strides: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    Ok(permute_kernel(
        t_dev,
        out,
        src,
        &out_dims,
        &out_strides,
        accumulate,
    )?)
}

pub(crate) fn permute<E: Real>(
    t: &mut Tape<E>,
    x: Var,
    perm: &[usize],
    shape: Shape,
) -> Result<Var> {
    let mut y = t.dev_alloc(shape.numel())?;
    let dims = t.dims(x).to_vec();
    permute_into(t.dev()?, &mut y, t.dev_value(x)?, &dims, perm, false)?;
    let op = Op::Permute {
        x,
        perm: perm.to_vec(),
    };
    Ok(t.push_dev(shape, y, Vec::new(), op, &[x]))
}

pub(crate) fn permute_backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    x: Var,
    perm: &[usize],
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let Some(mut gx) = s.take(x)? else {
        return Ok(());
    };
    let mut inv = vec![0; perm.len()];
    perm.iter().enumerate().for_each(|(i, &p)| inv[p] = i);
    permute_into(t.dev()?, &mut gx, g, t.dims(y), &inv, true)?;
    s.put(x, Some(gx))
}
