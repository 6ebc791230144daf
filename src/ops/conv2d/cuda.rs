//! Convolution on the device: the im2col / col2im kernels of `kernels/conv2d.cu` around the GEMM
//! of the matmul op (`launch::gemm::gemm`: cuBLAS, in the device's GEMM precision), batched over
//! the samples of a chunk with the weight shared (stride 0). The batch runs in chunks whose im2col
//! buffer fits [`COL_MAX`] floats of device scratch; with more than one chunk, the GEMM operands and
//! results of a chunk pass through scratch copies (cuBLAS is given whole buffers). Weight gradients
//! are per-sample products summed by the deterministic column sum; the bias gradient is a block
//! sum per channel.
use super::{Conv2dGeom, Conv2dKernel};
use crate::backend::cuda::kernels::conv2d as k;
use crate::backend::cuda::launch::gemm::{gemm, RowGemm};
use crate::backend::cuda::launch::reduce::sum_cols;
use crate::backend::cuda::launch::{grid_1d, int, need, BLOCK_1D};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::ops::GradOut;
use crate::Result;
use cudarc::driver::LaunchConfig;

/// The largest im2col buffer, in floats (256 MiB): a batch of 128 at the pixel encoder's 32 → 32
/// channel 3×3 layers (56 M floats) runs as one chunk.
pub const COL_MAX: usize = 1 << 26;

impl Conv2dKernel for Cuda {
    fn conv2d_scratch(&self, _: &Conv2dGeom) -> usize {
        0
    }
    fn conv2d_fwd(
        &self,
        g: &Conv2dGeom,
        x: &DevBuf,
        w: &DevBuf,
        b: Option<&DevBuf>,
        y: &mut DevBuf,
        _scratch: &mut DevBuf,
    ) -> Result<()> {
        Ok(conv2d_fwd(self.dev(), y, x, w, b, g, COL_MAX)?)
    }
    fn conv2d_bwd_data(
        &self,
        g: &Conv2dGeom,
        w: &DevBuf,
        dy: &DevBuf,
        dx: &mut DevBuf,
        acc: bool,
        _scratch: &mut DevBuf,
    ) -> Result<()> {
        Ok(conv2d_bwd_data(self.dev(), dx, acc, w, dy, g, COL_MAX)?)
    }
    fn conv2d_bwd_params(
        &self,
        g: &Conv2dGeom,
        x: &DevBuf,
        dy: &DevBuf,
        dw: GradOut<'_, Self>,
        db: GradOut<'_, Self>,
        _scratch: &mut DevBuf,
    ) -> Result<()> {
        Ok(conv2d_bwd_params(self.dev(), dw, db, x, dy, g, COL_MAX)?)
    }
}

/// The geometry as the kernels' ints: c, h, w, kh, kw, stride, pad, oh, ow.
fn dims(g: &Conv2dGeom) -> cu::Result<[i32; 9]> {
    let v = [g.c, g.h, g.w, g.kh, g.kw, g.stride, g.pad, g.oh, g.ow];
    let mut out = [0; 9];
    for (o, v) in out.iter_mut().zip(v) {
        *o = int(v, "conv2d size")?;
    }
    Ok(out)
}

/// Samples per chunk (at least one) so that a chunk's im2col buffer fits `col_max` floats, and
/// the number of chunks.
fn chunks(g: &Conv2dGeom, col_max: usize) -> cu::Result<(usize, usize)> {
    let per = (col_max / g.col_len()).clamp(1, g.n.max(1));
    int(per * g.col_len(), "conv2d im2col buffer")?;
    Ok((per, g.n.div_ceil(per)))
}

/// Checks every operand against the geometry and the kernels' `int` sizes.
fn check(g: &Conv2dGeom, x: Option<&DevBuf>, w: Option<&DevBuf>, y: &DevBuf) -> cu::Result<()> {
    let (nx, ny) = (g.n * g.x_len(), g.n * g.y_len());
    int(nx, "conv2d input")?;
    int(ny, "conv2d output")?;
    if let Some(x) = x {
        need(x, nx, "conv2d x")?;
    }
    if let Some(w) = w {
        need(w, g.o * g.ckk(), "conv2d w")?;
    }
    need(y, ny, "conv2d y")
}

