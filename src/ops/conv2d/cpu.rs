//! Convolution on the CPU: im2col + the project's GEMM (`ops::matmul::cpu::gemm`), in parallel
//! over the batch. The batch is cut into one contiguous part per thread slot, each with its own
//! im2col buffer from the scratch; every sample's result is computed the same way whatever the
//! part, and weight gradients are summed over fixed blocks of [`BLOCK`] samples, then over the
//! blocks in order, so results do not depend on the thread count.
use super::{Conv2dGeom, Conv2dKernel};
use crate::backend::Cpu;
use crate::ops::matmul::cpu::gemm;
use crate::ops::GradOut;
use crate::tensor::Real;
use crate::util::simd;
use crate::{Error, Result};
use rayon::prelude::*;

/// Samples per weight-gradient partial sum.
pub const BLOCK: usize = 4;

/// The output positions `lo..hi` along one axis whose input position `o·stride + k − pad` lies in
/// `0..len` (the rest read zero padding).
fn valid(out: usize, len: usize, k: usize, stride: usize, pad: usize) -> (usize, usize) {
    let lo = if pad > k {
        (pad - k).div_ceil(stride)
    } else {
        0
    };
    let hi = if len + pad > k {
        (len + pad - k - 1) / stride + 1
    } else {
        0
    };
    let lo = lo.min(out);
    (lo, hi.min(out).max(lo))
}

/// col [C·KH·KW, OH·OW] = the receptive fields of one sample x [C, H, W] (zeros in the padding).
pub fn im2col<E: Real>(g: &Conv2dGeom, x: &[E], col: &mut [E]) {
    let (p, hw, s, pad) = (g.p(), g.h * g.w, g.stride, g.pad);
    let zero = E::zero();
    for ch in 0..g.c {
        let xc = &x[ch * hw..(ch + 1) * hw];
        for ki in 0..g.kh {
            let (ylo, yhi) = valid(g.oh, g.h, ki, s, pad);
            for kj in 0..g.kw {
                let (xlo, xhi) = valid(g.ow, g.w, kj, s, pad);
                let r = (ch * g.kh + ki) * g.kw + kj;
                let row = &mut col[r * p..(r + 1) * p];
                for (oy, out) in row.chunks_exact_mut(g.ow).enumerate() {
                    if oy < ylo || oy >= yhi || xlo == xhi {
                        out.fill(zero);
                        continue;
                    }
                    let iy = oy * s + ki - pad;
                    let xr = &xc[iy * g.w..(iy + 1) * g.w];
                    out[..xlo].fill(zero);
                    out[xhi..].fill(zero);
                    let first = xlo * s + kj - pad;
                    if s == 1 {
                        out[xlo..xhi].copy_from_slice(&xr[first..first + xhi - xlo]);
                    } else {
                        let src = xr[first..].iter().step_by(s);
                        out[xlo..xhi].iter_mut().zip(src).for_each(|(o, v)| *o = *v);
                    }
                }
            }
        }
    }
}

/// dx [C, H, W] += col folded back (col2im): each input pixel gains the entries of every window
/// position that read it.
pub fn col2im_add<E: Real>(g: &Conv2dGeom, col: &[E], dx: &mut [E]) {
    let (p, hw, s, pad) = (g.p(), g.h * g.w, g.stride, g.pad);
    for ch in 0..g.c {
        let dc = &mut dx[ch * hw..(ch + 1) * hw];
        for ki in 0..g.kh {
            let (ylo, yhi) = valid(g.oh, g.h, ki, s, pad);
            for kj in 0..g.kw {
                let (xlo, xhi) = valid(g.ow, g.w, kj, s, pad);
                if xlo == xhi {
                    continue;
                }
                let r = (ch * g.kh + ki) * g.kw + kj;
                let row = &col[r * p..(r + 1) * p];
                for oy in ylo..yhi {
                    let iy = oy * s + ki - pad;
                    let dr = &mut dc[iy * g.w..(iy + 1) * g.w];
                    let src = &row[oy * g.ow + xlo..oy * g.ow + xhi];
                    let first = xlo * s + kj - pad;
                    if s == 1 {
                        let dst = &mut dr[first..first + src.len()];
                        dst.iter_mut().zip(src).for_each(|(d, v)| *d += *v);
                    } else {
                        let dst = dr[first..].iter_mut().step_by(s);
                        dst.zip(src).for_each(|(d, v)| *d += *v);
                    }
                }
            }
        }
    }
}

