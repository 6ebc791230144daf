//! conv2d's three products in f32 on AVX-512 with no im2col: every im2col row is a contiguous run
//! of the phase-split sample (see [`super::cpu::Plan`]), so a micro-kernel reads it where it lies,
//! at the row's offset (`off[r]`, r = (c·KH + ki)·KW + kj). im2col + GEMM copies each receptive
//! field twice (the columns, then the GEMM's packed panel of them) for 2·O flops per copied float.
//!
//! A micro-tile keeps up to [`MR`] × [`NV`] vectors of sums in registers (24 of the 32; the input
//! gradient's [`MR_DATA`] × [`NV`], 27): each step loads up to three vectors and broadcasts one
//! scalar per row.
//! - forward: y[o, q0 + j] = Σ_r w[o, r] · xs[off[r] + q0 + j] (vectors along positions j, packed
//!   into y's outputs as they are stored);
//! - input gradient: xs'[off[r] + q0 + j] += Σ_o w[o, r] · gt[o, j] (the col2im fused in: the
//!   rows of a tile are added in r order, as [`super::cpu::col2im_add`] adds them);
//! - weight gradient: dwᵀ[r, o] (+)= Σ_j xs[off[r] + q0 + j] · gt[o, j], from gt transposed
//!   (vectors along o). Without padding it needs no phase split at all ([`Strided`]): its
//!   broadcasts read x where it lies, at stride s, and dy is transposed densely, output row
//!   block by block (the split was a sixth of L1's weight-gradient time, waiting on x in L3).
//!
//! Each sum runs in a fixed order whatever the thread, so results do not depend on the thread
//! count.
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Broadcast rows per micro-tile.
const MR: usize = 8;
/// Broadcast rows of the input gradient's micro-tiles: 9 × 3 sums, three loaded vectors and a
/// broadcast fill the 32 registers, and a 9-channel first layer needs one channel block.
const MR_DATA: usize = 9;
/// 16-float vectors per micro-tile row.
const NV: usize = 3;
/// Floats of dy a weight-gradient block of positions reads: 16 KiB, a third of L1.
const JB_FLOATS: usize = 4096;

/// True when the CPU runs these kernels (AVX-512F and FMA).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Memory that the work after a kernel call reads or writes (the next sample's input and output),
/// fetched towards L2 while the kernel computes, so that the copies into and out of the tiles
/// wait on neither L3 nor DRAM (they were most of L1's time). Only addresses: prefetches never
/// fault, so the regions need not be valid memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ahead {
    /// (address of the first cache line, lines) of each region.
    regions: [(usize, usize); 2],
}

impl Ahead {
    /// Part `i` of `n` equal parts of each region, given as (start, elements of `T`).
    pub fn part<T>(regions: [(*const T, usize); 2], i: usize, n: usize) -> Self {
        let cut = |(p, len): (*const T, usize)| {
            let bytes = len * std::mem::size_of::<T>();
            let (lo, hi) = (bytes * i / n, bytes * (i + 1) / n);
            let first = (p as usize + lo) & !63;
            (first, (p as usize + hi).saturating_sub(first).div_ceil(64))
        };
        Ahead {
            regions: regions.map(cut),
        }
    }

    fn lines(&self) -> usize {
        self.regions[0].1 + self.regions[1].1
    }
}

/// Where the forward's sums go in y: for every 16 positions, the lanes that are outputs and the
/// output index of the first of them (the outputs of a vector are consecutive in a channel of y,
/// so its sums are packed together and stored at once, with no output tile to copy).
pub struct Outputs {
    pub lanes: Vec<(u16, u32)>,
    /// Outputs per channel, OH·OW.
    pub p: usize,
}

/// The sizes of a stride-2 phase split: x [c, h, w] padded by `pad`, phases hq × wq.
#[derive(Clone, Copy, Debug)]
pub struct Split2 {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub pad: usize,
    pub hq: usize,
    pub wq: usize,
}

/// The per-call tables: im2col row offsets, where outputs go, and for the forward the weights
/// transposed to [C·KH·KW, O].
pub struct Implicit {
    off: Vec<usize>,
    /// The largest of `off`.
    last: usize,
    /// The weights [C·KH·KW, O] (forward only; empty otherwise).
    wt: Vec<f32>,
    out: Outputs,
    o: usize,
    /// Kernel offsets per channel, KH·KW.
    taps: usize,
}