/// `y = x ⋆ w (+ b)`, every element written; `col_max` bounds the im2col scratch (floats).
pub fn conv2d_fwd(
    dev: &CudaDevice,
    y: &mut DevBuf,
    x: &DevBuf,
    w: &DevBuf,
    b: Option<&DevBuf>,
    g: &Conv2dGeom,
    col_max: usize,
) -> cu::Result<()> {
    check(g, Some(x), Some(w), y)?;
    if let Some(b) = b {
        need(b, g.o, "conv2d b")?;
    }
    if g.n == 0 {
        return Ok(());
    }
    let [c, h, wd, kh, kw, st, pd, oh, ow] = dims(g)?;
    let (cl, yl) = (g.col_len(), g.y_len());
    let (per, parts) = chunks(g, col_max)?;
    let mut col = dev.scratch::<f32>(per * cl)?;
    let mut ytmp = if parts > 1 {
        Some(dev.scratch::<f32>(per * yl)?)
    } else {
        None
    };
    let rg = RowGemm::new(g.o, g.p(), g.ckk());
    for part in 0..parts {
        let (n0, ns) = (part * per, per.min(g.n - part * per));
        let (n0i, nsi) = (int(n0, "n0")?, int(ns, "chunk")?);
        let cfg = grid_1d(ns * cl);
        k::conv2d_im2col(
            dev, cfg, &mut *col, x, n0i, nsi, c, h, wd, kh, kw, st, pd, oh, ow,
        )?;
        match ytmp.as_mut() {
            None => gemm(dev, &rg, ns, (w, 0), (&*col, cl), (&mut *y, yl))?,
            Some(t) => {
                gemm(dev, &rg, ns, (w, 0), (&*col, cl), (&mut **t, yl))?;
                let dst = &mut y.slice_mut(n0 * yl..(n0 + ns) * yl);
                dev.stream().memcpy_dtod(&t.slice(0..ns * yl), dst)?;
            }
        }
    }
    if let Some(b) = b {
        let total = g.n * yl;
        let (ti, oi, pi) = (int(total, "total")?, int(g.o, "o")?, int(g.p(), "p")?);
        k::conv2d_bias_fwd(dev, grid_1d(total), y, b, ti, oi, pi)?;
    }
    Ok(())
}

/// Samples `n0 .. n0 + ns` of `buf` (`len` floats each) as a GEMM operand: `buf` itself when
/// `tmp` is None (one chunk), else copied into `tmp`.
fn operand<'a>(
    dev: &CudaDevice,
    buf: &'a DevBuf,
    tmp: Option<&'a mut DevBuf>,
    n0: usize,
    ns: usize,
    len: usize,
) -> cu::Result<&'a DevBuf> {
    match tmp {
        None => Ok(buf),
        Some(t) => {
            let src = buf.slice(n0 * len..(n0 + ns) * len);
            dev.stream()
                .memcpy_dtod(&src, &mut t.slice_mut(0..ns * len))?;
            Ok(t)
        }
    }
}

