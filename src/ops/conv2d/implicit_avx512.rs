//! conv2d's three products in f32 on AVX-512 with no im2col: every im2col row is a contiguous run
//! of the phase-split sample (see [`super::cpu::Plan`]), so a micro-kernel reads it where it lies,
//! at the row's offset (`off[r]`, r = (c·KH + ki)·KW + kj). im2col + GEMM copies each receptive
//! field twice (the columns, then the GEMM's packed panel of them) for 2·O flops per copied float.
//!
//! A micro-tile keeps [`MR`] × [`NV`] vectors of sums in registers (24 of the 32): each step loads
//! up to three vectors and broadcasts up to eight scalars.
//! - forward: yt[o, j] = Σ_r w[o, r] · xs[off[r] + q0 + j] (vectors along positions j);
//! - input gradient: xs'[off[r] + q0 + j] += Σ_o w[o, r] · gt[o, j] (the col2im fused in: the
//!   rows of a tile are added in r order, as [`super::cpu::col2im_add`] adds them);
//! - weight gradient: dwᵀ[r, o] (+)= Σ_j xs[off[r] + q0 + j] · gt[o, j], from gt transposed
//!   (vectors along o).
//!
//! Each sum runs in a fixed order whatever the thread, so results do not depend on the thread
//! count.
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Broadcast rows per micro-tile.
const MR: usize = 8;
/// 16-float vectors per micro-tile row.
const NV: usize = 3;

/// True when the CPU runs these kernels (AVX-512F and FMA).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The per-call tables: im2col row offsets and the weights transposed to [C·KH·KW, O].
pub struct Implicit {
    off: Vec<usize>,
    /// The weights [C·KH·KW, O] (forward only; empty otherwise).
    wt: Vec<f32>,
    o: usize,
    /// Kernel offsets per channel, KH·KW.
    taps: usize,
}

impl Implicit {
    /// Tables for `o` filters of `taps` = KH·KW offsets per channel over im2col rows starting at
    /// `off` in a phase-split sample; `w` [O, C·KH·KW] when the forward needs it transposed.
    pub fn new(off: Vec<usize>, o: usize, taps: usize, w: Option<&[f32]>) -> Self {
        let ckk = off.len();
        assert!(
            taps > 0 && ckk.is_multiple_of(taps),
            "im2col rows come in channels of taps"
        );
        let wt = w.map_or_else(Vec::new, |w| {
            (0..ckk * o).map(|i| w[(i % o) * ckk + i / o]).collect()
        });
        Implicit { off, wt, o, taps }
    }

    /// One past the last float of the sample that the columns of positions q0..q0 + t read.
    fn reach(&self, q0: usize, t: usize) -> usize {
        self.off.iter().max().map_or(0, |m| m + q0 + t)
    }