impl Implicit {
    /// Tables for `o` filters of `taps` = KH·KW offsets per channel over im2col rows starting at
    /// `off` in a phase-split sample, outputs at `out`; the forward passes `w` [O, C·KH·KW] to
    /// have it transposed.
    pub fn new(off: Vec<usize>, o: usize, taps: usize, out: Outputs, w: Option<&[f32]>) -> Self {
        let ckk = off.len();
        assert!(
            taps > 0 && ckk.is_multiple_of(taps),
            "im2col rows come in channels of taps"
        );
        let wt = w.map_or_else(Vec::new, |w| {
            (0..ckk * o).map(|i| w[(i % o) * ckk + i / o]).collect()
        });
        Implicit {
            last: off.iter().copied().max().unwrap_or(0),
            off,
            wt,
            out,
            o,
            taps,
        }
    }

    /// One past the last float of the sample that the columns of positions q0..q0 + t read.
    fn reach(&self, q0: usize, t: usize) -> usize {
        self.last + q0 + t
    }

    /// yn [O, OH·OW] at the outputs among positions q0..q0 + t = w · their im2col columns (+ b);
    /// q0 and t multiples of 16.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        xs: &[f32],
        q0: usize,
        t: usize,
        b: Option<&[f32]>,
        yn: &mut [f32],
        ahead: Ahead,
    ) {
        let (o, ckk) = (self.o, self.off.len());
        assert!(q0.is_multiple_of(16) && t.is_multiple_of(16) && xs.len() >= self.reach(q0, t));
        assert!(self.out.lanes.len() >= (q0 + t) / 16 && yn.len() >= o * self.out.p);
        assert!(self.wt.len() >= ckk * o && b.is_none_or(|b| b.len() >= o) && available());
        let bias = b.map_or(std::ptr::null(), |b| b.as_ptr());
        // SAFETY: AVX-512 is present (asserted); the asserts bound every address the tiles form
        // (an output index is below OH·OW by construction of the lanes).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::forward(self, xs.as_ptr(), q0, t, bias, yn.as_mut_ptr(), ahead)
        }
    }

    /// xs' [phase-split] += the columns of positions q0..q0 + t of wᵀ · gt, with w [O, C·KH·KW]
    /// and gt [O, t] (t a multiple of 16).
    #[allow(clippy::too_many_arguments)]
    pub fn data(&self, w: &[f32], gt: &[f32], q0: usize, t: usize, dxs: &mut [f32], ahead: Ahead) {
        let (o, ckk) = (self.o, self.off.len());
        assert!(t.is_multiple_of(16) && dxs.len() >= self.reach(q0, t) && gt.len() >= o * t);
        assert!(w.len() >= o * ckk && available());
        // SAFETY: as in `forward`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::data(
                self,
                w.as_ptr(),
                gt.as_ptr(),
                t,
                dxs.as_mut_ptr().add(q0),
                ahead,
            )
        }
    }

    /// gt [O, t] = one sample's dy [O, OH·OW] at positions q0..q0 + t, zeros at positions that
    /// are no output (q0 and t multiples of 16).
    pub fn gather(&self, dyn_: &[f32], q0: usize, t: usize, gt: &mut [f32]) {
        self.check_gather(dyn_, q0, t, gt);
        // SAFETY: as in `forward`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::gather(self, dyn_.as_ptr(), q0, t, gt.as_mut_ptr())
        }
    }

    /// gtt [t, O] = the same as [`Implicit::gather`], transposed.
    pub fn gather_t(&self, dyn_: &[f32], q0: usize, t: usize, gtt: &mut [f32]) {
        self.check_gather(dyn_, q0, t, gtt);
        // SAFETY: as in `forward`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::gather_t(self, dyn_.as_ptr(), q0, t, gtt.as_mut_ptr())
        }
    }

    /// Stride 2 with two row and two column phases (see `cpu::Plan`): the phase-split sample
    /// `xs` [C, 2, 2, hq, wq] from x [C, H, W] padded by `pad`, zeros outside the image.
    pub fn split2(x: &[f32], d: Split2, xs: &mut [f32]) {
        assert!(x.len() >= d.c * d.h * d.w && xs.len() >= d.c * 4 * d.hq * d.wq && available());
        assert!(2 * d.wq >= d.w + d.pad);
        // SAFETY: AVX-512 is present; the kernel's masks keep every access inside the slices.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::split2(x, d, xs)
        }
    }

    /// The inverse of [`Implicit::split2`] for gradients: dx (+)= the pixels of `dxs` (`acc`:
    /// add, else overwrite; every pixel is in one phase, so all of dx is written).
    pub fn unsplit2(dxs: &[f32], d: Split2, dx: &mut [f32], acc: bool) {
        assert!(dx.len() >= d.c * d.h * d.w && dxs.len() >= d.c * 4 * d.hq * d.wq && available());
        assert!(2 * d.hq >= d.h + d.pad && 2 * d.wq >= d.w + d.pad);
        // SAFETY: as in `split2`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::unsplit2(dxs, d, dx, acc)
        }
    }

    fn check_gather(&self, dyn_: &[f32], q0: usize, t: usize, dst: &[f32]) {
        let o = self.o;
        assert!(q0.is_multiple_of(16) && t.is_multiple_of(16) && dst.len() >= o * t);
        assert!(self.out.lanes.len() >= (q0 + t) / 16 && dyn_.len() >= o * self.out.p);
        assert!(available());
    }

    /// dwt [C·KH·KW, O] (+)= the columns of positions q0..q0 + t times gtt [t, O] (`acc`: add).
    #[allow(clippy::too_many_arguments)]
    pub fn weight(
        &self,
        xs: &[f32],
        gtt: &[f32],
        q0: usize,
        t: usize,
        dwt: &mut [f32],
        acc: bool,
        ahead: Ahead,
    ) {
        let (o, ckk) = (self.o, self.off.len());
        assert!(xs.len() >= self.reach(q0, t) && gtt.len() >= t * o && dwt.len() >= ckk * o);
        assert!(available());
        // SAFETY: as in `forward`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::weight(
                self,
                xs.as_ptr().add(q0),
                gtt.as_ptr(),
                t,
                dwt.as_mut_ptr(),
                acc,
                ahead,
            )
        }
    }
}

