//! Launchers for the elementwise kernels (`kernels/unary.cu`: the activations; `kernels/binary.cu`:
//! broadcasting add/mul and scale; `kernels/matmul.cu`: the bias add), forward and backward. Every kernel is a 1-D grid-stride loop over `n` elements. Backward launchers
//! accumulate (`+=`); the gradient of a broadcast operand is a deterministic column sum
//! ([`super::reduce::sum_cols`]), never float atomics.

use super::reduce::sum_cols;
use super::{grid_1d, int, need};
use crate::backend::cuda::kernels::{binary, matmul, unary as k, KernelIn, KernelOut};
use crate::backend::cuda::{CudaDevice, CudaError, Result};
use crate::ops::unary::Unary;
use cudarc::driver::{CudaSlice, LaunchConfig};

/// `(float* y, const float* x, int n)`: every unary forward kernel.
type UnaryFwd =
    fn(&CudaDevice, LaunchConfig, &mut dyn KernelOut<f32>, &dyn KernelIn<f32>, i32) -> Result<()>;
/// `(float* dx, const float* x_or_y, const float* dy, int n)`: every unary backward kernel.
type UnaryBwd = fn(
    &CudaDevice,
    LaunchConfig,
    &mut dyn KernelOut<f32>,
    &dyn KernelIn<f32>,
    &dyn KernelIn<f32>,
    i32,
) -> Result<()>;
/// `(float* y, const float* a, const float* b, int n, int nb)`: add and mul forward.
type BinaryFwd = fn(
    &CudaDevice,
    LaunchConfig,
    &mut dyn KernelOut<f32>,
    &dyn KernelIn<f32>,
    &dyn KernelIn<f32>,
    i32,
    i32,
) -> Result<()>;

fn fwd_kernel(kind: Unary) -> UnaryFwd {
    match kind {
        Unary::Relu => k::relu_fwd,
        Unary::Elu => k::elu_fwd,
        Unary::Gelu => k::gelu_fwd,
        Unary::Tanh => k::tanh_fwd,
        Unary::Sigmoid => k::sigmoid_fwd,
        Unary::Silu => k::silu_fwd,
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
    }
}

/// Whether the backward kernel of `kind` reads the forward output `y` (tanh, sigmoid) rather than
/// the input `x` (the others).
pub fn bwd_uses_output(kind: Unary) -> bool {
    matches!(kind, Unary::Tanh | Unary::Sigmoid)
}

/// Checks the broadcast shape: `b` has `nb` elements repeated `n / nb` times.
fn check_broadcast(n: usize, nb: usize) -> Result<()> {
    if n > 0 && (nb == 0 || !n.is_multiple_of(nb)) {
        return Err(CudaError(format!(
            "broadcast operand of {nb} elements does not tile {n}"
        )));
    }
    Ok(())
}

