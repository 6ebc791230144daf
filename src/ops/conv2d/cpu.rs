//! Convolution on the CPU: im2col + the project's GEMM (`ops::matmul::cpu`), or in f32 on AVX-512
//! the same products with no im2col ([`super::implicit_avx512`]), in parallel over the batch. The batch is cut into one contiguous part per thread slot, each with its own scratch;
//! within a sample, output positions go in tiles ([`Plan`]) whose im2col columns stay in the
//! core's L2 cache. Every sample's result is computed the same way whatever its part, and weight
//! gradients are summed over fixed blocks of [`BLOCK`] samples, then over the blocks in order, so
//! results do not depend on the thread count.
//!
//! Each sample is first padded and rearranged into stride phases (see [`Plan`]), which turns every
//! row of an im2col tile into one contiguous copy, and every row of col2im into one contiguous sum.
//! The AVX-512 weight gradient of an unpadded input skips that step and reads x where it lies, and
//! a stride-1 input gradient runs as the forward convolution of the padded dy (`as_forward`).
use super::implicit_avx512::{self, Ahead, Implicit, Outputs, Split2, Strided};
use super::{Conv2dGeom, Conv2dKernel};
use crate::backend::Cpu;
use crate::ops::matmul::cpu::gemm_on;
use crate::ops::GradOut;
use crate::tensor::Real;
use crate::util::simd;
use crate::{Error, Result};
use rayon::prelude::*;

/// Samples per weight-gradient partial sum.
pub const BLOCK: usize = 4;

/// An im2col tile holds about this many floats: 256 KiB in f32, so the tile and what the GEMM
/// reads with it stay in a core's L2 cache.
pub const TILE_FLOATS: usize = 1 << 16;

/// Zeros after a phase-split sample: positions are rounded up to a multiple of 32.
const TAIL: usize = 32;

/// Where a sample's pixels and its output positions sit for the kernels.
///
/// A sample x [C, H, W] is zero-padded to H' × W' (H' = H + 2·pad) and split into stride phases:
/// xs[c, a, b, i, j] = padded x[c, i·s + a, j·s + b], each phase an hq × wq image (hq = ⌈H'/s⌉,
/// zeros past the edge), for the phases windows read (a < min(s, KH), b < min(s, KW)). Window
/// (ki, kj) of output (oy, ox) then reads phase (ki mod s, kj mod s) at (oy + ki / s, ox + kj / s):
/// a stride-1 access. Output positions are numbered q = oy·wq + ox, so the im2col row of kernel
/// offset (c, ki, kj) over positions q0..q1 is the contiguous run of its phase starting at
/// (ki / s)·wq + kj / s + q0.
///
/// Positions that are no output (columns OW..wq of a row, and those past the last output, up to a
/// multiple of 32) are dropped by the forward and hold zeros in the gradient tiles, so they add
/// nothing to any gradient. Tiles of whole vectors let the GEMM read the im2col tile as it is (it
/// packs other widths into a buffer it allocates per call), and widths of 32 more than a multiple
/// of its 64-row kernel run at full speed, unlike 16 more (measured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Phase height and width.
    pub hq: usize,
    pub wq: usize,
    /// Row and column phases any window reads: min(s, KH) and min(s, KW) (a huge stride needs
    /// no more phases than kernel offsets).
    pub pa: usize,
    pub pb: usize,
    /// Positions q: (OH − 1)·wq + OW rounded up to a multiple of 32.
    pub positions: usize,
    /// Positions per tile, a multiple of 32.
    pub tile: usize,
}

