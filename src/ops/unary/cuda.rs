//! Activations on the device (`kernels/unary.cu`: one 1-D grid-stride kernel per activation and
//! direction), and their launchers.
use super::{Unary, UnaryKernel};
use crate::backend::cuda::kernels::{unary as k, KernelIn, KernelOut};
use crate::backend::cuda::launch::{grid_1d, int, need};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::backend::Backend;
use crate::Result;
use cudarc::driver::LaunchConfig;

impl UnaryKernel for Cuda {
    fn unary_fwd(&self, kind: Unary, x: &DevBuf, y: &mut DevBuf, n: usize) -> Result<()> {
        Ok(unary_fwd(self.dev(), kind, y, x, n)?)
    }
    fn unary_bwd(
        &self,
        kind: Unary,
        xy: &DevBuf,
        dy: &DevBuf,
        dx: &mut DevBuf,
        n: usize,
        acc: bool,
    ) -> Result<()> {
        if !acc {
            self.fill_zero(dx, n)?;
        }
        // The launcher reads x or y by `kind`; both are the value the rule chose.
        Ok(unary_bwd(self.dev(), kind, dx, xy, xy, dy, n)?)
    }
}

/// `(float* y, const float* x, int n)`: every unary forward kernel.
type UnaryFwd = fn(
    &CudaDevice,
    LaunchConfig,
    &mut dyn KernelOut<f32>,
    &dyn KernelIn<f32>,
    i32,
) -> cu::Result<()>;
/// `(float* dx, const float* x_or_y, const float* dy, int n)`: every unary backward kernel.
type UnaryBwd = fn(
    &CudaDevice,
    LaunchConfig,
    &mut dyn KernelOut<f32>,
    &dyn KernelIn<f32>,
    &dyn KernelIn<f32>,
    i32,
) -> cu::Result<()>;

fn fwd_kernel(kind: Unary) -> UnaryFwd {
    match kind {
        Unary::Relu => k::relu_fwd,
        Unary::Elu => k::elu_fwd,
        Unary::Gelu => k::gelu_fwd,
        Unary::Tanh => k::tanh_fwd,
        Unary::Sigmoid => k::sigmoid_fwd,
        Unary::Silu => k::silu_fwd,
        Unary::Exp => k::exp_fwd,
        Unary::Softplus => k::softplus_fwd,
    }
}

fn bwd_kernel(kind: Unary) -> UnaryBwd {
    match kind {
        Unary::Relu => k::relu_bwd,
        Unary::Elu => k::elu_bwd,
        Unary::Gelu => k::gelu_bwd,
        Unary::Tanh => k::tanh_bwd,
        Unary::Sigmoid => k::sigmoid_bwd,
        Unary::Silu => k::silu_bwd,
        Unary::Exp => k::exp_bwd,
        Unary::Softplus => k::softplus_bwd,
    }
}

/// Whether the backward kernel of `kind` reads the forward output `y` (tanh, sigmoid, exp) rather
/// than the input `x` (the others): [`Unary::uses_output`].
pub fn bwd_uses_output(kind: Unary) -> bool {
    kind.uses_output()
}

/// `y = f(x)` over `n` elements.
pub fn unary_fwd(
    dev: &CudaDevice,
    kind: Unary,
    y: &mut DevBuf,
    x: &DevBuf,
    n: usize,
) -> cu::Result<()> {
    need(y, n, "unary_fwd y")?;
    need(x, n, "unary_fwd x")?;
    if n == 0 {
        return Ok(());
    }
    fwd_kernel(kind)(dev, grid_1d(n), y, x, int(n, "n")?)
}

/// `dx += dy * f'(.)` over `n` elements. Takes both the forward input `x` and output `y`: tanh and
/// sigmoid differentiate from `y`, the others from `x` (see [`bwd_uses_output`]), so callers cannot
/// pass the wrong one.
pub fn unary_bwd(
    dev: &CudaDevice,
    kind: Unary,
    dx: &mut DevBuf,
    x: &DevBuf,
    y: &DevBuf,
    dy: &DevBuf,
    n: usize,
) -> cu::Result<()> {
    need(dx, n, "unary_bwd dx")?;
    need(x, n, "unary_bwd x")?;
    need(y, n, "unary_bwd y")?;
    need(dy, n, "unary_bwd dy")?;
    if n == 0 {
        return Ok(());
    }
    let saved = if bwd_uses_output(kind) { y } else { x };
    bwd_kernel(kind)(dev, grid_1d(n), dx, saved, dy, int(n, "n")?)
}