/// Σ r in a fixed order: eight interleaved partial sums (so the loop vectorises), then the lanes.
fn row_sum<E: Real>(r: &[E]) -> E {
    simd::run(
        #[inline(always)]
        || {
            let mut acc = [E::zero(); 8];
            let mut it = r.chunks_exact(8);
            for c in &mut it {
                acc.iter_mut().zip(c).for_each(|(a, v)| *a += *v);
            }
            let tail: E = it.remainder().iter().copied().sum();
            acc.iter().copied().sum::<E>() + tail
        },
    )
}

/// Thread slots the scratch of `len` elements holds (each an im2col buffer), after the
/// weight-gradient partials at its end.
fn slots(g: &Conv2dGeom, len: usize) -> Result<usize> {
    let need = g.col_len() + partials_len(g);
    if len < need {
        return Err(Error::Invalid(format!(
            "conv2d: scratch of {len} elements, need at least {need}"
        )));
    }
    Ok(((len - partials_len(g)) / g.col_len()).clamp(1, g.n.max(1)))
}

/// One partial weight and bias gradient per block of [`BLOCK`] samples.
fn partials_len(g: &Conv2dGeom) -> usize {
    g.n.div_ceil(BLOCK) * (g.o * g.ckk() + g.o)
}

/// Runs `f(part, col, out_part)` over `out` cut into parts of `chunk` elements, part `i` with
/// the `i`-th im2col buffer of `cols`; in parallel when there is more than one part.
fn over_parts<E: Real, F>(cols: &mut [E], col_len: usize, out: &mut [E], chunk: usize, f: F)
where
    F: Fn(usize, &mut [E], &mut [E]) + Sync + Send,
{
    if out.len() <= chunk {
        // One part: on this thread, so the GEMM may use the whole pool itself.
        f(0, &mut cols[..col_len], out);
    } else {
        cols.par_chunks_mut(col_len)
            .zip(out.par_chunks_mut(chunk))
            .enumerate()
            .for_each(|(i, (c, o))| f(i, c, o));
    }
}

/// y = x ⋆ w (+ b).
pub fn forward<E: Real>(
    g: &Conv2dGeom,
    x: &[E],
    w: &[E],
    b: Option<&[E]>,
    y: &mut [E],
    scratch: &mut [E],
) -> Result<()> {
    if g.n == 0 {
        return Ok(());
    }
    let (xl, yl, cl, p) = (g.x_len(), g.y_len(), g.col_len(), g.p());
    let per = g.n.div_ceil(slots(g, scratch.len())?);
    let w = &w[..g.o * g.ckk()];
    over_parts(scratch, cl, &mut y[..g.n * yl], per * yl, |i, col, ys| {
        for (k, yn) in ys.chunks_exact_mut(yl).enumerate() {
            let xn = &x[(i * per + k) * xl..][..xl];
            im2col(g, xn, col);
            gemm(g.o, p, g.ckk(), w, false, col, false, yn, false);
            if let Some(b) = b {
                for (row, &bo) in yn.chunks_exact_mut(p).zip(b) {
                    row.iter_mut().for_each(|v| *v += bo);
                }
            }
        }
    });
    Ok(())
}

/// dx (+)= the input gradient: dcol = wᵀ · dy_n per sample, folded back onto dx_n.
pub fn data_grad<E: Real>(
    g: &Conv2dGeom,
    w: &[E],
    dy: &[E],
    dx: &mut [E],
    acc: bool,
    scratch: &mut [E],
) -> Result<()> {
    if g.n == 0 {
        return Ok(());
    }
    let (xl, yl, cl) = (g.x_len(), g.y_len(), g.col_len());
    let per = g.n.div_ceil(slots(g, scratch.len())?);
    let w = &w[..g.o * g.ckk()];
    over_parts(scratch, cl, &mut dx[..g.n * xl], per * xl, |i, col, dxs| {
        for (k, dxn) in dxs.chunks_exact_mut(xl).enumerate() {
            let dyn_ = &dy[(i * per + k) * yl..][..yl];
            gemm(g.ckk(), g.p(), g.o, w, true, dyn_, false, col, false);
            if !acc {
                dxn.fill(E::zero());
            }
            col2im_add(g, col, dxn);
        }
    });
    Ok(())
}