impl Plan {
    pub fn new(g: &Conv2dGeom) -> Self {
        let s = g.stride;
        let (hq, wq) = ((g.h + 2 * g.pad).div_ceil(s), (g.w + 2 * g.pad).div_ceil(s));
        let positions = ((g.oh - 1) * wq + g.ow).next_multiple_of(32);
        let max = (TILE_FLOATS / g.ckk() / 32 * 32).max(32);
        // Equal tiles: as few as fit, as even as 32-wide tiles allow. A power-of-two width makes
        // the im2col rows alias in the cache (measured 10–15% slower at 256), so it grows by 32.
        let mut tile = positions
            .div_ceil(positions.div_ceil(max))
            .next_multiple_of(32);
        if tile >= 256 && tile.is_power_of_two() {
            tile += 32;
        }
        Plan {
            hq,
            wq,
            pa: s.min(g.kh),
            pb: s.min(g.kw),
            positions,
            tile,
        }
    }
    /// The tiles as position ranges.
    fn tiles(&self) -> impl Iterator<Item = (usize, usize)> {
        let (n, t) = (self.positions, self.tile);
        (0..n).step_by(t).map(move |q0| (q0, (q0 + t).min(n)))
    }
    /// The number of tiles.
    fn count(&self) -> usize {
        self.positions.div_ceil(self.tile)
    }
    /// Floats of a phase-split sample, with a zero tail that the runs of the last positions
    /// (no outputs) may reach.
    fn split_len(&self, g: &Conv2dGeom) -> usize {
        g.c * self.pa * self.pb * self.hq * self.wq + TAIL
    }
}

/// Calls `f(phase row, x row, b)` for every row of a phase-split sample in order: channel c,
/// phases a and b, phase row i take their pixels from x row `i·s + a − pad` of channel c (None in
/// the padding), at the columns [`phase_cols`] gives for b. `x row` indexes x [C·H, W].
#[inline(always)]
fn phase_rows(g: &Conv2dGeom, pl: &Plan, mut f: impl FnMut(usize, Option<usize>, usize)) {
    let (s, p) = (g.stride, g.pad);
    let mut at = 0;
    for c in 0..g.c {
        for a in 0..pl.pa {
            for b in 0..pl.pb {
                for i in 0..pl.hq {
                    let r = (i * s + a).checked_sub(p).filter(|&r| r < g.h);
                    f(at, r.map(|r| c * g.h + r), b);
                    at += 1;
                }
            }
        }
    }
}

/// The phase columns j0..j1 of phase b that hold image pixels, and the x column of j0 (phase
/// column j is x column j·s + b − pad).
#[inline(always)]
fn phase_cols(g: &Conv2dGeom, pl: &Plan, b: usize) -> (usize, usize, usize) {
    let (s, p) = (g.stride, g.pad);
    let j0 = p.saturating_sub(b).div_ceil(s).min(pl.wq);
    let j1 = if g.w + p > b {
        ((g.w - 1 + p - b) / s + 1).min(pl.wq)
    } else {
        0
    };
    let j1 = j1.max(j0);
    (j0, j1, (j0 * s + b).saturating_sub(p))
}

/// out[i] = src[i·step]; `src` holds at least (len − 1)·step + 1 elements. Common strides are
/// constants, so the loads vectorise.
#[inline(always)]
fn gather<E: Real>(out: &mut [E], src: &[E], step: usize) {
    #[inline(always)]
    fn by<E: Real, const S: usize>(out: &mut [E], src: &[E]) {
        let Some((last, head)) = out.split_last_mut() else {
            return;
        };
        head.iter_mut()
            .zip(src.chunks_exact(S))
            .for_each(|(o, c)| *o = c[0]);
        *last = src[head.len() * S];
    }
    match step {
        1 => out.copy_from_slice(&src[..out.len()]),
        2 => by::<E, 2>(out, src),
        3 => by::<E, 3>(out, src),
        4 => by::<E, 4>(out, src),
        _ => {
            let src = src.iter().step_by(step);
            out.iter_mut().zip(src).for_each(|(o, v)| *o = *v);
        }
    }
}

/// dst[i·step] += src[i]; `dst` holds at least (len − 1)·step + 1 elements.
#[inline(always)]
fn scatter_add<E: Real>(dst: &mut [E], src: &[E], step: usize) {
    #[inline(always)]
    fn by<E: Real, const S: usize>(dst: &mut [E], src: &[E]) {
        let Some((last, head)) = src.split_last() else {
            return;
        };
        dst.chunks_exact_mut(S)
            .zip(head)
            .for_each(|(d, v)| d[0] += *v);
        dst[head.len() * S] += *last;
    }
    match step {
        1 => dst.iter_mut().zip(src).for_each(|(d, v)| *d += *v),
        2 => by::<E, 2>(dst, src),
        3 => by::<E, 3>(dst, src),
        4 => by::<E, 4>(dst, src),
        _ => {
            let dst = dst.iter_mut().step_by(step);
            dst.zip(src).for_each(|(d, v)| *d += *v);
        }
    }
}

