//! Buffer-level elementwise launchers the backend itself needs: `dst += src` (gradient
//! accumulation, [`crate::backend::Backend::add_assign`]) and `x *= s` in place. The op-level
//! elementwise launchers (activations, broadcasting add/mul, scale) live in their ops' `cuda.rs`.

use super::{grid_1d, int, need};
use crate::backend::cuda::kernels::{binary, optim};
use crate::backend::cuda::{CudaDevice, Result};
use cudarc::driver::CudaSlice;

/// `dst += src` over `n` elements.
pub fn add_assign(
    dev: &CudaDevice,
    dst: &mut CudaSlice<f32>,
    src: &CudaSlice<f32>,
    n: usize,
) -> Result<()> {
    need(dst, n, "add_assign dst")?;
    need(src, n, "add_assign src")?;
    if n == 0 {
        return Ok(());
    }
    binary::add_bwd_a(dev, grid_1d(n), dst, src, int(n, "n")?)
}

/// `x *= s` over `n` elements with a host scalar.
pub fn scale_inplace(dev: &CudaDevice, x: &mut CudaSlice<f32>, s: f32, n: usize) -> Result<()> {
    need(x, n, "scale_inplace x")?;
    if n == 0 {
        return Ok(());
    }
    optim::scale_inplace(dev, grid_1d(n), x, s, int(n, "n")?)
}
