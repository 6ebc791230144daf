//! Broadcasting add and multiply, and scale, on the device (`kernels/binary.cu`: 1-D grid-stride
//! kernels), and their launchers. Backward launchers accumulate (`+=`); the gradient of a
//! broadcast operand is a deterministic column sum ([`sum_cols`]), never float atomics.
use super::{BinaryKernel, MulGrads};
use crate::backend::cuda::kernels::{binary as k, KernelIn, KernelOut};
use crate::backend::cuda::launch::reduce::sum_cols;
use crate::backend::cuda::launch::{broadcast, grid_1d, int, need};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::Result;
use cudarc::driver::LaunchConfig;

impl BinaryKernel for Cuda {
    fn add_fwd(&self, a: &DevBuf, b: &DevBuf, y: &mut DevBuf, n: usize, nb: usize) -> Result<()> {
        Ok(add_fwd(self.dev(), y, a, b, n, nb)?)
    }
    fn mul_fwd(&self, a: &DevBuf, b: &DevBuf, y: &mut DevBuf, n: usize, nb: usize) -> Result<()> {
        Ok(mul_fwd(self.dev(), y, a, b, n, nb)?)
    }
    fn reduce_repeats(&self, g: &DevBuf, db: &mut DevBuf, n: usize, nb: usize) -> Result<()> {
        Ok(add_bwd(self.dev(), None, Some(db), g, n, nb)?)
    }
    fn mul_bwd(&self, io: MulGrads<'_, Self>, n: usize, nb: usize) -> Result<()> {
        Ok(mul_bwd(self.dev(), io.da, io.db, io.a, io.b, io.g, n, nb)?)
    }
    fn scale_fwd(&self, x: &DevBuf, k: f32, y: &mut DevBuf, n: usize) -> Result<()> {
        Ok(scale_fwd(self.dev(), y, x, k, n)?)
    }
    fn scale_bwd(&self, g: &DevBuf, k: f32, dx: &mut DevBuf, n: usize) -> Result<()> {
        Ok(scale_bwd(self.dev(), dx, g, k, n)?)
    }
}

/// `(float* y, const float* a, const float* b, int n, int nb)`: add and mul forward.
type BinaryFwd = fn(
    &CudaDevice,
    LaunchConfig,
    &mut dyn KernelOut<f32>,
    &dyn KernelIn<f32>,
    &dyn KernelIn<f32>,
    i32,
    i32,
) -> cu::Result<()>;

#[allow(clippy::too_many_arguments)]
fn binary_fwd(
    dev: &CudaDevice,
    kernel: BinaryFwd,
    what: &str,
    y: &mut DevBuf,
    a: &DevBuf,
    b: &DevBuf,
    n: usize,
    nb: usize,
) -> cu::Result<()> {
    broadcast(n, nb)?;
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
    y: &mut DevBuf,
    a: &DevBuf,
    b: &DevBuf,
    n: usize,
    nb: usize,
) -> cu::Result<()> {
    binary_fwd(dev, k::add_fwd, "add_fwd", y, a, b, n, nb)
}

/// `y = a * b` with `b` broadcast as in [`add_fwd`].
pub fn mul_fwd(
    dev: &CudaDevice,
    y: &mut DevBuf,
    a: &DevBuf,
    b: &DevBuf,
    n: usize,
    nb: usize,
) -> cu::Result<()> {
    binary_fwd(dev, k::mul_fwd, "mul_fwd", y, a, b, n, nb)
}

/// Backward of [`add_fwd`]: `da += dy`, `db[j] += sum_r dy[r, j]` viewing `dy` as `[n / nb, nb]`.
/// `None`: that operand needs no gradient.
pub fn add_bwd(
    dev: &CudaDevice,
    da: Option<&mut DevBuf>,
    db: Option<&mut DevBuf>,
    dy: &DevBuf,
    n: usize,
    nb: usize,
) -> cu::Result<()> {
    broadcast(n, nb)?;
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
        k::add_bwd_a(dev, grid_1d(n), da, dy, ni)?;
    }
    if let Some(db) = db {
        sum_cols(dev, db, dy, None, n / nb, nb, true)?;
    }
    Ok(())
}

/// Backward of [`mul_fwd`]: `da += dy * b` (b broadcast), `db[j] += sum_r dy[r, j] * a[r, j]`.
/// `None`: that operand needs no gradient.
#[allow(clippy::too_many_arguments)]
pub fn mul_bwd(
    dev: &CudaDevice,
    da: Option<&mut DevBuf>,
    db: Option<&mut DevBuf>,
    a: &DevBuf,
    b: &DevBuf,
    dy: &DevBuf,
    n: usize,
    nb: usize,
) -> cu::Result<()> {
    broadcast(n, nb)?;
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
        k::mul_bwd_a(dev, grid_1d(n), da, b, dy, ni, nbi)?;
    }
    if let Some(db) = db {
        sum_cols(dev, db, dy, Some(a), n / nb, nb, true)?;
    }
    Ok(())
}

/// `y = s * x` over `n` elements.
pub fn scale_fwd(dev: &CudaDevice, y: &mut DevBuf, x: &DevBuf, s: f32, n: usize) -> cu::Result<()> {
    need(y, n, "scale_fwd y")?;
    need(x, n, "scale_fwd x")?;
    if n == 0 {
        return Ok(());
    }
    k::scale_fwd(dev, grid_1d(n), y, x, s, int(n, "n")?)
}

/// `dx += s * dy` over `n` elements.
pub fn scale_bwd(
    dev: &CudaDevice,
    dx: &mut DevBuf,
    dy: &DevBuf,
    s: f32,
    n: usize,
) -> cu::Result<()> {
    need(dx, n, "scale_bwd dx")?;
    need(dy, n, "scale_bwd dy")?;
    if n == 0 {
        return Ok(());
    }
    k::scale_bwd(dev, grid_1d(n), dx, dy, s, int(n, "n")?)
}