/// dw (+)= Σ_n dy_n · col_nᵀ and db (+)= Σ_{n,p} dy[n, :, p], for the gradients present.
pub fn params_grad<E: Real>(
    g: &Conv2dGeom,
    x: &[E],
    dy: &[E],
    dw: Option<(&mut [E], bool)>,
    db: Option<(&mut [E], bool)>,
    scratch: &mut [E],
) -> Result<()> {
    let (xl, yl, cl, p) = (g.x_len(), g.y_len(), g.col_len(), g.p());
    let wl = g.o * g.ckk();
    let part_len = wl + g.o;
    let (want_w, want_b) = (dw.is_some(), db.is_some());
    let slots = slots(g, scratch.len())?;
    let blocks = g.n.div_ceil(BLOCK);
    let (cols, parts) = scratch.split_at_mut(slots * cl);
    let parts = &mut parts[..blocks * part_len];
    if blocks > 0 {
        let per = blocks.div_ceil(slots);
        over_parts(cols, cl, parts, per * part_len, |i, col, ps| {
            for (j, part) in ps.chunks_exact_mut(part_len).enumerate() {
                let first = (i * per + j) * BLOCK;
                let (pw, pb) = part.split_at_mut(wl);
                for (k, sn) in (first..(first + BLOCK).min(g.n)).enumerate() {
                    let dyn_ = &dy[sn * yl..][..yl];
                    if want_w {
                        im2col(g, &x[sn * xl..][..xl], col);
                        gemm(g.o, g.ckk(), p, dyn_, false, col, true, pw, k > 0);
                    }
                    if want_b {
                        for (d, row) in pb.iter_mut().zip(dyn_.chunks_exact(p)) {
                            let s = row_sum(row);
                            *d = if k > 0 { *d + s } else { s };
                        }
                    }
                }
            }
        });
    }
    // The block sums, in block order.
    let reduce = |out: (&mut [E], bool), at: usize, len: usize| {
        let (out, acc) = out;
        let out = &mut out[..len];
        if !acc {
            out.fill(E::zero());
        }
        for part in parts.chunks_exact(part_len) {
            out.iter_mut()
                .zip(&part[at..at + len])
                .for_each(|(d, v)| *d += *v);
        }
    };
    if let Some(dw) = dw {
        reduce(dw, 0, wl);
    }
    if let Some(db) = db {
        reduce(db, wl, g.o);
    }
    Ok(())
}

impl<E: Real> Conv2dKernel for Cpu<E> {
    fn conv2d_scratch(&self, g: &Conv2dGeom) -> usize {
        let slots = rayon::current_num_threads().clamp(1, g.n.max(1));
        slots * g.col_len() + partials_len(g)
    }
    fn conv2d_fwd(
        &self,
        g: &Conv2dGeom,
        x: &Vec<E>,
        w: &Vec<E>,
        b: Option<&Vec<E>>,
        y: &mut Vec<E>,
        scratch: &mut Vec<E>,
    ) -> Result<()> {
        forward(g, x, w, b.map(|b| &b[..g.o]), y, scratch)
    }
    fn conv2d_bwd_data(
        &self,
        g: &Conv2dGeom,
        w: &Vec<E>,
        dy: &Vec<E>,
        dx: &mut Vec<E>,
        acc: bool,
        scratch: &mut Vec<E>,
    ) -> Result<()> {
        data_grad(g, w, dy, dx, acc, scratch)
    }
    fn conv2d_bwd_params(
        &self,
        g: &Conv2dGeom,
        x: &Vec<E>,
        dy: &Vec<E>,
        dw: GradOut<'_, Self>,
        db: GradOut<'_, Self>,
        scratch: &mut Vec<E>,
    ) -> Result<()> {
        let dw = dw.map(|(d, acc)| (&mut d[..], acc));
        let db = db.map(|(d, acc)| (&mut d[..], acc));
        params_grad(g, x, dy, dw, db, scratch)
    }
}