    /// yt [O, t] = w · the im2col columns of positions q0..q0 + t (t a multiple of 16).
    pub fn forward(&self, xs: &[f32], q0: usize, t: usize, yt: &mut [f32]) {
        let (o, ckk) = (self.o, self.off.len());
        assert!(t.is_multiple_of(16) && xs.len() >= self.reach(q0, t) && yt.len() >= o * t);
        assert!(self.wt.len() >= ckk * o && available());
        // SAFETY: AVX-512 is present (asserted); the asserts bound every address the tiles form.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::forward(self, xs.as_ptr().add(q0), t, yt.as_mut_ptr())
        }
    }

    /// xs' [phase-split] += the columns of positions q0..q0 + t of wᵀ · gt, with w [O, C·KH·KW]
    /// and gt [O, t] (t a multiple of 16).
    pub fn data(&self, w: &[f32], gt: &[f32], q0: usize, t: usize, dxs: &mut [f32]) {
        let (o, ckk) = (self.o, self.off.len());
        assert!(t.is_multiple_of(16) && dxs.len() >= self.reach(q0, t) && gt.len() >= o * t);
        assert!(w.len() >= o * ckk && available());
        // SAFETY: as in `forward`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::data(self, w.as_ptr(), gt.as_ptr(), t, dxs.as_mut_ptr().add(q0))
        }
    }

    /// dst [cols, rows] = src [rows, cols] transposed.
    pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
        assert!(src.len() >= rows * cols && dst.len() >= rows * cols && available());
        // SAFETY: as in `forward`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::transpose(src.as_ptr(), rows, cols, dst.as_mut_ptr())
        }
    }

    /// dwt [C·KH·KW, O] (+)= the columns of positions q0..q0 + t times gtt [t, O] (`acc`: add).
    pub fn weight(&self, xs: &[f32], gtt: &[f32], q0: usize, t: usize, dwt: &mut [f32], acc: bool) {
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
            )
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;

    /// Sums of one micro-tile: acc[i][u] = Σ_k bcast(k, i) · vector u at `vecs(k)`; the last
    /// vector's lanes outside `mask` are not read.
    #[inline(always)]
    unsafe fn tile<const R: usize, const V: usize>(
        steps: usize,
        bcast: impl Fn(usize, usize) -> f32,
        vecs: impl Fn(usize) -> *const f32,
        mask: __mmask16,
    ) -> [[__m512; V]; R] {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        for k in 0..steps {
            let p = vecs(k);
            let mut v = [_mm512_setzero_ps(); V];
            for (u, v) in v.iter_mut().enumerate() {
                let lanes = if u + 1 == V { mask } else { 0xffff };
                *v = _mm512_maskz_loadu_ps(lanes, p.add(16 * u));
            }
            for (i, acc) in acc.iter_mut().enumerate() {
                let b = _mm512_set1_ps(bcast(k, i));
                for (a, v) in acc.iter_mut().zip(&v) {
                    *a = _mm512_fmadd_ps(b, *v, *a);
                }
            }
        }
        acc
    }

    /// Runs `$body` with const R = $r (1..=8) and V = $v (1..=3).
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
                (r, v) => unreachable!("micro-tile of {r} × {v}"),
            }
        };
    }

    /// `xs` points at position q0 of the sample; yt [O, t].
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn forward(k: &Implicit, xs: *const f32, t: usize, yt: *mut f32) {
        let (o, off, wt) = (k.o, &k.off, k.wt.as_ptr());
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
                        );
                        for (i, acc) in acc.iter().enumerate() {
                            for (u, a) in acc.iter().enumerate() {
                                _mm512_storeu_ps(yt.add((o0 + i) * t + j0 + 16 * u), *a);
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
    pub unsafe fn data(k: &Implicit, w: *const f32, gt: *const f32, t: usize, dxs: *mut f32) {
        let (o, off, kk) = (k.o, &k.off, k.taps);
        let (ckk, c) = (off.len(), off.len() / kk);
        // Channel blocks of near-equal size, none over MR.
        let per = c.div_ceil(c.div_ceil(MR));
        for j0 in (0..t).step_by(16 * NV) {
            let v = (t - j0).min(16 * NV) / 16;
            for tap in 0..kk {
                for c0 in (0..c).step_by(per) {
                    let r = (c - c0).min(per);
                    let first = c0 * kk + tap;
                    macro_rules! run {
                        ($r:literal, $v:literal) => {{
                            let acc = tile::<$r, $v>(
                                o,
                                |oo, i| *w.add(oo * ckk + first + i * kk),
                                |oo| gt.add(oo * t + j0),
                                0xffff,
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

    /// dst [cols, rows] = src [rows, cols] (row strides `cols` and `rows`), 16 × 16 blocks in
    /// registers (three rounds of lane shuffles), the edges element by element.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn transpose(src: *const f32, rows: usize, cols: usize, dst: *mut f32) {
        let (rf, cf) = (rows / 16 * 16, cols / 16 * 16);
        for r0 in (0..rf).step_by(16) {
            for c0 in (0..cf).step_by(16) {
                let mut a = [_mm512_setzero_ps(); 16];
                for (i, a) in a.iter_mut().enumerate() {
                    *a = _mm512_loadu_ps(src.add((r0 + i) * cols + c0));
                }
                // Pairs of rows interleaved, then pairs of pairs: 4 × 4 blocks in each 128-bit lane.
                let mut b = [_mm512_setzero_ps(); 16];
                for i in 0..8 {
                    b[2 * i] = _mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]);
                    b[2 * i + 1] = _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]);
                }
                let pd = _mm512_castps_pd;
                let ps = _mm512_castpd_ps;
                for g in 0..4 {
                    let (x0, x1, x2, x3) = (b[4 * g], b[4 * g + 1], b[4 * g + 2], b[4 * g + 3]);
                    a[4 * g] = ps(_mm512_unpacklo_pd(pd(x0), pd(x2)));
                    a[4 * g + 1] = ps(_mm512_unpackhi_pd(pd(x0), pd(x2)));
                    a[4 * g + 2] = ps(_mm512_unpacklo_pd(pd(x1), pd(x3)));
                    a[4 * g + 3] = ps(_mm512_unpackhi_pd(pd(x1), pd(x3)));
                }
                // a[4g + k], lane l: rows 4g..4g + 4 of column 4l + k. Gather the lanes.
                for q in 0..4 {
                    let d0 = _mm512_shuffle_f32x4::<0x88>(a[q], a[4 + q]);
                    let d1 = _mm512_shuffle_f32x4::<0xdd>(a[q], a[4 + q]);
                    let e0 = _mm512_shuffle_f32x4::<0x88>(a[8 + q], a[12 + q]);
                    let e1 = _mm512_shuffle_f32x4::<0xdd>(a[8 + q], a[12 + q]);
                    let out = [
                        _mm512_shuffle_f32x4::<0x88>(d0, e0),
                        _mm512_shuffle_f32x4::<0x88>(d1, e1),
                        _mm512_shuffle_f32x4::<0xdd>(d0, e0),
                        _mm512_shuffle_f32x4::<0xdd>(d1, e1),
                    ];
                    for (l, v) in out.iter().enumerate() {
                        _mm512_storeu_ps(dst.add((c0 + 4 * l + q) * rows + r0), *v);
                    }
                }
            }
        }
        for r in 0..rows {
            let cs = if r < rf { cf..cols } else { 0..cols };
            for c in cs {
                *dst.add(c * rows + r) = *src.add(r * cols + c);
            }
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
    ) {
        let (o, off) = (k.o, &k.off);
        let ckk = off.len();
        for c0 in (0..o).step_by(16 * NV) {
            let cols = (o - c0).min(16 * NV);
            let v = cols.div_ceil(16);
            let mask: __mmask16 = match cols % 16 {
                0 => 0xffff,
                rem => (1u16 << rem) - 1,
            };
            for r0 in (0..ckk).step_by(MR) {
                let r = (ckk - r0).min(MR);
                macro_rules! run {
                    ($r:literal, $v:literal) => {{
                        let acc = tile::<$r, $v>(
                            t,
                            |j, i| *xs.add(*off.get_unchecked(r0 + i) + j),
                            |j| gtt.add(j * o + c0),
                            mask,
                        );
                        for (i, acc) in acc.iter().enumerate() {
                            for (u, a) in acc.iter().enumerate() {
                                let lanes = if u + 1 == $v { mask } else { 0xffff };
                                let p = dwt.add((r0 + i) * o + c0 + 16 * u);
                                let s = if acc_into {
                                    _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, p), *a)
                                } else {
                                    *a
                                };
                                _mm512_mask_storeu_ps(p, lanes, s);
                            }
                        }
                    }};
                }
                by_shape!(r, v, run);
            }
        }
    }
}
