//! Adam and AdamW (decoupled weight decay, Loshchilov & Hutter), with bias correction.
use crate::autodiff::{Gradients, ParamStore};
use crate::backend::cpu::PAR_MIN;
use crate::backend::Cpu;
use crate::tensor::Real;
use rayon::prelude::*;

const CHUNK: usize = 1 << 14;
/// Matching pieces of (parameter, first moment), (second moment, gradient).
type Chunks<'a, E> = ((&'a mut [E], &'a mut [E]), (&'a mut [E], &'a [E]));

#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// 0 gives Adam; > 0 gives AdamW's decoupled decay (applied as p ← p − lr·wd·p).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

pub struct Adam<E: Real = f32> {
    pub cfg: AdamConfig,
    m: Vec<Vec<E>>,
    v: Vec<Vec<E>>,
    pub step: u64,
}

impl<E: Real> Adam<E> {
    pub fn new(params: &ParamStore<E>, cfg: AdamConfig) -> Self {
        let zeros = |_| {
            params
                .ids()
                .map(|id| vec![E::zero(); params.get(id).numel()])
                .collect()
        };
        Adam {
            cfg,
            m: zeros(0),
            v: zeros(1),
            step: 0,
        }
    }

    /// One update with learning rate `lr`; `scale` multiplies every gradient first (gradient clipping).
    pub fn update(
        &mut self,
        params: &mut ParamStore<E>,
        grads: &Gradients<Cpu<E>>,
        lr: f64,
        scale: f64,
    ) {
        self.step += 1;
        let ids: Vec<_> = params.ids().collect();
        for id in ids {
            let Some(g) = grads.param(id) else { continue };
            let (m, v) = (&mut self.m[id.0], &mut self.v[id.0]);
            let p = &mut params.get_mut(id).data;
            adamw_tensor(&self.cfg, self.step, lr, scale, p, m, v, g);
        }
    }

    /// Optimiser state for checkpoints: (first moments, second moments).
    pub fn state(&self) -> (&[Vec<E>], &[Vec<E>]) {
        (&self.m, &self.v)
    }
    pub fn set_state(&mut self, m: Vec<Vec<E>>, v: Vec<Vec<E>>, step: u64) {
        self.m = m;
        self.v = v;
        self.step = step;
    }
}

/// One AdamW step of one tensor (step counts from 1): the CPU rule every backend follows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn adamw_tensor<E: Real>(
    c: &AdamConfig,
    step: u64,
    lr: f64,
    scale: f64,
    p: &mut [E],
    m: &mut [E],
    v: &mut [E],
    g: &[E],
) {
    let bc1 = 1.0 - c.beta1.powi(step as i32);
    let bc2 = 1.0 - c.beta2.powi(step as i32);
    let (b1, b2) = (E::of(c.beta1), E::of(c.beta2));
    let (ob1, ob2) = (E::of(1.0 - c.beta1), E::of(1.0 - c.beta2));
    let stp = E::of(lr / bc1);
    let inv_bc2 = E::of(1.0 / bc2);
    let (eps, decay, sc) = (E::of(c.eps), E::of(1.0 - lr * c.weight_decay), E::of(scale));
    let body = |((p, m), (v, g)): Chunks<'_, E>| {
        for i in 0..p.len() {
            let gi = g[i] * sc;
            m[i] = b1 * m[i] + ob1 * gi;
            v[i] = b2 * v[i] + ob2 * gi * gi;
            p[i] = p[i] * decay - stp * m[i] / ((v[i] * inv_bc2).sqrt() + eps);
        }
    };
    let n = p.len();
    let (m, v, g) = (&mut m[..n], &mut v[..n], &g[..n]);
    // Element-wise, so splitting large tensors over threads changes no result.
    if n >= PAR_MIN {
        p.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)))
            .for_each(body);
    } else {
        body(((p, m), (v, g)));
    }
}