/// Where the next sample of two batched buffers starts, for the kernels to fetch while the current
/// one computes: buffer (base, current sample, sample length) → (start, length), or no length
/// when there is no next sample.
fn next_sample<E>(bufs: [(*const E, usize, usize); 2], more: bool) -> [(*const E, usize); 2] {
    bufs.map(|(p, n, len)| (p.wrapping_add((n + 1) * len), if more { len } else { 0 }))
}

/// The sizes of the AVX-512 stride-2 split, when it applies: in f32, with two row and two
/// column phases (every pixel is then in exactly one phase).
fn split2<E: Real>(g: &Conv2dGeom, pl: &Plan) -> Option<Split2> {
    let yes = g.stride == 2 && pl.pa == 2 && pl.pb == 2;
    (yes && implicit_avx512::available() && E::as_f32s(&[]).is_some()).then_some(Split2 {
        c: g.c,
        h: g.h,
        w: g.w,
        pad: g.pad,
        hq: pl.hq,
        wq: pl.wq,
    })
}

/// xs = sample x [C, H, W] padded and split into phases (see [`Plan`]).
fn split_into<E: Real>(g: &Conv2dGeom, pl: &Plan, x: &[E], xs: &mut [E]) {
    let (s, w, wq) = (g.stride, g.w, pl.wq);
    let zero = E::zero();
    let (xs, tail) = xs.split_at_mut(xs.len() - TAIL);
    tail.fill(zero);
    if let (Some(d), Some(x), Some(xs)) = (split2::<E>(g, pl), E::as_f32s(x), E::as_f32s_mut(xs)) {
        return Implicit::split2(x, d, xs);
    }
    simd::run(
        #[inline(always)]
        || {
            phase_rows(
                g,
                pl,
                #[inline(always)]
                |at, r, b| {
                    let out = &mut xs[at * wq..(at + 1) * wq];
                    let Some(r) = r else {
                        out.fill(zero);
                        return;
                    };
                    let (j0, j1, first) = phase_cols(g, pl, b);
                    out[..j0].fill(zero);
                    out[j1..].fill(zero);
                    if j0 == j1 {
                        return;
                    }
                    gather(&mut out[j0..j1], &x[r * w + first..(r + 1) * w], s);
                },
            )
        },
    )
}

/// dx [C, H, W] (+)= the pixels of a phase-split gradient dxs (`acc`: add, else overwrite).
fn unsplit_add<E: Real>(g: &Conv2dGeom, pl: &Plan, dxs: &[E], dx: &mut [E], acc: bool) {
    let (s, w, wq) = (g.stride, g.w, pl.wq);
    let fast = (split2::<E>(g, pl), E::as_f32s(dxs), E::as_f32s_mut(dx));
    if let (Some(d), Some(dxs), Some(dx)) = fast {
        return Implicit::unsplit2(dxs, d, dx, acc);
    }
    if !acc {
        dx.fill(E::zero());
    }
    simd::run(
        #[inline(always)]
        || {
            phase_rows(
                g,
                pl,
                #[inline(always)]
                |at, r, b| {
                    let (j0, j1, first) = phase_cols(g, pl, b);
                    let Some(r) = r.filter(|_| j0 < j1) else {
                        return;
                    };
                    let src = &dxs[at * wq + j0..at * wq + j1];
                    scatter_add(&mut dx[r * w + first..(r + 1) * w], src, s);
                },
            )
        },
    )
}

/// The start of the im2col row of kernel offset (c, ki, kj) in a phase-split sample, before q0.
#[inline(always)]
fn row_start(g: &Conv2dGeom, pl: &Plan, c: usize, ki: usize, kj: usize) -> usize {
    let s = g.stride;
    let phase = (c * pl.pa + ki % s) * pl.pb + kj % s;
    phase * pl.hq * pl.wq + (ki / s) * pl.wq + kj / s
}

/// The tables of the f32 AVX-512 kernels (no im2col) when `E` is f32 and the CPU has them; the
/// forward passes `w` to have it transposed.
fn implicit<E: Real>(g: &Conv2dGeom, pl: &Plan, w: Option<&[E]>) -> Option<Implicit> {
    if !implicit_avx512::available() || E::as_f32s(&[]).is_none() {
        return None;
    }
    let w = match w {
        Some(w) => Some(E::as_f32s(w)?),
        None => None,
    };
    let off = taps(g)
        .map(|(c, ki, kj)| row_start(g, pl, c, ki, kj))
        .collect();
    Some(Implicit::new(off, g.o, g.kh * g.kw, outputs(g, pl), w))
}

