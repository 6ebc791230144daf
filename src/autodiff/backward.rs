//! The reverse walk: seeds d(loss)/d(loss) = 1 and hands each recorded op's rule its output
//! gradient. The same walk, slots and accumulation rule on every backend.
use super::params::ParamId;
use super::profile::Phase;
use super::tape::{Kind, Tape, Var};
use crate::backend::{Backend, Pool};
use crate::{Error, Result};

/// Gradients of one backward pass, per tape node, in the backend's buffers.
pub struct Gradients<B: Backend> {
    by_node: Vec<Option<B::Buf>>,
    param_nodes: Vec<Option<u32>>,
}

impl<B: Backend> Gradients<B> {
    /// d(loss)/d(v); None when no gradient reached v.
    pub fn wrt(&self, v: Var) -> Option<&B::Buf> {
        self.by_node.get(v.index()).and_then(|g| g.as_ref())
    }
    /// d(loss)/d(parameter); None when the parameter was unused.
    pub fn param(&self, id: ParamId) -> Option<&B::Buf> {
        let n = (*self.param_nodes.get(id.0)?)? as usize;
        self.by_node[n].as_ref()
    }
    /// Mutable access (in-place clipping before the optimiser step).
    pub fn param_mut(&mut self, id: ParamId) -> Option<&mut B::Buf> {
        let n = (*self.param_nodes.get(id.0)?)? as usize;
        self.by_node[n].as_mut()
    }
    /// Gives the buffers back to a pool for the next step.
    pub fn into_buffers(self) -> impl Iterator<Item = B::Buf> {
        self.by_node.into_iter().flatten()
    }
}

/// Gradient buffers of the inputs of the op being differentiated. `take` hands out a buffer (zeroed on
/// first use) and `put` returns it; an input used twice by one op gets a second buffer that `put` adds in.
pub struct Slots<'a, B: Backend> {
    backend: &'a B,
    grads: &'a mut [Option<B::Buf>],
    needs: &'a [bool],
    sizes: &'a [usize],
    pool: &'a mut Pool<B>,
}

impl<B: Backend> Slots<'_, B> {
    pub fn backend(&self) -> &B {
        self.backend
    }
    /// Whether `v` needs a gradient.
    pub fn needs(&self, v: Var) -> bool {
        self.needs[v.index()]
    }
    /// The gradient buffer of `v` (zeroed on first use), or None when `v` needs no gradient.
    pub fn take(&mut self, v: Var) -> Result<Option<B::Buf>> {
        let i = v.index();
        if !self.needs[i] {
            return Ok(None);
        }
        Ok(Some(match self.grads[i].take() {
            Some(g) => g,
            None => self.pool.take_zeroed(self.backend, self.sizes[i])?,
        }))
    }
    /// Like `take`, for a kernel that writes every element of the gradient: returns (buffer, acc).
    /// A first gradient comes back unzeroed with `acc == false` (overwrite it); an existing one
    /// with `acc == true` (add into it). Saves the zero fill of a buffer about to be overwritten.
    pub fn take_write(&mut self, v: Var) -> Result<(Option<B::Buf>, bool)> {
        let i = v.index();
        if !self.needs[i] {
            return Ok((None, false));
        }
        Ok(match self.grads[i].take() {
            Some(g) => (Some(g), true),
            None => (Some(self.pool.take(self.backend, self.sizes[i])?), false),
        })
    }
    /// A zeroed buffer for `v`'s gradient even when none is needed (kernels that write every
    /// gradient at once): `put` returns it to the pool in that case.
    pub fn take_any(&mut self, v: Var) -> Result<B::Buf> {
        match self.grads[v.index()].take() {
            Some(g) => Ok(g),
            None => self.pool.take_zeroed(self.backend, self.sizes[v.index()]),
        }
    }
    /// A scratch buffer of `n` elements, contents unspecified (return it with `give`).
    pub fn scratch(&mut self, n: usize) -> Result<B::Buf> {
        self.pool.take(self.backend, n)
    }
    pub fn give(&mut self, b: B::Buf) {
        self.pool.give(b);
    }
    pub fn put(&mut self, v: Var, g: Option<B::Buf>) -> Result<()> {
        let Some(g) = g else { return Ok(()) };
        let i = v.index();
        if !self.needs[i] {
            self.pool.give(g);
            return Ok(());
        }
        match &mut self.grads[i] {
            Some(existing) => {
                self.backend.add_assign(existing, &g, self.sizes[i])?;
                self.pool.give(g);
            }
            slot @ None => *slot = Some(g),
        }
        Ok(())
    }
}

impl<B: Backend> Tape<'_, B> {
    /// Reverse-mode gradients of a scalar `loss` with respect to every input and parameter it depends on.
    pub fn backward(&mut self, loss: Var) -> Result<Gradients<B>> {
        if self.shape(loss).numel() != 1 {
            return Err(Error::Shape(format!(
                "backward needs a scalar loss, got shape {:?}",
                self.shape(loss)
            )));
        }
        if !self.grad_enabled() {
            return Err(Error::Invalid("backward on a no-grad tape".into()));
        }
        if let Some(e) = self.fault_error() {
            return Err(e);
        }
        let needs: Vec<bool> = self.nodes.iter().map(|n| n.needs_grad).collect();
        let sizes: Vec<usize> = self.nodes.iter().map(|n| n.shape.numel()).collect();
        let mut grads: Vec<Option<B::Buf>> = (0..self.nodes.len()).map(|_| None).collect();
        let mut pool = std::mem::take(self.pool_mut());
        let mut profile = self.take_profile();
        let backend = self.backend().clone();
        let result = (|| -> Result<()> {
            let mut seed = pool.take(&backend, 1)?;
            backend.upload(&[<B::E as num_traits::One>::one()], &mut seed)?;
            grads[loss.index()] = Some(seed);
            for i in (0..=loss.index()).rev() {
                let Some(g) = grads[i].take() else { continue };
                let Kind::Op(rule) = &self.nodes[i].kind else {
                    grads[i] = Some(g);
                    continue;
                };
                let mut slots = Slots {
                    backend: &backend,
                    grads: &mut grads,
                    needs: &needs,
                    sizes: &sizes,
                    pool: &mut pool,
                };
                let t0 = profile.is_some().then(std::time::Instant::now);
                rule.backward(self, Var(i as u32), &g, &mut slots)?;
                if let (Some(p), Some(t0)) = (profile.as_deref_mut(), t0) {
                    let shape = self.nodes[i].shape;
                    p.add(Phase::Backward, rule.name(), shape.dims(), t0.elapsed());
                }
                grads[i] = Some(g);
            }
            Ok(())
        })();
        *self.pool_mut() = pool;
        if let Some(p) = profile {
            self.set_profile(p);
        }
        result?;
        Ok(Gradients {
            by_node: grads,
            param_nodes: self.param_nodes.clone(),
        })
    }
}
