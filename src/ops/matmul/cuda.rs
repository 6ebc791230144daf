//! Dense layers and batched matmul on cuBLAS (row-major by operand swap), in the device's GEMM
//! precision (FP32 by default; TF32 or bf16 when opted in); the bias is a separate in-place pass
//! after the GEMM, its gradient a deterministic column sum.
use super::{Gemm, MatmulKernel};
use crate::backend::cuda::launch::elementwise::bias_add;
use crate::backend::cuda::launch::gemm::{gemm, RowGemm};
use crate::backend::cuda::launch::reduce::sum_cols;
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

impl MatmulKernel for Cuda {
    fn gemm(&self, g: &Gemm, a: &DevBuf, b: &DevBuf, c: &mut DevBuf) -> Result<()> {
        let rg = RowGemm {
            trans_a: g.trans_a,
            trans_b: g.trans_b,
            beta: if g.acc { 1.0 } else { 0.0 },
            ..RowGemm::new(g.m, g.n, g.k)
        };
        let (a, b, c) = ((a, g.stride_a), (b, g.stride_b), (c, g.stride_c));
        Ok(gemm(self.dev(), &rg, g.batch, a, b, c)?)
    }
    fn add_bias(&self, y: &mut DevBuf, b: &DevBuf, rows: usize, m: usize) -> Result<()> {
        Ok(bias_add(self.dev(), y, b, rows * m, m)?)
    }
    fn bias_grad(&self, g: &DevBuf, db: &mut DevBuf, rows: usize, m: usize) -> Result<()> {
        Ok(sum_cols(self.dev(), db, g, None, rows, m, true)?)
    }
}
