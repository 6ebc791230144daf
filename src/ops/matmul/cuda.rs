//! Dense layers and batched matmul on cuBLAS (row-major by operand swap, the backend's shared
//! [`gemm`]), in the device's GEMM precision (FP32 by default; TF32 or bf16 when opted in); the
//! bias is a separate in-place pass after the GEMM (`kernels/matmul.cu`, launcher below), its
//! gradient a deterministic column sum.
use super::{Gemm, MatmulKernel};
use crate::backend::cuda::kernels::matmul as k;
use crate::backend::cuda::launch::gemm::{gemm, RowGemm};
use crate::backend::cuda::launch::reduce::sum_cols;
use crate::backend::cuda::launch::{broadcast, grid_1d, int, need};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::ops::unary::Unary;
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
    fn bias_act(
        &self,
        y: &mut DevBuf,
        b: Option<&DevBuf>,
        act: Option<Unary>,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        Ok(bias_act(self.dev(), y, b, act, rows * m, m)?)
    }
}

/// The `ACT_*` code of `kernels/prelude.cuh`.
fn act_code(act: Option<Unary>) -> i32 {
    match act {
        None => 0,
        Some(Unary::Relu) => 1,
        Some(Unary::Elu) => 2,
        Some(Unary::Gelu) => 3,
        Some(Unary::Tanh) => 4,
        Some(Unary::Sigmoid) => 5,
        Some(Unary::Silu) => 6,
        Some(Unary::Exp) => 7,
        Some(Unary::Softplus) => 8,
    }
}

/// `y[r, j] = f(y[r, j] + b[j])` in place over `n` elements (`b` of `nb`, optional): a dense
/// layer's bias and activation in one pass after its GEMM.
pub fn bias_act(
    dev: &CudaDevice,
    y: &mut DevBuf,
    b: Option<&DevBuf>,
    act: Option<Unary>,
    n: usize,
    nb: usize,
) -> cu::Result<()> {
    broadcast(n, nb)?;
    need(y, n, "bias_act y")?;
    if let Some(b) = b {
        need(b, nb, "bias_act b")?;
    }
    if n == 0 {
        return Ok(());
    }
    let b = b.map(|b| b as &dyn crate::backend::cuda::kernels::KernelIn<f32>);
    let (n, nb) = (int(n, "n")?, int(nb, "nb")?);
    k::bias_act(dev, grid_1d(n as usize), y, b, n, nb, act_code(act))
}

/// `y[r, j] += b[j]` in place over `n` elements, `b` of `nb` (a dense layer's bias after its GEMM).
pub fn bias_add(
    dev: &CudaDevice,
    y: &mut DevBuf,
    b: &DevBuf,
    n: usize,
    nb: usize,
) -> cu::Result<()> {
    broadcast(n, nb)?;
    need(y, n, "bias_add y")?;
    need(b, nb, "bias_add b")?;
    if n == 0 {
        return Ok(());
    }
    k::bias_add(dev, grid_1d(n), y, b, int(n, "n")?, int(nb, "nb")?)
}
