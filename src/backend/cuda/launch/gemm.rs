//! Row-major f32 GEMM on cuBLAS (column-major) without transposes: a row-major `[r, c]` matrix is
//! the column-major `[c, r]` matrix, so `C = op(A) op(B)` is computed as `C^T = op(B)^T op(A)^T`
//! by swapping the operands (engine-design.md section 3). `beta = 1` accumulates into `C`, which
//! is how backward GEMMs honour the `+=` gradient contract.

use super::{int, need};
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
    unsafe { dev.blas().gemm(cfg, b, a, c) }?;
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
    need(a, (batch - 1) * stride_a + g.m * g.k, "batched gemm A")?;
    need(b, (batch - 1) * stride_b + g.k * g.n, "batched gemm B")?;
    need(c, (batch - 1) * stride_c + g.m * g.n, "batched gemm C")?;
    if stride_c < g.m * g.n {
        return Err(CudaError("batched gemm: output matrices overlap".into()));
    }
    let cfg = StridedBatchedConfig {
        gemm: g.config()?,
        batch_size: int(batch, "gemm batch")?,
        stride_a: stride_b as i64,
        stride_b: stride_a as i64,
        stride_c: stride_c as i64,
    };
    // SAFETY: buffer sizes checked above against the shapes and strides in `cfg`.
    unsafe { dev.blas().gemm_strided_batched(cfg, b, a, c) }?;
    Ok(())
}
