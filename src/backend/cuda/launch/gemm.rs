//! Row-major f32 GEMM on cuBLAS (column-major) without transposes: a row-major `[r, c]` matrix is
//! the column-major `[c, r]` matrix, so `C = op(A) op(B)` is computed as `C^T = op(B)^T op(A)^T`
//! by swapping the operands (engine-design.md section 3). `beta = 1` accumulates into `C`, which
//! is how backward GEMMs honour the `+=` gradient contract.

use super::{int, need};
use crate::backend::cuda::scratch::Scratch;
use crate::backend::cuda::{CudaDevice, CudaError, Result};
use cudarc::cublas::sys::cublasOperation_t::{CUBLAS_OP_N, CUBLAS_OP_T};
use cudarc::cublas::{Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::CudaSlice;

/// `C[M, N] = alpha op(A) op(B) + beta C`, all row-major. `A` is stored `[M, K]`, or `[K, M]` when
/// `trans_a`; `B` is stored `[K, N]`, or `[N, K]` when `trans_b`.
/// Forward `Y = X W`: `(false, false)`; `dX += dY W^T`: `trans_b`, beta 1; `dW += X^T dY`: `trans_a`, beta 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowGemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub alpha: f32,
    pub beta: f32,
}

impl RowGemm {
    /// `C = A B` (alpha 1, beta 0, no transposes).
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        Self {
            m,
            n,
            k,
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 0.0,
        }
    }

    /// The cuBLAS (column-major) configuration computing this row-major product, operands swapped:
    /// cuBLAS's first operand is `B`, its second `A`.
    pub fn config(&self) -> Result<GemmConfig<f32>> {
        let ld_a = if self.trans_a { self.m } else { self.k };
        let ld_b = if self.trans_b { self.k } else { self.n };
        Ok(GemmConfig {
            transa: if self.trans_b {
                CUBLAS_OP_T
            } else {
                CUBLAS_OP_N
            },
            transb: if self.trans_a {
                CUBLAS_OP_T
            } else {
                CUBLAS_OP_N
            },
            m: int(self.n, "gemm N")?,
            n: int(self.m, "gemm M")?,
            k: int(self.k, "gemm K")?,
            alpha: self.alpha,
            lda: int(ld_b.max(1), "gemm ld B")?,
            ldb: int(ld_a.max(1), "gemm ld A")?,
            beta: self.beta,
            ldc: int(self.n.max(1), "gemm ld C")?,
        })
    }
}

/// Checks `batch` ≥ 1 matrices at the given strides against the buffers (outputs must not overlap
/// when there is more than one); returns the floats of A and B in use.
fn check_batched(
    g: &RowGemm,
    batch: usize,
    (a, stride_a): (&CudaSlice<f32>, usize),
    (b, stride_b): (&CudaSlice<f32>, usize),
    (c, stride_c): (&CudaSlice<f32>, usize),
) -> Result<(usize, usize)> {
    let (na, nb) = (
        (batch - 1) * stride_a + g.m * g.k,
        (batch - 1) * stride_b + g.k * g.n,
    );
    need(a, na, "gemm A")?;
    need(b, nb, "gemm B")?;
    need(c, (batch - 1) * stride_c + g.m * g.n, "gemm C")?;
    if batch > 1 && stride_c < g.m * g.n {
        return Err(CudaError("batched gemm: output matrices overlap".into()));
    }
    Ok((na, nb))
}

/// One row-major GEMM (see [`RowGemm`]).
pub fn sgemm(
    dev: &CudaDevice,
    g: &RowGemm,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    c: &mut CudaSlice<f32>,
) -> Result<()> {
    need(a, g.m * g.k, "gemm A")?;
    need(b, g.k * g.n, "gemm B")?;
    need(c, g.m * g.n, "gemm C")?;
    if g.m * g.n == 0 {
        return Ok(());
    }
    let cfg = g.config()?;
    // SAFETY: buffer sizes checked above against the shapes in `cfg`.
    unsafe { dev.blas()?.gemm(cfg, b, a, c) }?;
    Ok(())
}

/// `batch` independent row-major GEMMs, matrix `i` of each operand at offset `i * stride_*`
/// (e.g. attention's per-head products).
pub fn sgemm_strided_batched(
    dev: &CudaDevice,
    g: &RowGemm,
    batch: usize,
    (a, stride_a): (&CudaSlice<f32>, usize),
    (b, stride_b): (&CudaSlice<f32>, usize),
    (c, stride_c): (&mut CudaSlice<f32>, usize),
) -> Result<()> {
    if batch == 0 || g.m * g.n == 0 {
        return Ok(());
    }
    check_batched(g, batch, (a, stride_a), (b, stride_b), (c, stride_c))?;
    let cfg = StridedBatchedConfig {
        gemm: g.config()?,
        batch_size: int(batch, "gemm batch")?,
        stride_a: stride_b as i64,
        stride_b: stride_a as i64,
        stride_c: stride_c as i64,
    };
    // SAFETY: buffer sizes checked above against the shapes and strides in `cfg`.
    unsafe { dev.blas()?.gemm_strided_batched(cfg, b, a, c) }?;
    Ok(())
}

