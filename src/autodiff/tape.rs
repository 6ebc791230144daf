//! The tape: the value of every intermediate plus the rule that differentiates it, for any
//! backend. Values live in the backend's buffers; only what a caller asks for (`fetch`) crosses
//! to the host.
//!
//! Buffers come from a pool that survives across steps (`into_pool`, then the next tape's
//! constructor): a model that runs the same ops every step reuses the same buffers, so a warm
//! training step or a planner's no-grad rollout allocates nothing (and pays no page faults).
use super::params::{DeviceParams, ParamId, ParamStore};
use super::rule::Backward;
use crate::backend::{Backend, Cpu, Pool};
use crate::tensor::{Real, Shape, Tensor};
use crate::{shape_err, Error, Result};

/// A handle to a value on a tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) u32);

impl Var {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

pub(crate) enum Kind<B: Backend> {
    /// Data, targets, detached values, ops whose inputs need no gradient.
    Const,
    /// An input that receives a gradient (gradient checks).
    Input,
    Param(ParamId),
    Op(Box<dyn Backward<B>>),
}

pub(crate) struct Node<B: Backend> {
    pub shape: Shape,
    /// None for parameter leaves (their value is in the tape's parameter table) and for an op
    /// whose device work failed (see `fault`).
    pub value: Option<B::Buf>,
    /// Buffers the forward saved for backward (LayerNorm's statistics, the GRU cell's gates).
    pub saved: Vec<B::Buf>,
    pub kind: Kind<B>,
    pub needs_grad: bool,
}

pub struct Tape<'p, B: Backend = Cpu> {
    backend: B,
    pub(crate) params: &'p ParamStore<B::E>,
    /// The value of every parameter, by id: the store's own data on the CPU, the device copy
    /// elsewhere.
    param_values: Vec<&'p B::Buf>,
    pub(crate) nodes: Vec<Node<B>>,
    /// Node of each parameter registered on this tape (registered once, on first use).
    pub(crate) param_nodes: Vec<Option<u32>>,
    grad_enabled: bool,
    /// Set at creation: parameter leaves of a training tape always need gradients, even when first
    /// used inside a no-record stretch.
    records: bool,
    pool: Pool<B>,
    /// Per-op wall time, when profiling (`set_profile`).
    profile: Option<Box<super::OpProfile>>,
    /// The first device failure of an op that cannot return one (see `push_or_fault`).
    fault: Option<String>,
}

impl<'p, E: Real> Tape<'p, Cpu<E>> {
    /// A CPU tape that records ops for backward.
    pub fn new(params: &'p ParamStore<E>) -> Self {
        Self::with_pool(params, Vec::new(), true)
    }
    /// A CPU tape that records nothing: for inference and planning.
    pub fn no_grad(params: &'p ParamStore<E>) -> Self {
        Self::with_pool(params, Vec::new(), false)
    }
    /// A CPU tape reusing buffers handed back by an earlier tape (`into_pool().into_vec()`).
    /// Parameters are read in place from `params`.
    pub fn with_pool(params: &'p ParamStore<E>, pool: Vec<Vec<E>>, grad_enabled: bool) -> Self {
        let values = params.iter().map(|(_, t)| &t.data).collect();
        Self::build(
            Cpu::default(),
            params,
            values,
            Pool::from_vec(pool),
            grad_enabled,
        )
    }
    /// The value of `v` (CPU values are always present).
    pub fn value(&self, v: Var) -> &[E] {
        self.buf(v).map_or(&[], |b| b.as_slice())
    }
}

impl<'p, B: Backend> Tape<'p, B> {
    /// A tape on `backend` whose parameters are `values` (the device copy of `params`).
    pub fn on(
        backend: B,
        params: &'p ParamStore<B::E>,
        values: &'p DeviceParams<B>,
        pool: Pool<B>,
        grad_enabled: bool,
    ) -> Result<Self> {
        if values.len() != params.len() {
            return Err(Error::Invalid(format!(
                "device parameters hold {} tensors, the model {}",
                values.len(),
                params.len()
            )));
        }
        let values = params.ids().map(|id| values.get(id)).collect();
        Ok(Self::build(backend, params, values, pool, grad_enabled))
    }

    fn build(
        backend: B,
        params: &'p ParamStore<B::E>,
        param_values: Vec<&'p B::Buf>,
        pool: Pool<B>,
        grad_enabled: bool,
    ) -> Self {
        Tape {
            backend,
            params,
            param_values,
            nodes: Vec::new(),
            param_nodes: vec![None; params.len()],
            grad_enabled,
            records: grad_enabled,
            pool,
            profile: None,
            fault: None,
        }
    }

