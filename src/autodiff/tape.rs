//! The tape: values of every intermediate plus the op that made each one.
//!
//! Buffers come from a pool that survives across steps (`Tape::with_pool` / `Tape::into_pool`): a
//! model that runs the same ops every step reuses the same buffers, so a warm training step or a
//! planner's no-grad rollout allocates nothing (and pays no page faults on large activations).
use super::op::Op;
use super::params::{ParamId, ParamStore};
use super::pool::Pool;
use crate::tensor::{Real, Shape, Tensor};
use crate::{shape_err, Result};

/// A handle to a value on a tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) u32);

impl Var {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

pub(crate) struct Node<E: Real> {
    pub shape: Shape,
    /// Empty for parameter leaves (their data stays in the ParamStore).
    pub data: Vec<E>,
    pub op: Op<E>,
    pub needs_grad: bool,
    /// The value on the device, for nodes of a CUDA tape (`data` is then empty).
    #[cfg(feature = "cuda")]
    pub dev: Option<super::cuda::DevNode>,
}

impl<E: Real> Node<E> {
    fn new(shape: Shape, data: Vec<E>, op: Op<E>, needs_grad: bool) -> Self {
        Node {
            shape,
            data,
            op,
            needs_grad,
            #[cfg(feature = "cuda")]
            dev: None,
        }
    }
}

pub struct Tape<'p, E: Real = f32> {
    pub(crate) params: &'p ParamStore<E>,
    pub(crate) nodes: Vec<Node<E>>,
    /// Node of each parameter registered on this tape (registered once, on first use).
    pub(crate) param_nodes: Vec<Option<u32>>,
    grad_enabled: bool,
    /// Set at creation: parameter leaves of a training tape always need gradients, even when first
    /// used inside a no-record stretch.
    records: bool,
    pool: Pool<E>,
    /// Per-op wall time, when profiling (`set_profile`).
    profile: Option<Box<super::OpProfile>>,
    /// Set for a tape whose ops run on a CUDA device.
    #[cfg(feature = "cuda")]
    pub(crate) cuda: Option<super::cuda::CudaCtx<'p>>,
    /// The first device failure of an op that cannot return one (see `push_fault`).
    #[cfg(feature = "cuda")]
    pub(crate) fault: Option<String>,
}

impl<'p, E: Real> Tape<'p, E> {
    /// A tape that records ops for backward.
    pub fn new(params: &'p ParamStore<E>) -> Self {
        Self::with_pool(params, Vec::new(), true)
    }
    /// A tape that records nothing: for inference and planning.
    pub fn no_grad(params: &'p ParamStore<E>) -> Self {
        Self::with_pool(params, Vec::new(), false)
    }
    /// Reuses buffers handed back by an earlier tape's `into_pool`.
    pub fn with_pool(params: &'p ParamStore<E>, pool: Vec<Vec<E>>, grad_enabled: bool) -> Self {
        Tape {
            params,
            nodes: Vec::new(),
            param_nodes: vec![None; params.len()],
            grad_enabled,
            records: grad_enabled,
            pool: Pool::from_vec(pool),
            profile: None,
            #[cfg(feature = "cuda")]
            cuda: None,
            #[cfg(feature = "cuda")]
            fault: None,
        }
    }
    /// Returns every buffer (values and saved statistics) for the next tape to reuse.
    pub fn into_pool(self) -> Vec<Vec<E>> {
        let mut pool = self.pool;
        for node in self.nodes {
            pool.give(node.data);
            if let Some(saved) = node.op.into_saved() {
                saved.into_iter().for_each(|b| pool.give(b));
            }
        }
        pool.into_vec()
    }
    /// Times every op from now on into `profile` (CPU tapes), until `take_profile`.
    pub fn set_profile(&mut self, mut profile: Box<super::OpProfile>) {
        profile.start_forward();
        self.profile = Some(profile);
    }
    pub fn take_profile(&mut self) -> Option<Box<super::OpProfile>> {
        self.profile.take()
    }
    pub(crate) fn pool_mut(&mut self) -> &mut Pool<E> {
        &mut self.pool
    }
    /// Returns a finished backward pass's buffers to the pool.
    pub fn recycle_gradients(&mut self, grads: super::Gradients<E>) {
        grads.into_buffers().for_each(|b| self.pool.give(b));
    }
    pub(crate) fn recycle(&mut self, buf: Vec<E>) {
        self.pool.give(buf);
    }

