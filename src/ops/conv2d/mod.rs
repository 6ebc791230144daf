//! 2-D convolution over NCHW images (the pixel encoders of model-free RL): x [N, C, H, W] ⋆
//! w [O, C, KH, KW] (+ b [O]) → y [N, O, OH, OW], one stride and one zero padding (smaller than
//! the kernel) for both axes, OH = (H + 2·pad − KH) / stride + 1 (likewise OW).
//!
//! Both backends lower it to GEMMs over im2col columns: per sample, col [C·KH·KW, OH·OW] holds
//! every receptive field as a column, and
//! - forward: y_n [O, OH·OW] = w [O, C·KH·KW] · col_n;
//! - input gradient: dcol_n = wᵀ · dy_n, folded back onto dx_n (col2im: each input pixel sums
//!   the entries of the windows that cover it);
//! - weight gradient: dw = Σ_n dy_n · col_nᵀ; bias gradient: db[o] = Σ_{n, p} dy[n, o, p].
//!
//! In f32 on a CPU with AVX-512 the three products run without the im2col copy
//! ([`implicit_avx512`]), reading each column's run where it lies in the phase-split sample.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod implicit_avx512;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::ops::GradOut;
use crate::tensor::Shape;
use crate::{shape_err, Result};

/// The sizes of one convolution, checked by [`Conv2dGeom::new`] (the only way to make one, so the
/// kernels can rely on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeom {
    /// Batch.
    n: usize,
    /// Input channels, height, width.
    c: usize,
    h: usize,
    w: usize,
    /// Output channels (filters).
    o: usize,
    /// Kernel height and width.
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
    /// Output height and width.
    oh: usize,
    ow: usize,
}

impl Conv2dGeom {
    /// The geometry of x `[N, C, H, W]` ⋆ w `[O, C, KH, KW]`, or a shape error naming both.
    pub fn new(x: &[usize], w: &[usize], stride: usize, pad: usize) -> Result<Self> {
        let bad = |why: &str| {
            shape_err!("conv2d: x {x:?}, w {w:?}, stride {stride}, padding {pad}: {why}")
        };
        let ([n, c, h, wd], [o, wc, kh, kw]) = (x, w) else {
            return Err(bad("need x [N, C, H, W] and w [O, C, KH, KW]"));
        };
        let (n, c, h, wd, o, kh, kw) = (*n, *c, *h, *wd, *o, *kh, *kw);
        if *wc != c {
            return Err(bad("input channels differ"));
        }
        if stride == 0 {
            return Err(bad("stride must be at least 1"));
        }
        if kh == 0 || kw == 0 || c == 0 || o == 0 {
            return Err(bad("empty kernel or channel axis"));
        }
        // Wider padding only adds windows of zeros, and would let a small input ask for an
        // output of any size.
        if pad >= kh.max(kw) {
            return Err(bad("padding must be smaller than the kernel"));
        }
        let span = |len: usize, k: usize| {
            len.checked_add(pad.checked_mul(2)?)?
                .checked_sub(k)
                .map(|s| s / stride + 1)
        };
        let (Some(oh), Some(ow)) = (span(h, kh), span(wd, kw)) else {
            return Err(bad("the kernel is larger than the padded input"));
        };
        let g = Conv2dGeom {
            n,
            c,
            h,
            w: wd,
            o,
            kh,
            kw,
            stride,
            pad,
            oh,
            ow,
        };
        // Every buffer size below must be representable (absurd shapes are errors, not overflows).
        let sizes = [
            n.checked_mul(o).and_then(|v| v.checked_mul(oh * ow)),
            g.ckk().checked_mul(oh).and_then(|v| v.checked_mul(ow)),
        ];
        if sizes
            .iter()
            .any(|s| s.is_none_or(|s| s > isize::MAX as usize / 8))
        {
            return Err(bad("the output or its im2col buffer is too large"));
        }
        Ok(g)
    }
    /// Batch size N.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Filters O.
    pub fn o(&self) -> usize {
        self.o
    }
    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        (self.oh, self.ow)
    }
    /// Rows of an im2col buffer (and columns of w): C·KH·KW.
    pub fn ckk(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Output pixels per channel: OH·OW.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }
    /// Elements of one sample's input, output and im2col buffer.
    pub fn x_len(&self) -> usize {
        self.c * self.h * self.w
    }
    pub fn y_len(&self) -> usize {
        self.o * self.p()
    }
    pub fn col_len(&self) -> usize {
        self.ckk() * self.p()
    }
    /// Floating-point operations of the forward product (each of the two backward products costs
    /// the same): 2·N·O·C·KH·KW·OH·OW.
    pub fn flops(&self) -> usize {
        2 * self.n * self.o * self.ckk() * self.p()
    }
    /// The output shape [N, O, OH, OW].
    pub fn out_shape(&self) -> Shape {
        Shape::new(&[self.n, self.o, self.oh, self.ow])
    }
}