/// The im2col rows in order: (c, ki, kj).
fn taps(g: &Conv2dGeom) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let (kh, kw) = (g.kh, g.kw);
    (0..g.c).flat_map(move |c| (0..kh).flat_map(move |ki| (0..kw).map(move |kj| (c, ki, kj))))
}

/// The weight gradient's tables for reading x where it lies (no phase split), when that
/// applies: f32 on AVX-512, no padding, and a block of transposed dy that fits the slot's
/// im2col tile.
fn strided<E: Real>(g: &Conv2dGeom, pl: &Plan) -> Option<Strided> {
    if g.pad != 0 || !implicit_avx512::available() || E::as_f32s(&[]).is_none() {
        return None;
    }
    let row = taps(g)
        .map(|(c, ki, kj)| (c * g.h + ki) * g.w + kj)
        .collect();
    let st = Strided::new(row, g.o, g.stride, g.w, (g.oh, g.ow));
    (st.scratch_len() <= g.ckk() * pl.tile).then_some(st)
}

/// For every 16 positions, the lanes that are outputs and the output index of the first: the
/// number of outputs at earlier positions.
fn outputs(g: &Conv2dGeom, pl: &Plan) -> Outputs {
    let mut before = 0u32;
    let lanes = (0..pl.positions / 16)
        .map(|v| {
            let first = before;
            let mut m = 0u16;
            for l in 0..16 {
                let q = 16 * v + l;
                if q % pl.wq < g.ow && q / pl.wq < g.oh {
                    m |= 1 << l;
                    before += 1;
                }
            }
            (m, first)
        })
        .collect();
    Outputs { lanes, p: g.p() }
}

/// col [C·KH·KW, q1 − q0] = the receptive fields of positions `q0..q1` of one phase-split sample.
pub fn im2col<E: Real>(g: &Conv2dGeom, pl: &Plan, xs: &[E], q0: usize, q1: usize, col: &mut [E]) {
    let t = q1 - q0;
    let mut rows = col[..g.ckk() * t].chunks_exact_mut(t);
    for c in 0..g.c {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let at = row_start(g, pl, c, ki, kj) + q0;
                let row = rows.next().expect("C·KH·KW rows");
                row.copy_from_slice(&xs[at..at + t]);
            }
        }
    }
}

/// dxs += col [C·KH·KW, q1 − q0] folded back (col2im): each phase-split pixel gains the entries of
/// the windows of positions `q0..q1` that read it.
pub fn col2im_add<E: Real>(
    g: &Conv2dGeom,
    pl: &Plan,
    col: &[E],
    q0: usize,
    q1: usize,
    dxs: &mut [E],
) {
    let t = q1 - q0;
    simd::run(
        #[inline(always)]
        || {
            let mut rows = col[..g.ckk() * t].chunks_exact(t);
            for c in 0..g.c {
                for ki in 0..g.kh {
                    for kj in 0..g.kw {
                        let at = row_start(g, pl, c, ki, kj) + q0;
                        let row = rows.next().expect("C·KH·KW rows");
                        let dst = &mut dxs[at..at + t];
                        dst.iter_mut().zip(row).for_each(|(d, v)| *d += *v);
                    }
                }
            }
        },
    )
}

/// Calls `f(at, len, p)` for each run of positions `q0..q1` on one output row: tile columns
/// `at..at + len` are outputs `p..p + len` of a channel's [OH·OW]. Unused positions are skipped.
#[inline(always)]
fn output_runs(
    g: &Conv2dGeom,
    pl: &Plan,
    q0: usize,
    q1: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    let mut q = q0;
    while q < q1 {
        let (oy, ox) = (q / pl.wq, q % pl.wq);
        let end = (q - ox + pl.wq).min(q1);
        if ox < g.ow && oy < g.oh {
            let len = end.min(q - ox + g.ow) - q;
            f(q - q0, len, oy * g.ow + ox);
        }
        q = end;
    }
}