/// The weight gradient of an unpadded sample read where it lies (no phase split): im2col row
/// r = (c, ki, kj) at output (oy, ox) is x[row[r] + oy·pitch + ox·s], and dy [O, OH·OW] is read
/// densely, so no position is a non-output and no copy of x is made.
pub struct Strided {
    /// c·H·W + ki·W + kj per im2col row.
    row: Vec<usize>,
    o: usize,
    /// The stride, and x's floats per output row (s·W).
    s: usize,
    pitch: usize,
    oh: usize,
    ow: usize,
}

impl Strided {
    /// Tables for `o` filters over im2col rows at `row` in x, stride `s`, x rows `w` floats
    /// wide, outputs `oh` × `ow`.
    pub fn new(row: Vec<usize>, o: usize, s: usize, w: usize, (oh, ow): (usize, usize)) -> Self {
        Strided {
            row,
            o,
            s,
            pitch: s * w,
            oh,
            ow,
        }
    }

    /// Output rows per block: as many as keep the block's transposed dy within [`JB_FLOATS`]
    /// (16 KiB, in L1 while every micro-tile reads it), at least one.
    fn block_rows(&self) -> usize {
        (JB_FLOATS / (self.o * self.ow).max(1)).clamp(1, self.oh.max(1))
    }

    /// Floats of scratch [`Strided::weight`] needs for a block's transposed dy.
    pub fn scratch_len(&self) -> usize {
        self.block_rows() * self.ow * self.o
    }