    /// Turns recording off (or back on) for a stretch of ops, e.g. a stop-gradient target;
    /// returns the previous setting.
    pub fn set_grad_enabled(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.grad_enabled, on)
    }
    pub fn grad_enabled(&self) -> bool {
        self.grad_enabled
    }
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A buffer of length n whose contents are unspecified (to be overwritten fully).
    pub(crate) fn alloc_uninit(&mut self, n: usize) -> Vec<E> {
        self.pool.take(n)
    }

    pub fn shape(&self, v: Var) -> Shape {
        self.nodes[v.index()].shape
    }
    pub fn dims(&self, v: Var) -> &[usize] {
        self.nodes[v.index()].shape.dims()
    }
    /// The value of `v` on the host. A CUDA tape keeps values on the device: use [`Tape::fetch`].
    pub fn value(&self, v: Var) -> &[E] {
        let n = &self.nodes[v.index()];
        match n.op {
            Op::Param(id) => &self.params.get(id).data,
            _ => &n.data,
        }
    }
    pub(crate) fn needs_grad(&self, v: Var) -> bool {
        self.nodes[v.index()].needs_grad
    }
    /// Copies a value out (for tests and reporting).
    /// On a CUDA tape this downloads; a failed read gives NaNs (use `fetch` for the error).
    pub fn to_tensor(&self, v: Var) -> Tensor<E> {
        let shape = self.shape(v);
        let data = if self.is_cuda() {
            self.fetch(v)
                .unwrap_or_else(|_| vec![E::nan(); shape.numel()])
        } else {
            self.value(v).to_vec()
        };
        Tensor { shape, data }
    }
    /// The value of a scalar (or the first element).
    pub fn item(&self, v: Var) -> E {
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            // A device read that fails reads as NaN, which the trainer reports as non-finite;
            // use `fetch_item` for the error itself.
            return self.fetch_item(v).unwrap_or(E::nan());
        }
        self.value(v)[0]
    }

    /// Pushes a computed value. `op` is dropped (recorded as a constant) when no input needs a gradient.
    pub(crate) fn push(&mut self, shape: Shape, data: Vec<E>, op: Op<E>, inputs: &[Var]) -> Var {
        debug_assert_eq!(shape.numel(), data.len());
        self.record(shape, data, op, inputs)
    }

    /// `push` without the host-data check: device nodes carry no host data.
    pub(crate) fn record(&mut self, shape: Shape, data: Vec<E>, op: Op<E>, inputs: &[Var]) -> Var {
        let needs_grad = self.grad_enabled && inputs.iter().any(|&v| self.needs_grad(v));
        if let Some(p) = self.profile.as_deref_mut() {
            p.forward_pushed(op.name(), shape.dims());
        }
        let op = if needs_grad {
            op
        } else {
            if let Some(saved) = op.into_saved() {
                for b in saved {
                    self.recycle(b);
                }
            }
            Op::Const
        };
        self.nodes.push(Node::new(shape, data, op, needs_grad));
        Var(self.nodes.len() as u32 - 1)
    }

    /// A constant input (data, targets): copied into a pooled buffer; receives no gradient.
    pub fn constant(&mut self, shape: impl Into<Shape>, data: &[E]) -> Result<Var> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return Err(shape_err!(
                "constant of shape {shape:?} needs {} values, got {}",
                shape.numel(),
                data.len()
            ));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            let value = self.dev_upload(data)?;
            let v = self.push_dev(shape, value, Vec::new(), Op::Const, &[]);
            return Ok(v);
        }
        let mut buf = self.alloc_uninit(data.len());
        buf.copy_from_slice(data);
        self.nodes.push(Node::new(shape, buf, Op::Const, false));
        Ok(Var(self.nodes.len() as u32 - 1))
    }
    /// A constant of zeros (from the pool on either device: no host data crosses).
    pub fn zeros(&mut self, shape: impl Into<Shape>) -> Var {
        let shape = shape.into();
        #[cfg(feature = "cuda")]
        if let Some(c) = self.cuda.as_mut() {
            let zeroed = c.pool.take_zeroed(c.dev, shape.numel());
            return match zeroed {
                Ok(b) => self.push_dev(shape, b, Vec::new(), Op::Const, &[]),
                Err(e) => self.push_fault(shape, Op::Const, &[], e),
            };
        }
        let buf = self.pool.take_zeroed(shape.numel());
        self.nodes.push(Node::new(shape, buf, Op::Const, false));
        Var(self.nodes.len() as u32 - 1)
    }
    pub fn tensor(&mut self, t: &Tensor<E>) -> Var {
        self.constant(t.shape, &t.data)
            .expect("a Tensor's shape matches its data")
    }
    /// An input that receives a gradient (gradient checks differentiate with respect to these).
    pub fn input(&mut self, t: &Tensor<E>) -> Var {
        let v = self.tensor(t);
        let n = &mut self.nodes[v.index()];
        n.needs_grad = self.grad_enabled;
        n.op = Op::Input;
        v
    }
    /// A parameter leaf (registered once per tape; its data is borrowed, not copied).
    pub fn param(&mut self, id: ParamId) -> Var {
        if let Some(n) = self.param_nodes[id.0] {
            return Var(n);
        }
        let shape = self.params.get(id).shape;
        self.nodes
            .push(Node::new(shape, Vec::new(), Op::Param(id), self.records));
        let n = self.nodes.len() as u32 - 1;
        self.param_nodes[id.0] = Some(n);
        Var(n)
    }
    /// Same values, no gradient flows back (stop-gradient).
    pub fn detach(&mut self, x: Var) -> Var {
        let shape = self.shape(x);
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return match self.dev_clone(x) {
                Ok(b) => self.push_dev(shape, b, Vec::new(), Op::Const, &[]),
                Err(e) => self.push_fault(shape, Op::Const, &[], e),
            };
        }
        let mut buf = self.alloc_uninit(shape.numel());
        buf.copy_from_slice(self.value(x));
        self.nodes.push(Node::new(shape, buf, Op::Const, false));
        Var(self.nodes.len() as u32 - 1)
    }

    /// Whether this tape's ops run on a CUDA device (never, in a build without the `cuda` feature).
    #[cfg(not(feature = "cuda"))]
    pub fn is_cuda(&self) -> bool {
        false
    }
    /// Copies `v`'s value to the host (the CUDA build downloads device values).
    #[cfg(not(feature = "cuda"))]
    pub fn fetch(&self, v: Var) -> Result<Vec<E>> {
        Ok(self.value(v).to_vec())
    }
    /// The first element of `v` (the CUDA build reads it from the device).
    #[cfg(not(feature = "cuda"))]
    pub fn fetch_item(&self, v: Var) -> Result<E> {
        Ok(self.item(v))
    }
}