/// gt [O, q1 − q0] = one sample's dy [O, OH·OW] at positions `q0..q1`, zeros at unused ones.
fn to_tile<E: Real>(g: &Conv2dGeom, pl: &Plan, dyn_: &[E], q0: usize, q1: usize, gt: &mut [E]) {
    let t = q1 - q0;
    simd::run(
        #[inline(always)]
        || {
            for (dst, src) in gt[..g.o * t]
                .chunks_exact_mut(t)
                .zip(dyn_.chunks_exact(g.p()))
            {
                dst.fill(E::zero());
                output_runs(
                    g,
                    pl,
                    q0,
                    q1,
                    #[inline(always)]
                    |at, len, p| {
                        dst[at..at + len].copy_from_slice(&src[p..p + len]);
                    },
                );
            }
        },
    )
}

/// One sample's y [O, OH·OW] at positions `q0..q1` = the tile yt [O, q1 − q0] (+ b).
#[allow(clippy::too_many_arguments)]
fn from_tile<E: Real>(
    g: &Conv2dGeom,
    pl: &Plan,
    yt: &[E],
    b: Option<&[E]>,
    q0: usize,
    q1: usize,
    yn: &mut [E],
) {
    let t = q1 - q0;
    simd::run(
        #[inline(always)]
        || {
            let rows = yt.chunks_exact(t).zip(yn.chunks_exact_mut(g.p()));
            for (o, (src, dst)) in rows.enumerate() {
                let bo = b.map_or(E::zero(), |b| b[o]);
                output_runs(
                    g,
                    pl,
                    q0,
                    q1,
                    #[inline(always)]
                    |at, len, p| {
                        let d = &mut dst[p..p + len];
                        d.iter_mut()
                            .zip(&src[at..at + len])
                            .for_each(|(d, v)| *d = *v + bo);
                    },
                );
            }
        },
    )
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

/// One thread slot's scratch: an im2col tile [C·KH·KW, tile], a tile of outputs or output
/// gradients [O, tile], and a phase-split sample or its gradient (see [`Plan`]).
fn slot_len(g: &Conv2dGeom) -> usize {
    let pl = Plan::new(g);
    (g.ckk() + g.o) * pl.tile + pl.split_len(g)
}

/// One partial weight gradient (transposed, [C·KH·KW, O]) and bias gradient per block of
/// [`BLOCK`] samples.
fn partials_len(g: &Conv2dGeom) -> usize {
    g.n.div_ceil(BLOCK) * (g.o * g.ckk() + g.o)
}

/// Checks that each buffer holds at least its `(name, length, needed)`.
fn check_lens(bufs: &[(&str, usize, usize)]) -> Result<()> {
    for &(name, len, need) in bufs {
        if len < need {
            return Err(Error::Invalid(format!(
                "conv2d: {name} holds {len} elements, needs {need}"
            )));
        }
    }
    Ok(())
}

/// Thread slots a scratch of `len` elements holds, after the weight-gradient partials at its end.
fn slots(g: &Conv2dGeom, len: usize) -> Result<usize> {
    let need = slot_len(g) + partials_len(g);
    if len < need {
        return Err(Error::Invalid(format!(
            "conv2d: scratch of {len} elements, need at least {need}"
        )));
    }
    Ok(((len - partials_len(g)) / slot_len(g)).clamp(1, g.n.max(1)))
}

/// A slot cut into its im2col tile, output tile and phase-split sample.
fn split_slot<'a, E>(g: &Conv2dGeom, pl: &Plan, slot: &'a mut [E]) -> [&'a mut [E]; 3] {
    let (col, rest) = slot.split_at_mut(g.ckk() * pl.tile);
    let (tile, rest) = rest.split_at_mut(g.o * pl.tile);
    [col, tile, &mut rest[..pl.split_len(g)]]
}

/// Runs `f(part, slot, out_part, par)` over `out` cut into parts of `chunk` elements, part `i` with
/// the `i`-th slot of `slots` (`slot_len` each); in parallel when there is more than one part. A
/// single part runs on this thread with `par` set, so its GEMMs may use the pool themselves.
fn over_parts<E: Real, F>(slots: &mut [E], slot_len: usize, out: &mut [E], chunk: usize, f: F)
where
    F: Fn(usize, &mut [E], &mut [E], bool) + Sync + Send,
{
    if out.len() <= chunk {
        f(0, &mut slots[..slot_len], out, true);
    } else {
        slots
            .par_chunks_mut(slot_len)
            .zip(out.par_chunks_mut(chunk))
            .enumerate()
            .for_each(|(i, (s, o))| f(i, s, o, false));
    }
}