    /// Returns every buffer (values and saved statistics) for the next tape to reuse.
    pub fn into_pool(self) -> Pool<B> {
        let mut pool = self.pool;
        for node in self.nodes {
            node.value.into_iter().for_each(|b| pool.give(b));
            node.saved.into_iter().for_each(|b| pool.give(b));
        }
        pool
    }
    /// Returns a finished backward pass's buffers to the pool.
    pub fn recycle_gradients(&mut self, grads: super::Gradients<B>) {
        grads.into_buffers().for_each(|b| self.pool.give(b));
    }
    pub(crate) fn pool_mut(&mut self) -> &mut Pool<B> {
        &mut self.pool
    }

    /// Times every op from now on into `profile`, until `take_profile`. Meaningful on the CPU only:
    /// device launches are asynchronous, so host time says nothing about them.
    pub fn set_profile(&mut self, mut profile: Box<super::OpProfile>) {
        profile.start_forward();
        self.profile = Some(profile);
    }
    pub fn take_profile(&mut self) -> Option<Box<super::OpProfile>> {
        self.profile.take()
    }

    pub fn backend(&self) -> &B {
        &self.backend
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
    pub fn shape(&self, v: Var) -> Shape {
        self.nodes[v.index()].shape
    }
    pub fn dims(&self, v: Var) -> &[usize] {
        self.nodes[v.index()].shape.dims()
    }
    pub(crate) fn needs_grad(&self, v: Var) -> bool {
        self.nodes[v.index()].needs_grad
    }

    /// A pooled buffer of `n` elements whose contents are unspecified (to be overwritten fully).
    pub fn alloc(&mut self, n: usize) -> Result<B::Buf> {
        self.pool.take(&self.backend, n)
    }
    /// Hands a buffer back to the pool.
    pub fn recycle(&mut self, buf: B::Buf) {
        self.pool.give(buf);
    }

    /// The value of `v` in the backend's buffer (a parameter's is in the parameter table).
    pub fn buf(&self, v: Var) -> Result<&B::Buf> {
        let n = &self.nodes[v.index()];
        if let Kind::Param(id) = n.kind {
            return Ok(self.param_values[id.0]);
        }
        n.value.as_ref().ok_or_else(|| {
            self.fault_error()
                .unwrap_or_else(|| Error::Device(format!("node {} has no value", v.index())))
        })
    }
    /// Buffers saved by `v`'s forward for its backward.
    pub fn saved(&self, v: Var) -> &[B::Buf] {
        &self.nodes[v.index()].saved
    }

    /// Copies `v`'s value to the host.
    pub fn fetch(&self, v: Var) -> Result<Vec<B::E>> {
        let mut host = vec![<B::E as num_traits::Zero>::zero(); self.shape(v).numel()];
        self.backend.download(self.buf(v)?, &mut host)?;
        Ok(host)
    }
    /// The first element of `v` (the logged loss: one value crosses).
    pub fn fetch_item(&self, v: Var) -> Result<B::E> {
        let mut one = [<B::E as num_traits::Zero>::zero()];
        self.backend.download(self.buf(v)?, &mut one)?;
        Ok(one[0])
    }
    /// The value of a scalar (or the first element). A failed device read gives NaN, which the
    /// trainer reports as non-finite; `fetch_item` returns the error itself.
    pub fn item(&self, v: Var) -> B::E {
        self.fetch_item(v)
            .unwrap_or(<B::E as num_traits::Float>::nan())
    }
    /// Copies a value out (for tests and reporting); a failed read gives NaNs (`fetch` errs).
    pub fn to_tensor(&self, v: Var) -> Tensor<B::E> {
        let shape = self.shape(v);
        let data = self
            .fetch(v)
            .unwrap_or_else(|_| vec![<B::E as num_traits::Float>::nan(); shape.numel()]);
        Tensor { shape, data }
    }
    /// The recorded failure of an infallible op, if any.
    pub fn fault_error(&self) -> Option<Error> {
        self.fault
            .as_ref()
            .map(|m| Error::Device(format!("an earlier device op failed: {m}")))
    }

    /// Records an op's value. `rule` is kept only when an input needs a gradient.
    pub fn push<R: Backward<B>>(
        &mut self,
        shape: Shape,
        value: B::Buf,
        rule: R,
        inputs: &[Var],
    ) -> Var {
        self.record(shape, Some(value), Vec::new(), rule, inputs)
    }
    /// The value of a forward-only op (one that runs only where no gradient can flow, e.g. the
    /// fused `linear`): a constant to everything after it.
    pub fn push_value(&mut self, name: &'static str, shape: Shape, value: B::Buf) -> Var {
        if let Some(p) = self.profile.as_deref_mut() {
            p.forward_pushed(name, shape.dims());
        }
        self.leaf(shape, Some(value), Vec::new(), Kind::Const, false)
    }
    /// `push` for an op whose backward reads buffers saved by its forward (`saved`).
    pub fn push_saved<R: Backward<B>>(
        &mut self,
        shape: Shape,
        value: B::Buf,
        saved: Vec<B::Buf>,
        rule: R,
        inputs: &[Var],
    ) -> Var {
        self.record(shape, Some(value), saved, rule, inputs)
    }
    /// `push` for ops that cannot return an error (`scale`, `unary`, `sum`): a device failure is
    /// recorded, the node gets no value, and the next op reading it, `fetch` or `backward`
    /// reports it.
    pub fn push_or_fault<R: Backward<B>>(
        &mut self,
        shape: Shape,
        value: Result<B::Buf>,
        rule: R,
        inputs: &[Var],
    ) -> Var {
        let value = self.ok_or_fault(value);
        self.record(shape, value, Vec::new(), rule, inputs)
    }

    /// The buffer, or None with the error kept as the tape's fault (the first one wins).
    fn ok_or_fault(&mut self, value: Result<B::Buf>) -> Option<B::Buf> {
        value
            .map_err(|e| self.fault.get_or_insert_with(|| e.to_string()).clone())
            .ok()
    }

    fn record<R: Backward<B>>(
        &mut self,
        shape: Shape,
        value: Option<B::Buf>,
        mut saved: Vec<B::Buf>,
        rule: R,
        inputs: &[Var],
    ) -> Var {
        let needs_grad = self.grad_enabled && inputs.iter().any(|&v| self.needs_grad(v));
        if let Some(p) = self.profile.as_deref_mut() {
            p.forward_pushed(rule.name(), shape.dims());
        }
        let kind = if needs_grad {
            Kind::Op(Box::new(rule))
        } else {
            saved.drain(..).for_each(|b| self.pool.give(b));
            Kind::Const
        };
        self.leaf(shape, value, saved, kind, needs_grad)
    }

    fn leaf(
        &mut self,
        shape: Shape,
        value: Option<B::Buf>,
        saved: Vec<B::Buf>,
        kind: Kind<B>,
        needs_grad: bool,
    ) -> Var {
        self.nodes.push(Node {
            shape,
            value,
            saved,
            kind,
            needs_grad,
        });
        Var(self.nodes.len() as u32 - 1)
    }

    /// A constant input (data, targets): copied into a pooled buffer; receives no gradient.
    pub fn constant(&mut self, shape: impl Into<Shape>, data: &[B::E]) -> Result<Var> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return Err(shape_err!(
                "constant of shape {shape:?} needs {} values, got {}",
                shape.numel(),
                data.len()
            ));
        }
        let mut buf = self.alloc(data.len())?;
        self.backend.upload(data, &mut buf)?;
        Ok(self.leaf(shape, Some(buf), Vec::new(), Kind::Const, false))
    }
    /// A constant of zeros (from the pool: no host data crosses). A device failure is recorded
    /// as a fault (see `push_or_fault`).
    pub fn zeros(&mut self, shape: impl Into<Shape>) -> Var {
        let shape = shape.into();
        let buf = self.pool.take_zeroed(&self.backend, shape.numel());
        let buf = self.ok_or_fault(buf);
        self.leaf(shape, buf, Vec::new(), Kind::Const, false)
    }
    /// `constant` of a tensor (its shape always matches its data); a device failure is recorded
    /// as a fault.
    pub fn tensor(&mut self, t: &Tensor<B::E>) -> Var {
        let upload = |tp: &mut Self| -> Result<B::Buf> {
            let mut buf = tp.alloc(t.data.len())?;
            tp.backend.upload(&t.data, &mut buf)?;
            Ok(buf)
        };
        let buf = upload(self);
        let buf = self.ok_or_fault(buf);
        self.leaf(t.shape, buf, Vec::new(), Kind::Const, false)
    }
    /// An input that receives a gradient (gradient checks differentiate with respect to these).
    pub fn input(&mut self, t: &Tensor<B::E>) -> Var {
        let v = self.tensor(t);
        let n = &mut self.nodes[v.index()];
        n.needs_grad = self.grad_enabled;
        n.kind = Kind::Input;
        v
    }
    /// A parameter leaf (registered once per tape; its value is borrowed, not copied).
    pub fn param(&mut self, id: ParamId) -> Var {
        if let Some(n) = self.param_nodes[id.0] {
            return Var(n);
        }
        let shape = self.params.get(id).shape;
        let v = self.leaf(shape, None, Vec::new(), Kind::Param(id), self.records);
        self.param_nodes[id.0] = Some(v.0);
        v
    }
    /// Same values, no gradient flows back (stop-gradient).
    pub fn detach(&mut self, x: Var) -> Var {
        let shape = self.shape(x);
        let copy = |t: &mut Self| -> Result<B::Buf> {
            let mut buf = t.alloc(shape.numel())?;
            t.backend.copy(t.buf(x)?, &mut buf, shape.numel())?;
            Ok(buf)
        };
        let buf = copy(self);
        let buf = self.ok_or_fault(buf);
        self.leaf(shape, buf, Vec::new(), Kind::Const, false)
    }
}