/// Arithmetic of the device's matmuls. `Fp32` (the default) is true FP32 (`cublasSgemm`); `Tf32`
/// rounds the operands to TF32 inside the tensor cores (10-bit mantissa, FP32 accumulation); `Bf16`
/// casts both operands to bf16 (8-bit mantissa) and accumulates in FP32 into an FP32 output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmPrecision {
    Fp32,
    Tf32,
    Bf16,
}

impl GemmPrecision {
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "fp32" => Ok(Self::Fp32),
            "tf32" => Ok(Self::Tf32),
            "bf16" => Ok(Self::Bf16),
            other => Err(crate::Error::Invalid(format!(
                "unknown precision '{other}' (known: fp32, tf32, bf16)"
            ))),
        }
    }
}

/// `batch` row-major GEMMs in the device's current precision (see [`CudaDevice::set_precision`]):
/// the entry point of the tape's matmul and bmm.
pub fn gemm(
    dev: &CudaDevice,
    g: &RowGemm,
    batch: usize,
    a: (&CudaSlice<f32>, usize),
    b: (&CudaSlice<f32>, usize),
    c: (&mut CudaSlice<f32>, usize),
) -> Result<()> {
    if dev.precision() == GemmPrecision::Bf16 {
        return gemm_bf16(dev, g, batch, a, b, c);
    }
    if batch == 1 {
        sgemm(dev, g, a.0, b.0, c.0)
    } else {
        sgemm_strided_batched(dev, g, batch, a, b, c)
    }
}

/// [`gemm`] with both operands cast to bf16 first (scratch buffers), FP32 accumulate and output.
pub fn gemm_bf16(
    dev: &CudaDevice,
    g: &RowGemm,
    batch: usize,
    (a, stride_a): (&CudaSlice<f32>, usize),
    (b, stride_b): (&CudaSlice<f32>, usize),
    (c, stride_c): (&mut CudaSlice<f32>, usize),
) -> Result<()> {
    use cudarc::cublas::{result::gemm_strided_batched_ex, sys};
    use cudarc::driver::{DevicePtr, DevicePtrMut};
    if batch == 0 || g.m * g.n == 0 {
        return Ok(());
    }
    let (na, nb) = check_batched(g, batch, (a, stride_a), (b, stride_b), (c, stride_c))?;
    let (a16, b16) = (to_bf16(dev, a, na)?, to_bf16(dev, b, nb)?);
    let cfg = g.config()?;
    let (alpha, beta) = (cfg.alpha, cfg.beta);
    let stream = dev.stream();
    let (pa, _ra) = a16.device_ptr(stream);
    let (pb, _rb) = b16.device_ptr(stream);
    let (pc, _rc) = c.device_ptr_mut(stream);
    // SAFETY: sizes checked above; operands swapped for row-major as in `sgemm`; the pointers stay
    // valid while the guards live (to the end of this function, after the call is enqueued).
    unsafe {
        gemm_strided_batched_ex(
            *dev.blas()?.handle(),
            cfg.transa,
            cfg.transb,
            cfg.m,
            cfg.n,
            cfg.k,
            (&alpha) as *const f32 as *const _,
            pb as *const _,
            sys::cudaDataType_t::CUDA_R_16BF,
            cfg.lda,
            stride_b as i64,
            pa as *const _,
            sys::cudaDataType_t::CUDA_R_16BF,
            cfg.ldb,
            stride_a as i64,
            (&beta) as *const f32 as *const _,
            pc as *mut _,
            sys::cudaDataType_t::CUDA_R_32F,
            cfg.ldc,
            stride_c as i64,
            int(batch, "gemm batch")?,
            sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
            sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
        )
    }?;
    Ok(())
}

/// A bf16 copy (as raw u16 bits) of the first `n` floats of `x`.
/// The buffer is scratch: every element is written, so it needs no zero fill.
pub fn to_bf16<'d>(dev: &'d CudaDevice, x: &CudaSlice<f32>, n: usize) -> Result<Scratch<'d, u16>> {
    need(x, n, "to_bf16 x")?;
    let mut y = dev.scratch::<u16>(n)?;
    if n == 0 {
        return Ok(y);
    }
    let ni = int(n, "n")?;
    crate::backend::cuda::kernels::matmul::f32_to_bf16(dev, super::grid_1d(n), &mut *y, x, ni)?;
    Ok(y)
}