/// y = x ⋆ w (+ b): per sample and tile, y[:, tile] = w · col (+ b).
pub fn forward<E: Real>(
    g: &Conv2dGeom,
    x: &[E],
    w: &[E],
    b: Option<&[E]>,
    y: &mut [E],
    scratch: &mut [E],
) -> Result<()> {
    let (xl, yl, ckk, pl) = (g.x_len(), g.y_len(), g.ckk(), Plan::new(g));
    check_lens(&[
        ("x", x.len(), g.n * xl),
        ("w", w.len(), g.o * ckk),
        ("b", b.map_or(g.o, |b| b.len()), g.o),
        ("y", y.len(), g.n * yl),
    ])?;
    if g.n == 0 {
        return Ok(());
    }
    let per = g.n.div_ceil(slots(g, scratch.len())?);
    let w = &w[..g.o * ckk];
    let fast = implicit(g, &pl, Some(w));
    over_parts(
        scratch,
        slot_len(g),
        &mut y[..g.n * yl],
        per * yl,
        |i, slot, ys, par| {
            let [col, yt, xs] = split_slot(g, &pl, slot);
            let samples = ys.len() / yl;
            let (xp, yp) = (x.as_ptr(), ys.as_ptr());
            for (k, yn) in ys.chunks_exact_mut(yl).enumerate() {
                split_into(g, &pl, &x[(i * per + k) * xl..][..xl], xs);
                let next = next_sample([(xp, i * per + k, xl), (yp, k, yl)], k + 1 < samples);
                for (ti, (q0, q1)) in pl.tiles().enumerate() {
                    let ahead = Ahead::part(next, ti, pl.count());
                    // `fast` is there only for f32, so b in f32 is there when b is.
                    match (&fast, E::as_f32s(xs), E::as_f32s_mut(yn)) {
                        (Some(f), Some(xs), Some(yn)) => {
                            f.forward(xs, q0, q1 - q0, b.and_then(E::as_f32s), yn, ahead)
                        }
                        _ => {
                            let t = q1 - q0;
                            let (col, yt) = (&mut col[..ckk * t], &mut yt[..g.o * t]);
                            im2col(g, &pl, xs, q0, q1, col);
                            gemm_on(par, g.o, t, ckk, w, false, col, false, yt, false);
                            from_tile(g, &pl, yt, b, q0, q1, yn);
                        }
                    }
                }
            }
        },
    );
    Ok(())
}

/// The geometry of a stride-1 input gradient run as a forward convolution: dy [N, O, OH, OW]
/// padded by K − 1 − pad, with the filters flipped and transposed to [C, O, K, K], gives dx
/// [N, C, H, W]. Square kernels only (the padding is one number).
fn as_forward(g: &Conv2dGeom) -> Option<Conv2dGeom> {
    if g.stride != 1 || g.kh != g.kw {
        return None;
    }
    Conv2dGeom::new(
        &[g.n, g.o, g.oh, g.ow],
        &[g.c, g.o, g.kh, g.kw],
        1,
        g.kh - 1 - g.pad,
    )
    .ok()
}

/// w [O, C, KH, KW] flipped in both kernel axes and transposed to [C, O, KH, KW].
fn flipped<E: Real>(g: &Conv2dGeom, w: &[E]) -> Vec<E> {
    let (kh, kw) = (g.kh, g.kw);
    let mut out = Vec::with_capacity(g.o * g.ckk());
    for c in 0..g.c {
        for o in 0..g.o {
            for ki in 0..kh {
                let row = &w[((o * g.c + c) * kh + kh - 1 - ki) * kw..][..kw];
                out.extend(row.iter().rev());
            }
        }
    }
    out
}