/// `dx (+)= the input gradient of dy`: dcol = wᵀ · dy per sample, folded back by col2im
/// (`acc`: add into dx, else overwrite it).
pub fn conv2d_bwd_data(
    dev: &CudaDevice,
    dx: &mut DevBuf,
    acc: bool,
    w: &DevBuf,
    dy: &DevBuf,
    g: &Conv2dGeom,
    col_max: usize,
) -> cu::Result<()> {
    check(g, Some(dx), Some(w), dy)?;
    if g.n == 0 {
        return Ok(());
    }
    let [c, h, wd, kh, kw, st, pd, oh, ow] = dims(g)?;
    let (cl, yl) = (g.col_len(), g.y_len());
    let (per, parts) = chunks(g, col_max)?;
    let mut col = dev.scratch::<f32>(per * cl)?;
    let mut gtmp = if parts > 1 {
        Some(dev.scratch::<f32>(per * yl)?)
    } else {
        None
    };
    let rg = RowGemm {
        trans_a: true,
        ..RowGemm::new(g.ckk(), g.p(), g.o)
    };
    for part in 0..parts {
        let (n0, ns) = (part * per, per.min(g.n - part * per));
        let gc = operand(dev, dy, gtmp.as_deref_mut(), n0, ns, yl)?;
        gemm(dev, &rg, ns, (w, 0), (gc, yl), (&mut *col, cl))?;
        let (n0i, nsi) = (int(n0, "n0")?, int(ns, "chunk")?);
        let cfg = grid_1d(ns * g.x_len());
        let a = acc as i32;
        k::conv2d_col2im(
            dev, cfg, dx, &*col, n0i, nsi, c, h, wd, kh, kw, st, pd, oh, ow, a,
        )?;
    }
    Ok(())
}

/// `dw (+)= Σ_n dy_n · col_nᵀ` and `db (+)= Σ_{n,p} dy[n, :, p]`, for those present.
pub fn conv2d_bwd_params(
    dev: &CudaDevice,
    dw: Option<(&mut DevBuf, bool)>,
    db: Option<(&mut DevBuf, bool)>,
    x: &DevBuf,
    dy: &DevBuf,
    g: &Conv2dGeom,
    col_max: usize,
) -> cu::Result<()> {
    check(g, Some(x), None, dy)?;
    let wl = g.o * g.ckk();
    if let Some((d, _)) = dw.as_ref() {
        need(d, wl, "conv2d dw")?;
    }
    if let Some((d, _)) = db.as_ref() {
        need(d, g.o, "conv2d db")?;
    }
    let (ni, oi, pi) = (int(g.n, "n")?, int(g.o, "o")?, int(g.p(), "p")?);
    if let Some((db, acc)) = db {
        if g.n == 0 {
            if !acc {
                dev.stream().memset_zeros(&mut db.slice_mut(0..g.o))?;
            }
        } else {
            // One block per channel (blockDim a multiple of 32, as block_sum requires).
            let cfg = LaunchConfig {
                grid_dim: (g.o as u32, 1, 1),
                block_dim: (BLOCK_1D, 1, 1),
                shared_mem_bytes: 0,
            };
            k::conv2d_bias_bwd(dev, cfg, db, dy, ni, oi, pi, acc as i32)?;
        }
    }
    let Some((dw, acc)) = dw else { return Ok(()) };
    if g.n == 0 {
        if !acc {
            dev.stream().memset_zeros(&mut dw.slice_mut(0..wl))?;
        }
        return Ok(());
    }
    let [c, h, wd, kh, kw, st, pd, oh, ow] = dims(g)?;
    let (cl, yl) = (g.col_len(), g.y_len());
    let (per, parts) = chunks(g, col_max)?;
    int(per * wl, "conv2d weight partials")?;
    let mut col = dev.scratch::<f32>(per * cl)?;
    let mut partial = dev.scratch::<f32>(per * wl)?;
    let mut gtmp = if parts > 1 {
        Some(dev.scratch::<f32>(per * yl)?)
    } else {
        None
    };
    let rg = RowGemm {
        trans_b: true,
        ..RowGemm::new(g.o, g.ckk(), g.p())
    };
    for part in 0..parts {
        let (n0, ns) = (part * per, per.min(g.n - part * per));
        let (n0i, nsi) = (int(n0, "n0")?, int(ns, "chunk")?);
        let cfg = grid_1d(ns * cl);
        k::conv2d_im2col(
            dev, cfg, &mut *col, x, n0i, nsi, c, h, wd, kh, kw, st, pd, oh, ow,
        )?;
        let gc = operand(dev, dy, gtmp.as_deref_mut(), n0, ns, yl)?;
        gemm(dev, &rg, ns, (gc, yl), (&*col, cl), (&mut *partial, wl))?;
        sum_cols(dev, dw, &partial, None, ns, wl, acc || part > 0)?;
    }
    Ok(())
}
