//! Sum and mean on the CPU.
use super::ReduceKernel;
use crate::backend::Cpu;
use crate::tensor::Real;
use crate::Result;

impl<E: Real> ReduceKernel for Cpu<E> {
    fn sum_fwd(&self, x: &Vec<E>, y: &mut Vec<E>, n: usize, mean: bool) -> Result<()> {
        let s: E = x[..n].iter().copied().sum();
        y[0] = if mean { s / E::of(n.max(1) as f64) } else { s };
        Ok(())
    }
    fn sum_bwd(&self, g: &Vec<E>, k: E, dx: &mut Vec<E>, n: usize, _: &mut Vec<E>) -> Result<()> {
        let d = k * g[0];
        dx[..n].iter_mut().for_each(|v| *v += d);
        Ok(())
    }
}
