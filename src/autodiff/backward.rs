//! The reverse walk: seeds d(loss)/d(loss) = 1 and hands each recorded op its output gradient.
use super::op::Op;
use super::params::ParamId;
use super::pool::Pool;
use super::tape::{Tape, Var};
use crate::ops;
use crate::tensor::Real;
use crate::{Error, Result};

/// Gradients of one backward pass, per tape node.
pub struct Gradients<E: Real> {
    by_node: Vec<Option<Vec<E>>>,
    param_nodes: Vec<Option<u32>>,
}

impl<E: Real> Gradients<E> {
    /// d(loss)/d(v); None when no gradient reached v.
    pub fn wrt(&self, v: Var) -> Option<&[E]> {
        self.by_node.get(v.index()).and_then(|g| g.as_deref())
    }
    /// d(loss)/d(parameter); None when the parameter was unused.
    pub fn param(&self, id: ParamId) -> Option<&[E]> {
        self.param_nodes[id.0].and_then(|n| self.by_node[n as usize].as_deref())
    }
    /// Gives the buffers back to a pool for the next step.
    pub fn into_buffers(self) -> impl Iterator<Item = Vec<E>> {
        self.by_node.into_iter().flatten()
    }
}

/// Gradient buffers of the inputs of the op being differentiated. `take` hands out a buffer (zeroed on
/// first use) and `put` returns it; an input used twice by one op gets a second buffer that `put` adds in.
pub(crate) struct Slots<'a, E: Real> {
    grads: &'a mut [Option<Vec<E>>],
    needs: &'a [bool],
    pool: &'a mut Pool<E>,
    sizes: &'a [usize],
}

impl<E: Real> Slots<'_, E> {
    pub fn take(&mut self, v: Var) -> Option<Vec<E>> {
        let i = v.index();
        if !self.needs[i] {
            return None;
        }
        Some(match self.grads[i].take() {
            Some(g) => g,
            None => self.pool.take_zeroed(self.sizes[i]),
        })
    }
    pub fn put(&mut self, v: Var, g: Option<Vec<E>>) {
        let Some(g) = g else { return };
        let slot = &mut self.grads[v.index()];
        match slot {
            Some(existing) => {
                existing.iter_mut().zip(&g).for_each(|(a, b)| *a += *b);
                self.pool.give(g);
            }
            None => *slot = Some(g),
        }
    }
}

impl<E: Real> Tape<'_, E> {
    /// Reverse-mode gradients of a scalar `loss` with respect to every input and parameter it depends on.
    pub fn backward(&mut self, loss: Var) -> Result<Gradients<E>> {
        if self.shape(loss).numel() != 1 {
            return Err(Error::Shape(format!(
                "backward needs a scalar loss, got shape {:?}",
                self.shape(loss)
            )));
        }
        if !self.grad_enabled() {
            return Err(Error::Invalid("backward on a no-grad tape".into()));
        }
        let n = loss.index() + 1;
        let needs: Vec<bool> = self.nodes.iter().map(|n| n.needs_grad).collect();
        let sizes: Vec<usize> = self.nodes.iter().map(|n| n.shape.numel()).collect();
        let mut grads: Vec<Option<Vec<E>>> = (0..self.nodes.len()).map(|_| None).collect();
        let mut pool = std::mem::take(self.pool_mut());
        let mut seed = pool.take(1);
        seed[0] = E::one();
        grads[loss.index()] = Some(seed);
        for i in (0..n).rev() {
            let Some(g) = grads[i].take() else { continue };
            if !needs[i] {
                continue;
            }
            let y = Var(i as u32);
            let mut slots = Slots {
                grads: &mut grads,
                needs: &needs,
                pool: &mut pool,
                sizes: &sizes,
            };
            self.backward_op(y, &g, &mut slots);
            grads[i] = Some(g);
        }
        *self.pool_mut() = pool;
        Ok(Gradients {
            by_node: grads,
            param_nodes: self.param_nodes.clone(),
        })
    }

    fn backward_op(&self, y: Var, g: &[E], s: &mut Slots<'_, E>) {
        match &self.nodes[y.index()].op {
            Op::Const | Op::Input | Op::Param(_) => {}
            Op::Matmul { x, w, b } => ops::matmul::backward(self, *x, *w, *b, g, s),
            Op::Bmm { a, b, trans_b } => ops::matmul::bmm_backward(self, *a, *b, *trans_b, g, s),
            Op::Unary { x, kind } => ops::unary::backward(self, *x, *kind, g, s),
            Op::Add { a, b } => ops::binary::add_backward(self, *a, *b, g, s),
            Op::Mul { a, b } => ops::binary::mul_backward(self, *a, *b, g, s),
            Op::Scale { x, s: k } => ops::binary::scale_backward(*x, *k, g, s),
            Op::LayerNorm {
                x,
                gamma,
                beta,
                mean,
                rstd,
            } => ops::layernorm::backward(self, *x, *gamma, *beta, mean, rstd, g, s),
            Op::Softmax { x, causal } => ops::softmax::backward(self, y, *x, *causal, g, s),
            Op::Concat { xs, axis } => ops::shape::concat_backward(self, xs, *axis, g, s),
            Op::Narrow { x, axis, start } => {
                ops::shape::narrow_backward(self, y, *x, *axis, *start, g, s)
            }
            Op::Reshape { x } => ops::shape::reshape_backward(*x, g, s),
            Op::Permute { x, perm } => ops::shape::permute_backward(self, *x, perm, g, s),
            Op::Sum { x } => ops::reduce::sum_backward(*x, E::one(), g, s),
            Op::Mean { x } => {
                let n = self.shape(*x).numel();
                ops::reduce::sum_backward(*x, E::one() / E::of(n as f64), g, s)
            }
            Op::Mse { a, b } => ops::loss::mse_backward(self, *a, *b, g, s),
            Op::CMul { a, b } => ops::koopman::cmul::backward(self, *a, *b, g, s),
            Op::Zoh { mu, omega, log_dt } => {
                ops::koopman::zoh::backward(self, *mu, *omega, *log_dt, g, s)
            }
            Op::Vandermonde { mu, omega, log_dt } => {
                ops::koopman::vandermonde::backward(self, y, *mu, *omega, *log_dt, g, s)
            }
            Op::Scan { z0, c, lbar } => ops::koopman::scan::backward(self, y, *z0, *c, *lbar, g, s),
            Op::CConv { z0, c, v } => ops::koopman::cconv::backward(self, *z0, *c, *v, g, s),
            Op::GruCell { xp, hp, h, gates } => {
                ops::gru_cell::backward(self, *xp, *hp, *h, gates, g, s)
            }
        }
    }
}