/// dx (+)= the input gradient: per sample and tile, dcol = wᵀ · dy[:, tile], folded back onto dx.
/// A stride-1 gradient that overwrites dx runs as the forward of [`as_forward`] on the AVX-512
/// kernels: each dx position is then summed over all O·K·K terms in registers and stored once,
/// where folding dcol back adds into the phase-split gradient K·K times (measured on the
/// encoder's 32 → 32 layer: see BENCHMARKS.md).
pub fn data_grad<E: Real>(
    g: &Conv2dGeom,
    w: &[E],
    dy: &[E],
    dx: &mut [E],
    acc: bool,
    scratch: &mut [E],
) -> Result<()> {
    let (xl, yl, ckk, pl) = (g.x_len(), g.y_len(), g.ckk(), Plan::new(g));
    check_lens(&[
        ("w", w.len(), g.o * ckk),
        ("dy", dy.len(), g.n * yl),
        ("dx", dx.len(), g.n * xl),
    ])?;
    let fast = !acc && implicit_avx512::available() && E::as_f32s(w).is_some();
    if let Some(gf) = as_forward(g).filter(|_| fast) {
        return forward(&gf, dy, &flipped(g, &w[..g.o * ckk]), None, dx, scratch);
    }
    if g.n == 0 {
        return Ok(());
    }
    let per = g.n.div_ceil(slots(g, scratch.len())?);
    let w = &w[..g.o * ckk];
    let (fast, w32) = (implicit::<E>(g, &pl, None), E::as_f32s(w));
    over_parts(
        scratch,
        slot_len(g),
        &mut dx[..g.n * xl],
        per * xl,
        |i, slot, dxs, par| {
            let [col, gt, xs] = split_slot(g, &pl, slot);
            let samples = dxs.len() / xl;
            let (dyp, dxp) = (dy.as_ptr(), dxs.as_ptr());
            for (k, dxn) in dxs.chunks_exact_mut(xl).enumerate() {
                let dyn_ = &dy[(i * per + k) * yl..][..yl];
                xs.fill(E::zero());
                let next = next_sample([(dyp, i * per + k, yl), (dxp, k, xl)], k + 1 < samples);
                for (ti, (q0, q1)) in pl.tiles().enumerate() {
                    let t = q1 - q0;
                    let (col, gt) = (&mut col[..ckk * t], &mut gt[..g.o * t]);
                    let ops = (E::as_f32s(dyn_), E::as_f32s_mut(gt), E::as_f32s_mut(xs));
                    match (&fast, w32, ops) {
                        (Some(f), Some(w), (Some(dyn_), Some(gt), Some(xs))) => {
                            f.gather(dyn_, q0, t, gt);
                            f.data(w, gt, q0, t, xs, Ahead::part(next, ti, pl.count()))
                        }
                        _ => {
                            to_tile(g, &pl, dyn_, q0, q1, gt);
                            gemm_on(par, ckk, t, g.o, w, true, gt, false, col, false);
                            col2im_add(g, &pl, col, q0, q1, xs);
                        }
                    }
                }
                unsplit_add(g, &pl, xs, dxn, acc);
            }
        },
    );
    Ok(())
}