    /// dwt [C·KH·KW, O] (+)= the weight gradient of one sample x [C, H, W] with dy [O, OH·OW]
    /// (`acc`: add), using `gtt` as scratch.
    #[allow(clippy::too_many_arguments)]
    pub fn weight(
        &self,
        x: &[f32],
        dyn_: &[f32],
        gtt: &mut [f32],
        dwt: &mut [f32],
        acc: bool,
        ahead: Ahead,
    ) {
        let (o, ckk) = (self.o, self.row.len());
        let last = self
            .row
            .iter()
            .max()
            .map(|r| r + (self.oh - 1) * self.pitch);
        let reach = last.map_or(0, |l| l + (self.ow - 1) * self.s + 1);
        assert!(self.oh > 0 && self.ow > 0 && x.len() >= reach && available());
        assert!(dyn_.len() >= o * self.oh * self.ow && gtt.len() >= self.scratch_len());
        assert!(dwt.len() >= ckk * o);
        // SAFETY: AVX-512 is present; the asserts bound every address: x up to `reach`, dy's
        // OH·OW positions per channel, `gtt` a block, `dwt` [C·KH·KW, O].
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::weight_strided(
                self,
                x.as_ptr(),
                dyn_.as_ptr(),
                gtt.as_mut_ptr(),
                dwt.as_mut_ptr(),
                acc,
                ahead,
            )
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;

    /// Which lines of an [`Ahead`] the micro-tiles of a call fetch: micro-tile m of `tiles`
    /// fetches lines m·per.. (m + 1)·per, one at each of its steps, the rest after them.
    #[derive(Clone, Copy)]
    struct Spread {
        ahead: Ahead,
        per: usize,
    }

    /// One micro-tile's lines: k < n0 at a0 + 64·k, n0 ≤ k < n at b1 + 64·k. Four numbers, so
    /// that the loop keeps its row addresses in registers.
    #[derive(Clone, Copy)]
    struct Lines {
        a0: usize,
        b1: usize,
        n0: usize,
        n: usize,
    }

    impl Spread {
        fn new(ahead: Ahead, tiles: usize) -> Self {
            let per = ahead.lines().div_ceil(tiles.max(1));
            Spread { ahead, per }
        }

        fn lines(&self, m: usize) -> Lines {
            let [(a0, n0), (a1, _)] = self.ahead.regions;
            let first = m * self.per;
            let n = self.ahead.lines().saturating_sub(first).min(self.per);
            Lines {
                a0: a0.wrapping_add(64 * first),
                b1: a1.wrapping_add(64 * first).wrapping_sub(64 * n0),
                n0: n0.saturating_sub(first).min(n),
                n,
            }
        }
    }

    impl Lines {
        #[inline(always)]
        fn step(&self, k: usize) {
            if k < self.n {
                let at = if k < self.n0 { self.a0 } else { self.b1 };
                // SAFETY: a prefetch is a hint; it reads nothing and cannot fault.
                unsafe { _mm_prefetch::<_MM_HINT_T1>(at.wrapping_add(64 * k) as *const i8) }
            }
        }
    }

    /// Sums of one micro-tile: acc[i][u] = Σ_k bcast(k, i) · vector u at `vecs(k)`; the last
    /// vector's lanes outside `mask` are not read. Step k also fetches micro-tile m's share of
    /// `spread`.
    #[inline(always)]
    unsafe fn tile<const R: usize, const V: usize>(
        steps: usize,
        bcast: impl Fn(usize, usize) -> f32,
        vecs: impl Fn(usize) -> *const f32,
        mask: __mmask16,
        (spread, m): (&Spread, usize),
    ) -> [[__m512; V]; R] {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let lines = spread.lines(m);
        for k in steps..lines.n {
            lines.step(k);
        }
        for k in 0..steps {
            lines.step(k);
            fma_step(&mut acc, vecs(k), mask, |i| bcast(k, i));
        }
        acc
    }

    /// acc[i][u] += bcast(i) · the u-th vector at `p` (the last one's lanes outside `mask` not
    /// read).
    #[inline(always)]
    unsafe fn fma_step<const R: usize, const V: usize>(
        acc: &mut [[__m512; V]; R],
        p: *const f32,
        mask: __mmask16,
        bcast: impl Fn(usize) -> f32,
    ) {
        let mut v = [_mm512_setzero_ps(); V];
        for (u, v) in v.iter_mut().enumerate() {
            let lanes = if u + 1 == V { mask } else { 0xffff };
            *v = _mm512_maskz_loadu_ps(lanes, p.add(16 * u));
        }
        for (i, acc) in acc.iter_mut().enumerate() {
            let b = _mm512_set1_ps(bcast(i));
            for (a, v) in acc.iter_mut().zip(&v) {
                *a = _mm512_fmadd_ps(b, *v, *a);
            }
        }
    }

    /// The weight gradient's micro-tile read from x itself: `rows` output rows of `ow` outputs,
    /// output (y, j) reading x at xr[i] + y·pitch + j·s for row i; gtt [rows·ow, O] at the
    /// tile's first column.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn strided_tile<const R: usize, const V: usize>(
        xr: [*const f32; R],
        (rows, ow, s, pitch): (usize, usize, usize, usize),
        gtt: *const f32,
        o: usize,
        mask: __mmask16,
        (spread, m): (&Spread, usize),
    ) -> [[__m512; V]; R] {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let lines = spread.lines(m);
        for k in rows * ow..lines.n {
            lines.step(k);
        }
        let mut k = 0;
        for y in 0..rows {
            let row = y * pitch;
            for j in 0..ow {
                lines.step(k);
                let at = row + j * s;
                fma_step(&mut acc, gtt.add(k * o), mask, |i| *xr[i].add(at));
                k += 1;
            }
        }
        acc
    }