/// The convolution kernels of a backend. `scratch` is a buffer of at least
/// [`Conv2dKernel::conv2d_scratch`] elements from the tape's pool (the CPU's per-thread im2col
/// columns and weight-gradient partial sums; the CUDA backend keeps its own device scratch).
pub trait Conv2dKernel: Backend {
    /// Scratch elements the kernels below need for `g`.
    fn conv2d_scratch(&self, g: &Conv2dGeom) -> usize;
    /// y = x ⋆ w (+ b), every element written.
    fn conv2d_fwd(
        &self,
        g: &Conv2dGeom,
        x: &Self::Buf,
        w: &Self::Buf,
        b: Option<&Self::Buf>,
        y: &mut Self::Buf,
        scratch: &mut Self::Buf,
    ) -> Result<()>;
    /// dx (+)= the input gradient of dy (`acc`: add, else overwrite).
    #[allow(clippy::too_many_arguments)]
    fn conv2d_bwd_data(
        &self,
        g: &Conv2dGeom,
        w: &Self::Buf,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
        acc: bool,
        scratch: &mut Self::Buf,
    ) -> Result<()>;
    /// dw and db (+)= the parameter gradients of dy, for those present.
    fn conv2d_bwd_params(
        &self,
        g: &Conv2dGeom,
        x: &Self::Buf,
        dy: &Self::Buf,
        dw: GradOut<'_, Self>,
        db: GradOut<'_, Self>,
        scratch: &mut Self::Buf,
    ) -> Result<()>;
}

impl<B: Conv2dKernel> Tape<'_, B> {
    /// y [N, O, OH, OW] = x [N, C, H, W] ⋆ w [O, C, KH, KW] (+ b [O]), with `stride` and zero
    /// `padding` on both spatial axes.
    pub fn conv2d(
        &mut self,
        x: Var,
        w: Var,
        b: Option<Var>,
        stride: usize,
        padding: usize,
    ) -> Result<Var> {
        let g = Conv2dGeom::new(self.dims(x), self.dims(w), stride, padding)?;
        if let Some(b) = b {
            if self.dims(b) != [g.o] {
                return Err(shape_err!(
                    "conv2d: bias {:?} does not match {} filters (need [{}])",
                    self.shape(b),
                    g.o,
                    g.o
                ));
            }
        }
        let mut y = self.alloc(g.n * g.y_len())?;
        let mut scratch = self.alloc(self.backend().conv2d_scratch(&g))?;
        let bv = match b {
            Some(b) => Some(self.buf(b)?),
            None => None,
        };
        let res =
            self.backend()
                .conv2d_fwd(&g, self.buf(x)?, self.buf(w)?, bv, &mut y, &mut scratch);
        self.recycle(scratch);
        res?;
        let inputs = [x, w, b.unwrap_or(x)];
        Ok(self.push(g.out_shape(), y, Conv2d { x, w, b, g }, &inputs))
    }
}

struct Conv2d {
    x: Var,
    w: Var,
    b: Option<Var>,
    g: Conv2dGeom,
}

impl<B: Conv2dKernel> Backward<B> for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, dy: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let g = &self.g;
        let n_scratch = s.backend().conv2d_scratch(g);
        if let (Some(mut dx), acc) = s.take_write(self.x)? {
            let mut scratch = s.scratch(n_scratch)?;
            let res =
                s.backend()
                    .conv2d_bwd_data(g, t.buf(self.w)?, dy, &mut dx, acc, &mut scratch);
            s.give(scratch);
            res?;
            s.put(self.x, Some(dx))?;
        }
        let (mut dw, acc_w) = s.take_write(self.w)?;
        let (mut db, acc_b) = match self.b {
            Some(b) => s.take_write(b)?,
            None => (None, false),
        };
        if dw.is_some() || db.is_some() {
            let mut scratch = s.scratch(n_scratch)?;
            let res = s.backend().conv2d_bwd_params(
                g,
                t.buf(self.x)?,
                dy,
                dw.as_mut().map(|d| (d, acc_w)),
                db.as_mut().map(|d| (d, acc_b)),
                &mut scratch,
            );
            s.give(scratch);
            res?;
        }
        s.put(self.w, dw)?;
        if let Some(b) = self.b {
            s.put(b, db)?;
        }
        Ok(())
    }
}