/// dw (+)= Σ_n dy_n · col_nᵀ and db (+)= Σ_{n,p} dy[n, :, p], for the gradients present. Each block
/// of [`BLOCK`] samples sums its tiles' dwᵀ = col · dy[:, tile]ᵀ (the product the GEMM runs fastest
/// with im2col rows) and bias sums; the blocks are then added in order.
pub fn params_grad<E: Real>(
    g: &Conv2dGeom,
    x: &[E],
    dy: &[E],
    dw: Option<(&mut [E], bool)>,
    db: Option<(&mut [E], bool)>,
    scratch: &mut [E],
) -> Result<()> {
    let (xl, yl, ckk, pl) = (g.x_len(), g.y_len(), g.ckk(), Plan::new(g));
    let wl = g.o * ckk;
    let part_len = wl + g.o;
    let (want_w, want_b) = (dw.is_some(), db.is_some());
    check_lens(&[
        ("x", x.len(), g.n * xl),
        ("dy", dy.len(), g.n * yl),
        ("dw", dw.as_ref().map_or(wl, |d| d.0.len()), wl),
        ("db", db.as_ref().map_or(g.o, |d| d.0.len()), g.o),
    ])?;
    let slots = slots(g, scratch.len())?;
    let blocks = g.n.div_ceil(BLOCK);
    // The kernels' transposed dy tile [t, O] takes the im2col tile's place.
    let fast = implicit::<E>(g, &pl, None).filter(|_| g.o <= ckk);
    let direct = strided::<E>(g, &pl).filter(|_| want_w);
    let (slot_buf, parts) = scratch.split_at_mut(slots * slot_len(g));
    let parts = &mut parts[..blocks * part_len];
    if blocks > 0 {
        let per = blocks.div_ceil(slots);
        over_parts(
            slot_buf,
            slot_len(g),
            parts,
            per * part_len,
            |i, slot, ps, par| {
                let [col, gt, xs] = split_slot(g, &pl, slot);
                let blocks_here = ps.len() / part_len;
                for (j, part) in ps.chunks_exact_mut(part_len).enumerate() {
                    let first = (i * per + j) * BLOCK;
                    let (pw, pb) = part.split_at_mut(wl);
                    let last = (first + BLOCK).min(g.n);
                    for (k, sn) in (first..last).enumerate() {
                        let (xn, dyn_) = (&x[sn * xl..][..xl], &dy[sn * yl..][..yl]);
                        // The next block's first sample is this part's next, too.
                        let more = sn + 1 < g.n && (sn + 1 < last || j + 1 < blocks_here);
                        let next = next_sample([(x.as_ptr(), sn, xl), (dy.as_ptr(), sn, yl)], more);
                        let ops = (E::as_f32s(xn), E::as_f32s(dyn_));
                        let bufs = (E::as_f32s_mut(&mut col[..]), E::as_f32s_mut(&mut pw[..]));
                        if let (Some(st), (Some(xn), Some(dyn_)), (Some(gtt), Some(pw))) =
                            (&direct, ops, bufs)
                        {
                            st.weight(xn, dyn_, gtt, pw, k > 0, Ahead::part(next, 0, 1));
                        } else if want_w {
                            split_into(g, &pl, xn, xs);
                        }
                        let tiles = pl.tiles().enumerate();
                        for (ti, (q0, q1)) in tiles.filter(|_| want_w && direct.is_none()) {
                            let t = q1 - q0;
                            let fresh = k == 0 && q0 == 0;
                            let gtt = col.get_mut(..t * g.o).and_then(E::as_f32s_mut);
                            let ops = (E::as_f32s(dyn_), E::as_f32s(xs), E::as_f32s_mut(pw), gtt);
                            match (&fast, ops) {
                                (Some(f), (Some(dyn_), Some(xs), Some(pw), Some(gtt))) => {
                                    f.gather_t(dyn_, q0, t, gtt);
                                    let ahead = Ahead::part(next, ti, pl.count());
                                    f.weight(xs, gtt, q0, t, pw, !fresh, ahead);
                                }
                                _ => {
                                    let (col, gt) = (&mut col[..ckk * t], &mut gt[..g.o * t]);
                                    to_tile(g, &pl, dyn_, q0, q1, gt);
                                    im2col(g, &pl, xs, q0, q1, col);
                                    gemm_on(par, ckk, g.o, t, col, false, gt, true, pw, !fresh);
                                }
                            }
                        }
                        if want_b {
                            for (d, row) in pb.iter_mut().zip(dyn_.chunks_exact(g.p())) {
                                let s = row_sum(row);
                                *d = if k == 0 { s } else { *d + s };
                            }
                        }
                    }
                }
            },
        );
    }
    // The block sums in block order (dwᵀ transposed back to dw [O, C·KH·KW]).
    if let Some((dw, acc)) = dw {
        let dw = &mut dw[..wl];
        if !acc {
            dw.fill(E::zero());
        }
        for part in parts.chunks_exact(part_len) {
            for (r, row) in part[..wl].chunks_exact(g.o).enumerate() {
                for (o, v) in row.iter().enumerate() {
                    dw[o * ckk + r] += *v;
                }
            }
        }
    }
    if let Some((db, acc)) = db {
        let db = &mut db[..g.o];
        if !acc {
            db.fill(E::zero());
        }
        for part in parts.chunks_exact(part_len) {
            db.iter_mut().zip(&part[wl..]).for_each(|(d, v)| *d += *v);
        }
    }
    Ok(())
}

impl<E: Real> Conv2dKernel for Cpu<E> {
    fn conv2d_scratch(&self, g: &Conv2dGeom) -> usize {
        let slots = rayon::current_num_threads().clamp(1, g.n.max(1));
        let mut need = slots * slot_len(g) + partials_len(g);
        if let Some(gf) = as_forward(g) {
            need = need.max(slots * slot_len(&gf) + partials_len(&gf));
        }
        need
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
        forward(g, x, w, b.map(|b| &b[..]), y, scratch)
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