/// `y = f(x)` over `n` elements.
pub fn unary_fwd(
    dev: &CudaDevice,
    kind: Unary,
    y: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    n: usize,
) -> Result<()> {
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
    dx: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    y: &CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    n: usize,
) -> Result<()> {
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

fn binary_fwd(
    dev: &CudaDevice,
    kernel: BinaryFwd,
    what: &str,
    y: &mut CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    n: usize,
    nb: usize,
) -> Result<()> {
    check_broadcast(n, nb)?;
    need(y, n, &format!("{what} y"))?;
    need(a, n, &format!("{what} a"))?;
    need(b, nb, &format!("{what} b"))?;
    if n == 0 {
        return Ok(());
    }
    kernel(dev, grid_1d(n), y, a, b, int(n, "n")?, int(nb, "nb")?)
}

/// `y = a + b`, `a` of `n` elements, `b` of `nb` elements repeated over `a`'s leading axes
/// (`nb` divides `n`; `nb == n`: no broadcast).
pub fn add_fwd(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    n: usize,
    nb: usize,
) -> Result<()> {
    binary_fwd(dev, binary::add_fwd, "add_fwd", y, a, b, n, nb)
}

/// `y = a * b` with `b` broadcast as in [`add_fwd`].
pub fn mul_fwd(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    n: usize,
    nb: usize,
) -> Result<()> {
    binary_fwd(dev, binary::mul_fwd, "mul_fwd", y, a, b, n, nb)
}

/// Backward of [`add_fwd`]: `da += dy`, `db[j] += sum_r dy[r, j]` viewing `dy` as `[n / nb, nb]`.
/// `None`: that operand needs no gradient.
pub fn add_bwd(
    dev: &CudaDevice,
    da: Option<&mut CudaSlice<f32>>,
    db: Option<&mut CudaSlice<f32>>,
    dy: &CudaSlice<f32>,
    n: usize,
    nb: usize,
) -> Result<()> {
    check_broadcast(n, nb)?;
    need(dy, n, "add_bwd dy")?;
    if let Some(d) = da.as_deref() {
        need(d, n, "add_bwd da")?;
    }
    if let Some(d) = db.as_deref() {
        need(d, nb, "add_bwd db")?;
    }
    if n == 0 {
        return Ok(());
    }
    let ni = int(n, "n")?;
    if let Some(da) = da {
        binary::add_bwd_a(dev, grid_1d(n), da, dy, ni)?;
    }
    if let Some(db) = db {
        sum_cols(dev, db, dy, None, n / nb, nb, true)?;
    }
    Ok(())
}

/// Backward of [`mul_fwd`]: `da += dy * b` (b broadcast), `db[j] += sum_r dy[r, j] * a[r, j]`.
/// `None`: that operand needs no gradient.
pub fn mul_bwd(
    dev: &CudaDevice,
    da: Option<&mut CudaSlice<f32>>,
    db: Option<&mut CudaSlice<f32>>,
    a: &CudaSlice<f32>,
    b: &CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    n: usize,
    nb: usize,
) -> Result<()> {
    check_broadcast(n, nb)?;
    need(a, n, "mul_bwd a")?;
    need(b, nb, "mul_bwd b")?;
    need(dy, n, "mul_bwd dy")?;
    if let Some(d) = da.as_deref() {
        need(d, n, "mul_bwd da")?;
    }
    if let Some(d) = db.as_deref() {
        need(d, nb, "mul_bwd db")?;
    }
    if n == 0 {
        return Ok(());
    }
    let (ni, nbi) = (int(n, "n")?, int(nb, "nb")?);
    if let Some(da) = da {
        binary::mul_bwd_a(dev, grid_1d(n), da, b, dy, ni, nbi)?;
    }
    if let Some(db) = db {
        sum_cols(dev, db, dy, Some(a), n / nb, nb, true)?;
    }
    Ok(())
}

/// `y[r, j] += b[j]` in place over `n` elements, `b` of `nb` (a dense layer's bias after its GEMM).
pub fn bias_add(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    b: &CudaSlice<f32>,
    n: usize,
    nb: usize,
) -> Result<()> {
    check_broadcast(n, nb)?;
    need(y, n, "bias_add y")?;
    need(b, nb, "bias_add b")?;
    if n == 0 {
        return Ok(());
    }
    matmul::bias_add(dev, grid_1d(n), y, b, int(n, "n")?, int(nb, "nb")?)
}

/// `y = s * x` over `n` elements.
pub fn scale_fwd(
    dev: &CudaDevice,
    y: &mut CudaSlice<f32>,
    x: &CudaSlice<f32>,
    s: f32,
    n: usize,
) -> Result<()> {
    need(y, n, "scale_fwd y")?;
    need(x, n, "scale_fwd x")?;
    if n == 0 {
        return Ok(());
    }
    binary::scale_fwd(dev, grid_1d(n), y, x, s, int(n, "n")?)
}

/// `dx += s * dy` over `n` elements.
pub fn scale_bwd(
    dev: &CudaDevice,
    dx: &mut CudaSlice<f32>,
    dy: &CudaSlice<f32>,
    s: f32,
    n: usize,
) -> Result<()> {
    need(dx, n, "scale_bwd dx")?;
    need(dy, n, "scale_bwd dy")?;
    if n == 0 {
        return Ok(());
    }
    binary::scale_bwd(dev, grid_1d(n), dx, dy, s, int(n, "n")?)
}
