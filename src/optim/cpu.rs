//! The optimiser kernels on the CPU: the same code as `clip_global_norm` and `Adam::update`.
use super::adam::adamw_tensor;
use super::clip::{clip_factor, norm_of};
use super::kernel::OptimKernel;
use super::AdamConfig;
use crate::backend::Cpu;
use crate::tensor::Real;
use crate::Result;

impl<E: Real> OptimKernel for Cpu<E> {
    fn grad_norm(
        &self,
        grads: &[(&Vec<E>, usize)],
        max_norm: f64,
        norm: &mut Vec<E>,
        clip: &mut Vec<E>,
    ) -> Result<()> {
        let gs: Vec<&[E]> = grads.iter().map(|(g, n)| &g[..*n]).collect();
        let n = norm_of(&gs);
        norm[0] = E::of(n);
        clip[0] = E::of(clip_factor(n, max_norm));
        Ok(())
    }
    fn adamw(
        &self,
        p: &mut Vec<E>,
        m: &mut Vec<E>,
        v: &mut Vec<E>,
        g: &mut Vec<E>,
        clip: &Vec<E>,
        n: usize,
        cfg: &AdamConfig,
        lr: f64,
        step: u64,
    ) -> Result<()> {
        adamw_tensor(cfg, step, lr, clip[0].f64(), &mut p[..n], m, v, g);
        Ok(())
    }
}
