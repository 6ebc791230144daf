//! The reverse walk: seeds d(loss)/d(loss) = 1 and hands each recorded op its output gradient.
use super::op::Op;
use super::params::ParamId;
use super::pool::Pool;
use super::profile::Phase;
use super::tape::{Tape, Var};
use crate::ops;
use crate::tensor::Real;
use crate::{Error, Result};

/// Gradients of one backward pass, per tape node.
pub struct Gradients<E: Real> {
    by_node: Vec<Option<Vec<E>>>,
    param_nodes: Vec<Option<u32>>,
    /// Per-node gradients of a CUDA tape's backward (the host `by_node` is then all None).
    #[cfg(feature = "cuda")]
    dev_by_node: Vec<Option<super::cuda::DevBuf>>,
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
    /// d(loss)/d(parameter) on the device, after a CUDA tape's backward.
    #[cfg(feature = "cuda")]
    pub fn param_dev(&self, id: ParamId) -> Option<&super::cuda::DevBuf> {
        self.param_nodes[id.0].and_then(|n| self.dev_by_node.get(n as usize)?.as_ref())
    }
    /// Mutable access (in-place clipping before the optimiser step).
    #[cfg(feature = "cuda")]
    pub fn param_dev_mut(&mut self, id: ParamId) -> Option<&mut super::cuda::DevBuf> {
        let n = self.param_nodes[id.0]? as usize;
        self.dev_by_node.get_mut(n)?.as_mut()
    }
    /// d(loss)/d(v) on the device, after a CUDA tape's backward.
    #[cfg(feature = "cuda")]
    pub fn wrt_dev(&self, v: Var) -> Option<&super::cuda::DevBuf> {
        self.dev_by_node.get(v.index()).and_then(|g| g.as_ref())
    }
    /// The device gradient buffers, for the device pool.
    #[cfg(feature = "cuda")]
    pub fn into_dev_buffers(self) -> impl Iterator<Item = super::cuda::DevBuf> {
        self.dev_by_node.into_iter().flatten()
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
    /// Like `take`, for an op that writes every element of the gradient: returns (buffer, acc). A first
    /// gradient comes back unzeroed with `acc == false` (overwrite it); an existing one with `acc == true`
    /// (add into it). Saves the zero fill of a buffer that is about to be overwritten.
    pub fn take_write(&mut self, v: Var) -> (Option<Vec<E>>, bool) {
        let i = v.index();
        if !self.needs[i] {
            return (None, false);
        }
        match self.grads[i].take() {
            Some(g) => (Some(g), true),
            None => (Some(self.pool.take(self.sizes[i])), false),
        }
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
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return self.backward_cuda(loss);
        }
        let n = loss.index() + 1;
        let needs: Vec<bool> = self.nodes.iter().map(|n| n.needs_grad).collect();
        let sizes: Vec<usize> = self.nodes.iter().map(|n| n.shape.numel()).collect();
        let mut grads: Vec<Option<Vec<E>>> = (0..self.nodes.len()).map(|_| None).collect();
        let mut pool = std::mem::take(self.pool_mut());
        let mut profile = self.take_profile();
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
            let t0 = profile.is_some().then(std::time::Instant::now);
            self.backward_op(y, &g, &mut slots);
            if let (Some(p), Some(t0)) = (profile.as_deref_mut(), t0) {
                let node = &self.nodes[i];
                p.add(
                    Phase::Backward,
                    node.op.name(),
                    node.shape.dims(),
                    t0.elapsed(),
                );
            }
            grads[i] = Some(g);
        }
        *self.pool_mut() = pool;
        if let Some(p) = profile {
            self.set_profile(p);
        }
        Ok(Gradients {
            by_node: grads,
            param_nodes: self.param_nodes.clone(),
            #[cfg(feature = "cuda")]
            dev_by_node: Vec::new(),
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

#[cfg(feature = "cuda")]
impl<E: Real> Tape<'_, E> {
    /// The reverse walk on the device: the same order and accumulation rule as on the host.
    fn backward_cuda(&mut self, loss: Var) -> Result<Gradients<E>> {
        use super::cuda::{DevBuf, DevSlots};
        if let Some(e) = self.fault_error() {
            return Err(e);
        }
        let dev = self.dev()?;
        let n = loss.index() + 1;
        let needs: Vec<bool> = self.nodes.iter().map(|n| n.needs_grad).collect();
        let sizes: Vec<usize> = self.nodes.iter().map(|n| n.shape.numel()).collect();
        let mut grads: Vec<Option<DevBuf>> = (0..self.nodes.len()).map(|_| None).collect();
        let mut pool = std::mem::take(&mut self.cuda.as_mut().expect("checked by dev()").pool);
        let result = (|| -> Result<()> {
            let seed = pool.take(dev, 1)?;
            grads[loss.index()] = Some(seed);
            let one = [1f32];
            dev.stream()
                .memcpy_htod(&one, grads[loss.index()].as_mut().expect("just set"))?;
            for i in (0..n).rev() {
                let Some(g) = grads[i].take() else { continue };
                if !needs[i] {
                    pool.give(g);
                    continue;
                }
                let mut slots = DevSlots {
                    grads: &mut grads,
                    needs: &needs,
                    sizes: &sizes,
                    pool: &mut pool,
                    dev,
                };
                self.backward_op_cuda(Var(i as u32), &g, &mut slots)?;
                grads[i] = Some(g);
            }
            Ok(())
        })();
        self.cuda.as_mut().expect("checked by dev()").pool = pool;
        result?;
        Ok(Gradients {
            by_node: (0..self.nodes.len()).map(|_| None).collect(),
            param_nodes: self.param_nodes.clone(),
            dev_by_node: grads,
        })
    }

    fn backward_op_cuda(
        &self,
        y: Var,
        g: &super::cuda::DevBuf,
        s: &mut super::cuda::DevSlots,
    ) -> Result<()> {
        use ops::koopman::{cconv, cmul, scan, vandermonde, zoh};
        match &self.nodes[y.index()].op {
            Op::Const | Op::Input | Op::Param(_) => Ok(()),
            Op::Matmul { x, w, b } => ops::matmul::cuda::backward(self, *x, *w, *b, g, s),
            Op::Bmm { a, b, trans_b } => {
                ops::matmul::cuda::bmm_backward(self, *a, *b, *trans_b, g, s)
            }
            Op::Unary { x, kind } => ops::unary::cuda::backward(self, y, *x, *kind, g, s),
            Op::Add { a, b } => ops::binary::cuda::add_backward(self, *a, *b, g, s),
            Op::Mul { a, b } => ops::binary::cuda::mul_backward(self, *a, *b, g, s),
            Op::Scale { x, s: k } => {
                ops::binary::cuda::scale_backward(self, *x, k.f64() as f32, g, s)
            }
            Op::LayerNorm { x, gamma, beta, .. } => {
                ops::layernorm::cuda::backward(self, y, *x, *gamma, *beta, g, s)
            }
            Op::Softmax { x, .. } => ops::softmax::cuda::backward(self, y, *x, g, s),
            Op::Concat { xs, axis } => ops::shape::cuda::concat_backward(self, y, xs, *axis, g, s),
            Op::Narrow { x, axis, start } => {
                ops::shape::cuda::narrow_backward(self, y, *x, *axis, *start, g, s)
            }
            Op::Reshape { x } => ops::shape::cuda::reshape_backward(self, *x, g, s),
            Op::Permute { x, perm } => ops::shape::cuda::permute_backward(self, y, *x, perm, g, s),
            Op::Sum { x } => ops::reduce::cuda::sum_backward(self, *x, 1.0, g, s),
            Op::Mean { x } => {
                let n = self.shape(*x).numel();
                ops::reduce::cuda::sum_backward(self, *x, 1.0 / n as f32, g, s)
            }
            Op::Mse { a, b } => ops::loss::cuda::mse_backward(self, *a, *b, g, s),
            Op::CMul { a, b } => cmul::cuda::backward(self, *a, *b, g, s),
            Op::Zoh { mu, omega, log_dt } => zoh::cuda::backward(self, *mu, *omega, *log_dt, g, s),
            Op::Vandermonde { mu, omega, log_dt } => {
                vandermonde::cuda::backward(self, y, *mu, *omega, *log_dt, g, s)
            }
            Op::Scan { z0, c, lbar } => scan::cuda::backward(self, y, *z0, *c, *lbar, g, s),
            Op::CConv { z0, c, v } => cconv::cuda::backward(self, *z0, *c, *v, g, s),
            Op::GruCell { xp, hp, h, .. } => {
                ops::gru_cell::cuda::backward(self, y, *xp, *hp, *h, g, s)
            }
        }
    }
}
