//! Broadcasting add and multiply, and scale, on the device (`elementwise.cu`).
use super::{BinaryKernel, MulGrads};
use crate::backend::cuda::launch::elementwise::{
    add_bwd, add_fwd, mul_bwd, mul_fwd, scale_bwd, scale_fwd,
};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

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