    /// dwt[r0 + i, c0 + 16u ..] (+)= acc[i][u] (`acc_into`: add), row pitch `o`.
    #[inline(always)]
    unsafe fn store_sums<const R: usize, const V: usize>(
        acc: &[[__m512; V]; R],
        dwt: *mut f32,
        o: usize,
        mask: __mmask16,
        acc_into: bool,
    ) {
        for (i, acc) in acc.iter().enumerate() {
            for (u, a) in acc.iter().enumerate() {
                let lanes = if u + 1 == V { mask } else { 0xffff };
                let p = dwt.add(i * o + 16 * u);
                let s = if acc_into {
                    _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, p), *a)
                } else {
                    *a
                };
                _mm512_mask_storeu_ps(p, lanes, s);
            }
        }
    }

    /// Runs `$body` with const R = $r (1..=9) and V = $v (1..=3).
    macro_rules! by_shape {
        ($r:expr, $v:expr, $body:ident) => {
            match ($r, $v) {
                (1, 1) => $body!(1, 1),
                (1, 2) => $body!(1, 2),
                (1, 3) => $body!(1, 3),
                (2, 1) => $body!(2, 1),
                (2, 2) => $body!(2, 2),
                (2, 3) => $body!(2, 3),
                (3, 1) => $body!(3, 1),
                (3, 2) => $body!(3, 2),
                (3, 3) => $body!(3, 3),
                (4, 1) => $body!(4, 1),
                (4, 2) => $body!(4, 2),
                (4, 3) => $body!(4, 3),
                (5, 1) => $body!(5, 1),
                (5, 2) => $body!(5, 2),
                (5, 3) => $body!(5, 3),
                (6, 1) => $body!(6, 1),
                (6, 2) => $body!(6, 2),
                (6, 3) => $body!(6, 3),
                (7, 1) => $body!(7, 1),
                (7, 2) => $body!(7, 2),
                (7, 3) => $body!(7, 3),
                (8, 1) => $body!(8, 1),
                (8, 2) => $body!(8, 2),
                (8, 3) => $body!(8, 3),
                (9, 1) => $body!(9, 1),
                (9, 2) => $body!(9, 2),
                (9, 3) => $body!(9, 3),
                (r, v) => unreachable!("micro-tile of {r} × {v}"),
            }
        };
    }

    /// `xs` points at the sample; `bias` may be null; yn [O, OH·OW].
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn forward(
        k: &Implicit,
        xs: *const f32,
        q0: usize,
        t: usize,
        bias: *const f32,
        yn: *mut f32,
        ahead: Ahead,
    ) {
        let (o, off, wt) = (k.o, &k.off, k.wt.as_ptr());
        let (jn, on) = (t.div_ceil(16 * NV), o.div_ceil(MR));
        let spread = Spread::new(ahead, jn * on);
        let xs = xs.add(q0);
        for j0 in (0..t).step_by(16 * NV) {
            let v = (t - j0).min(16 * NV) / 16;
            for o0 in (0..o).step_by(MR) {
                let r = (o - o0).min(MR);
                macro_rules! run {
                    ($r:literal, $v:literal) => {{
                        let acc = tile::<$r, $v>(
                            off.len(),
                            |kk, i| *wt.add(kk * o + o0 + i),
                            |kk| xs.add(*off.get_unchecked(kk) + j0),
                            0xffff,
                            (&spread, j0 / (16 * NV) * on + o0 / MR),
                        );
                        for (i, acc) in acc.iter().enumerate() {
                            let b = if bias.is_null() {
                                0.0
                            } else {
                                *bias.add(o0 + i)
                            };
                            let row = yn.add((o0 + i) * k.out.p);
                            for (u, a) in acc.iter().enumerate() {
                                let (m, p) = *k.out.lanes.get_unchecked((q0 + j0) / 16 + u);
                                let s = _mm512_add_ps(*a, _mm512_set1_ps(b));
                                let d = row.add(p as usize);
                                if m == 0xffff {
                                    _mm512_storeu_ps(d, s);
                                } else if m != 0 {
                                    let packed = (1u16 << m.count_ones()) - 1;
                                    _mm512_mask_storeu_ps(
                                        d,
                                        packed,
                                        _mm512_maskz_compress_ps(m, s),
                                    );
                                }
                            }
                        }
                    }};
                }
                by_shape!(r, v, run);
            }
        }
    }

    /// `dxs` points at position q0 of the sample's gradient; w [O, C·KH·KW], gt [O, t]. A
    /// micro-tile's rows are channels at one kernel offset: their runs of xs' lie in different
    /// phase images, so the adds of one row never wait on the stores of the row before (rows at
    /// neighbouring offsets overlap, shifted by one, which store forwarding cannot serve).
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn data(
        k: &Implicit,
        w: *const f32,
        gt: *const f32,
        t: usize,
        dxs: *mut f32,
        ahead: Ahead,
    ) {
        let (o, off, kk) = (k.o, &k.off, k.taps);
        let (ckk, c) = (off.len(), off.len() / kk);
        // Channel blocks of near-equal size, none over MR.
        let per = c.div_ceil(c.div_ceil(MR_DATA));
        let cn = c.div_ceil(per);
        let spread = Spread::new(ahead, t.div_ceil(16 * NV) * kk * cn);
        for j0 in (0..t).step_by(16 * NV) {
            let v = (t - j0).min(16 * NV) / 16;
            for tap in 0..kk {
                for c0 in (0..c).step_by(per) {
                    let m = (j0 / (16 * NV) * kk + tap) * cn + c0 / per;
                    let r = (c - c0).min(per);
                    let first = c0 * kk + tap;
                    macro_rules! run {
                        ($r:literal, $v:literal) => {{
                            let acc = tile::<$r, $v>(
                                o,
                                |oo, i| *w.add(oo * ckk + first + i * kk),
                                |oo| gt.add(oo * t + j0),
                                0xffff,
                                (&spread, m),
                            );
                            for (i, acc) in acc.iter().enumerate() {
                                let d = dxs.add(*off.get_unchecked(first + i * kk) + j0);
                                for (u, a) in acc.iter().enumerate() {
                                    let p = d.add(16 * u);
                                    _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), *a));
                                }
                            }
                        }};
                    }
                    by_shape!(r, v, run);
                }
            }
        }
    }

    /// The 16 × 16 block with rows `a` transposed (three rounds of lane shuffles): row c of
    /// the result is column c of `a`.
    #[inline(always)]
    unsafe fn transpose16(a: [__m512; 16]) -> [__m512; 16] {
        // Pairs of rows interleaved, then pairs of pairs: 4 × 4 blocks in each 128-bit lane.
        let mut b = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            b[2 * i] = _mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]);
            b[2 * i + 1] = _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]);
        }
        let pd = _mm512_castps_pd;
        let ps = _mm512_castpd_ps;
        let mut a = a;
        for g in 0..4 {
            let (x0, x1, x2, x3) = (b[4 * g], b[4 * g + 1], b[4 * g + 2], b[4 * g + 3]);
            a[4 * g] = ps(_mm512_unpacklo_pd(pd(x0), pd(x2)));
            a[4 * g + 1] = ps(_mm512_unpackhi_pd(pd(x0), pd(x2)));
            a[4 * g + 2] = ps(_mm512_unpacklo_pd(pd(x1), pd(x3)));
            a[4 * g + 3] = ps(_mm512_unpackhi_pd(pd(x1), pd(x3)));
        }
        // a[4g + k], lane l: rows 4g..4g + 4 of column 4l + k. Gather the lanes.
        let mut out = [_mm512_setzero_ps(); 16];
        for q in 0..4 {
            let d0 = _mm512_shuffle_f32x4::<0x88>(a[q], a[4 + q]);
            let d1 = _mm512_shuffle_f32x4::<0xdd>(a[q], a[4 + q]);
            let e0 = _mm512_shuffle_f32x4::<0x88>(a[8 + q], a[12 + q]);
            let e1 = _mm512_shuffle_f32x4::<0xdd>(a[8 + q], a[12 + q]);
            out[q] = _mm512_shuffle_f32x4::<0x88>(d0, e0);
            out[4 + q] = _mm512_shuffle_f32x4::<0x88>(d1, e1);
            out[8 + q] = _mm512_shuffle_f32x4::<0xdd>(d0, e0);
            out[12 + q] = _mm512_shuffle_f32x4::<0xdd>(d1, e1);
        }
        out
    }

    /// The 16 positions of vector `v` of output channel `row` (zeros where no output): the
    /// outputs are consecutive in dy, so one expanding load places them.
    #[inline(always)]
    unsafe fn lanes_of(k: &Implicit, dyn_: *const f32, row: usize, v: usize) -> __m512 {
        let (m, p) = *k.out.lanes.get_unchecked(v);
        _mm512_maskz_expandloadu_ps(m, dyn_.add(row * k.out.p + p as usize))
    }

    /// Lanes of the 16 positions from `at` (which may be negative) inside 0..len.
    #[inline(always)]
    fn inside(at: isize, len: usize) -> __mmask16 {
        let lo = (-at).clamp(0, 16) as u32;
        let hi = (len as isize - at).clamp(0, 16) as u32;
        below(hi as usize) & !below(lo as usize)
    }

    /// The first `n` lanes (all 16 from n = 16 on).
    #[inline(always)]
    fn below(n: usize) -> __mmask16 {
        if n >= 16 {
            0xffff
        } else {
            (1u16 << n) - 1
        }
    }

    /// Even and odd lanes of two vectors, and their inverse.
    const EVEN: [i32; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];
    const LOW: [i32; 16] = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];

    /// For each 16 phase columns j: the lanes inside the phase row, and the lanes of the two
    /// vectors of padded columns 2j.. 2j + 32 inside the image row.
    fn row_masks(d: Split2) -> Vec<[__mmask16; 3]> {
        (0..d.wq)
            .step_by(16)
            .map(|j| {
                let at = 2 * j as isize - d.pad as isize;
                [
                    inside(j as isize, d.wq),
                    inside(at, d.w),
                    inside(at + 16, d.w),
                ]
            })
            .collect()
    }

    /// Calls `f(image row or None in the padding, first phase row)` for every row pair of the
    /// split: phase rows `p` (column phase 0) and `p + hq` (column phase 1).
    #[inline(always)]
    fn row_pairs(d: Split2, mut f: impl FnMut(Option<usize>, usize)) {
        for c in 0..d.c {
            for a in 0..2 {
                for i in 0..d.hq {
                    let r = (2 * i + a).checked_sub(d.pad).filter(|&r| r < d.h);
                    f(r.map(|r| c * d.h + r), (c * 2 + a) * 2 * d.hq + i);
                }
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn split2(x: &[f32], d: Split2, xs: &mut [f32]) {
        let even = _mm512_loadu_si512(EVEN.as_ptr().cast());
        let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
        let masks = row_masks(d);
        let (xp, xsp) = (x.as_ptr(), xs.as_mut_ptr());
        row_pairs(d, |r, p| {
            let (e, o) = (xsp.add(p * d.wq), xsp.add((p + d.hq) * d.wq));
            for (v, &[m, l0, l1]) in masks.iter().enumerate() {
                let j = 16 * v;
                let (v0, v1) = match r {
                    Some(r) => {
                        let src = xp
                            .add(r * d.w)
                            .wrapping_offset(2 * j as isize - d.pad as isize);
                        let v0 = _mm512_maskz_loadu_ps(l0, src);
                        (v0, _mm512_maskz_loadu_ps(l1, src.wrapping_add(16)))
                    }
                    None => (_mm512_setzero_ps(), _mm512_setzero_ps()),
                };
                _mm512_mask_storeu_ps(e.add(j), m, _mm512_permutex2var_ps(v0, even, v1));
                _mm512_mask_storeu_ps(o.add(j), m, _mm512_permutex2var_ps(v0, odd, v1));
            }
        })
    }

    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn unsplit2(dxs: &[f32], d: Split2, dx: &mut [f32], acc: bool) {
        let low = _mm512_loadu_si512(LOW.as_ptr().cast());
        let high = _mm512_add_epi32(low, _mm512_set1_epi32(8));
        let masks = row_masks(d);
        let (dxsp, dxp) = (dxs.as_ptr(), dx.as_mut_ptr());
        row_pairs(d, |r, p| {
            let Some(r) = r else { return };
            let (e, o) = (dxsp.add(p * d.wq), dxsp.add((p + d.hq) * d.wq));
            let row = dxp.add(r * d.w);
            for (v, &[m, l0, l1]) in masks.iter().enumerate() {
                let j = 16 * v;
                let (ve, vo) = (
                    _mm512_maskz_loadu_ps(m, e.add(j)),
                    _mm512_maskz_loadu_ps(m, o.add(j)),
                );
                let at = 2 * j as isize - d.pad as isize;
                for (h, idx, lanes) in [(0, low, l0), (16, high, l1)] {
                    let v = _mm512_permutex2var_ps(ve, idx, vo);
                    let dst = row.wrapping_offset(at + h);
                    let v = if acc {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, dst), v)
                    } else {
                        v
                    };
                    _mm512_mask_storeu_ps(dst, lanes, v);
                }
            }
        })
    }

    /// gt [O, t] from dy [O, OH·OW].
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn gather(k: &Implicit, dyn_: *const f32, q0: usize, t: usize, gt: *mut f32) {
        for row in 0..k.o {
            for j in (0..t).step_by(16) {
                _mm512_storeu_ps(gt.add(row * t + j), lanes_of(k, dyn_, row, (q0 + j) / 16));
            }
        }
    }

    /// gtt [t, O] from dy [O, OH·OW]: 16 channels × 16 positions at a time, transposed in
    /// registers (channels past O are zeros, and not stored).
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn gather_t(k: &Implicit, dyn_: *const f32, q0: usize, t: usize, gtt: *mut f32) {
        let o = k.o;
        for j in (0..t).step_by(16) {
            for o0 in (0..o).step_by(16) {
                let mut a = [_mm512_setzero_ps(); 16];
                for (i, a) in a.iter_mut().enumerate().take(o - o0) {
                    *a = lanes_of(k, dyn_, o0 + i, (q0 + j) / 16);
                }
                store_t(a, gtt.add(j * o + o0), o, 16, below(o - o0));
            }
        }
    }

    /// gtt [t, O] from dy [O, p] read densely from position 0 of `dy` (t ≤ p).
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn dense_t(dy: *const f32, p: usize, o: usize, t: usize, gtt: *mut f32) {
        for j in (0..t).step_by(16) {
            let lanes = below(t - j);
            for o0 in (0..o).step_by(16) {
                let mut a = [_mm512_setzero_ps(); 16];
                for (i, a) in a.iter_mut().enumerate().take(o - o0) {
                    *a = _mm512_maskz_loadu_ps(lanes, dy.add((o0 + i) * p + j));
                }
                store_t(a, gtt.add(j * o + o0), o, (t - j).min(16), below(o - o0));
            }
        }
    }

    /// The weight gradient's column chunks of O: (first column, vectors, lanes of the last).
    #[inline(always)]
    fn columns(o: usize) -> impl Iterator<Item = (usize, usize, __mmask16)> {
        (0..o).step_by(16 * NV).map(move |c0| {
            let cols = (o - c0).min(16 * NV);
            let v = cols.div_ceil(16);
            (c0, v, below(cols - 16 * (v - 1)))
        })
    }

    /// The first `rows` rows of the transposed 16 × 16 block `a` into `gtt` (row pitch `o`),
    /// the lanes in `cols` of each.
    #[inline(always)]
    unsafe fn store_t(a: [__m512; 16], gtt: *mut f32, o: usize, rows: usize, cols: __mmask16) {
        for (l, r) in transpose16(a).iter().enumerate().take(rows) {
            _mm512_mask_storeu_ps(gtt.add(l * o), cols, *r);
        }
    }

    /// `xs` points at position q0 of the sample; gtt [t, O]; dwt [C·KH·KW, O].
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn weight(
        k: &Implicit,
        xs: *const f32,
        gtt: *const f32,
        t: usize,
        dwt: *mut f32,
        acc_into: bool,
        ahead: Ahead,
    ) {
        let (o, off) = (k.o, &k.off);
        let ckk = off.len();
        let rn = ckk.div_ceil(MR);
        // Positions in blocks whose dy rows (j0..j0 + JB of gtt) stay in L1 while every
        // micro-tile reads them; the sums go through dwt between blocks.
        let jb = (JB_FLOATS / o.max(1)).max(16);
        let blocks = t.div_ceil(jb);
        let spread = Spread::new(ahead, blocks * o.div_ceil(16 * NV) * rn);
        for j0 in (0..t).step_by(jb) {
            let (t, acc_into) = ((t - j0).min(jb), acc_into || j0 > 0);
            let (xs, gtt) = (xs.add(j0), gtt.add(j0 * o));
            let m0 = j0 / jb * o.div_ceil(16 * NV) * rn;
            for (c0, v, mask) in columns(o) {
                for r0 in (0..ckk).step_by(MR) {
                    let r = (ckk - r0).min(MR);
                    macro_rules! run {
                        ($r:literal, $v:literal) => {{
                            let acc = tile::<$r, $v>(
                                t,
                                |j, i| *xs.add(*off.get_unchecked(r0 + i) + j),
                                |j| gtt.add(j * o + c0),
                                mask,
                                (&spread, m0 + c0 / (16 * NV) * rn + r0 / MR),
                            );
                            store_sums(&acc, dwt.add(r0 * o + c0), o, mask, acc_into);
                        }};
                    }
                    by_shape!(r, v, run);
                }
            }
        }
    }

    /// dwt [C·KH·KW, O] (+)= the sample's im2col columns times dy, read where they lie: blocks
    /// of output rows, each block's dy transposed into `gtt` [t, O] and multiplied by every
    /// micro-tile while it sits in L1.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn weight_strided(
        k: &Strided,
        x: *const f32,
        dyn_: *const f32,
        gtt: *mut f32,
        dwt: *mut f32,
        acc_into: bool,
        ahead: Ahead,
    ) {
        let (o, ckk, ow) = (k.o, k.row.len(), k.ow);
        let (rn, cn, nb) = (ckk.div_ceil(MR), o.div_ceil(16 * NV), k.block_rows());
        let spread = Spread::new(ahead, k.oh.div_ceil(nb) * cn * rn);
        for y0 in (0..k.oh).step_by(nb) {
            let rows = (k.oh - y0).min(nb);
            dense_t(dyn_.add(y0 * ow), k.oh * ow, o, rows * ow, gtt);
            let acc_into = acc_into || y0 > 0;
            let xb = x.add(y0 * k.pitch);
            for (c0, v, mask) in columns(o) {
                for r0 in (0..ckk).step_by(MR) {
                    let r = (ckk - r0).min(MR);
                    let m = (y0 / nb * cn + c0 / (16 * NV)) * rn + r0 / MR;
                    macro_rules! run {
                        ($r:literal, $v:literal) => {{
                            let xr: [*const f32; $r] =
                                std::array::from_fn(|i| xb.add(*k.row.get_unchecked(r0 + i)));
                            let acc = strided_tile::<$r, $v>(
                                xr,
                                (rows, ow, k.s, k.pitch),
                                gtt.add(c0),
                                o,
                                mask,
                                (&spread, m),
                            );
                            store_sums(&acc, dwt.add(r0 * o + c0), o, mask, acc_into);
                        }};
                    }
                    by_shape!(r, v, run);
                }
            }
        }
    }
}
