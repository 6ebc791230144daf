//! Global-norm gradient clipping: one norm over every parameter's gradient, as in PyTorch's
//! `clip_grad_norm_`. Returned as a scale factor so the optimiser applies it while updating.
use crate::autodiff::{Gradients, ParamStore};
use crate::backend::Cpu;
use crate::tensor::Real;
use rayon::prelude::*;

pub fn global_norm<E: Real>(params: &ParamStore<E>, grads: &Gradients<Cpu<E>>) -> f64 {
    // Each tensor's sum in parallel (each one in element order), then added in parameter order:
    // the same result for any thread count.
    let ids: Vec<_> = params.ids().collect();
    let gs: Vec<&[E]> = ids
        .iter()
        .filter_map(|&id| grads.param(id))
        .map(|g| &g[..])
        .collect();
    norm_of(&gs)
}

/// The L2 norm over every tensor: each tensor's sum of squares in f64, then added in order.
pub(crate) fn norm_of<E: Real>(gs: &[&[E]]) -> f64 {
    let sums: Vec<f64> = gs
        .par_iter()
        .map(|g| g.iter().map(|x| x.f64() * x.f64()).sum::<f64>())
        .collect();
    sums.into_iter().sum::<f64>().sqrt()
}

/// The factor that brings a norm `n` down to `max_norm` (1 when below, or when `max_norm` ≤ 0).
pub(crate) fn clip_factor(n: f64, max_norm: f64) -> f64 {
    if max_norm > 0.0 && n > max_norm {
        max_norm / (n + 1e-6)
    } else {
        1.0
    }
}

/// The factor that brings the global norm down to `max_norm` (1 when already below).
/// Returns (norm, scale).
pub fn clip_global_norm<E: Real>(
    params: &ParamStore<E>,
    grads: &Gradients<Cpu<E>>,
    max_norm: f64,
) -> (f64, f64) {
    let n = global_norm(params, grads);
    (n, clip_factor(n, max_norm))
}
