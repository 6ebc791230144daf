//! The tape on a CUDA device (candle's device dispatch, llm.c's forward/backward pairs): node values
//! live in device buffers, every op dispatches to its `cuda.rs` twin beside the CPU code, backward
//! runs on the device, and only what a caller asks for (`fetch`) crosses to the host.
//!
//! Device tapes are f32: they are built by [`Tape::on_cuda`], which exists for `Tape<f32>` only.
use super::backward::Gradients;
use super::op::Op;
use super::params::{ParamId, ParamStore};
use super::tape::{Tape, Var};
use crate::backend::cuda::launch::elementwise::add_bwd;
use crate::backend::cuda::CudaDevice;
use crate::tensor::{Real, Shape};
use crate::{Error, Result};
use cudarc::driver::CudaSlice;
use std::collections::HashMap;

/// A device buffer of f32.
pub type DevBuf = CudaSlice<f32>;

/// Device state of one tape node: its value, and what its backward needs besides the inputs
/// (LayerNorm's mean and rstd, the GRU cell's gates).
pub(crate) struct DevNode {
    pub value: DevBuf,
    pub saved: Vec<DevBuf>,
}

/// A model's parameters resident on the device: uploaded once, updated in place by the device
/// Adam, copied back to the host only for checkpoints and evaluation.
pub struct DeviceParams {
    bufs: Vec<DevBuf>,
}

impl DeviceParams {
    pub fn upload(dev: &CudaDevice, params: &ParamStore<f32>) -> Result<Self> {
        let bufs = params
            .ids()
            .map(|id| dev.upload(&params.get(id).data))
            .collect::<std::result::Result<_, _>>()?;
        Ok(DeviceParams { bufs })
    }
    /// Copies every parameter back into `params` (which must be the store this was uploaded from).
    pub fn download_into(&self, dev: &CudaDevice, params: &mut ParamStore<f32>) -> Result<()> {
        if params.len() != self.bufs.len() {
            return Err(Error::Invalid(format!(
                "device parameters: {} tensors on the device, {} on the host",
                self.bufs.len(),
                params.len()
            )));
        }
        for (i, buf) in self.bufs.iter().enumerate() {
            let host = &mut params.get_mut(ParamId(i)).data;
            dev.stream().memcpy_dtoh(buf, host.as_mut_slice())?;
        }
        dev.synchronize()?;
        Ok(())
    }
    pub fn get(&self, id: ParamId) -> &DevBuf {
        &self.bufs[id.0]
    }
    pub fn get_mut(&mut self, id: ParamId) -> &mut DevBuf {
        &mut self.bufs[id.0]
    }
    pub fn len(&self) -> usize {
        self.bufs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }
}

/// Device buffers kept across steps, by exact length: a model runs the same ops every step, so a
/// warm step allocates nothing on the device either.
#[derive(Default)]
pub struct DevPool {
    free: HashMap<usize, Vec<DevBuf>>,
}

impl DevPool {
    /// A buffer of `n` floats with unspecified contents.
    pub fn take(&mut self, dev: &CudaDevice, n: usize) -> Result<DevBuf> {
        if let Some(b) = self.free.get_mut(&n).and_then(|v| v.pop()) {
            return Ok(b);
        }
        // SAFETY: every user overwrites the whole buffer before reading it (launchers write their
        // outputs fully; `take_zeroed` clears it).
        Ok(unsafe { dev.stream().alloc::<f32>(n.max(1)) }?)
    }
    pub fn take_zeroed(&mut self, dev: &CudaDevice, n: usize) -> Result<DevBuf> {
        let mut b = self.take(dev, n)?;
        dev.stream().memset_zeros(&mut b)?;
        Ok(b)
    }
    pub fn give(&mut self, b: DevBuf) {
        let n = b.len();
        self.free.entry(n).or_default().push(b);
    }
}

/// What a tape needs to run on the device.
pub(crate) struct CudaCtx<'p> {
    pub dev: &'static CudaDevice,
    pub params: &'p DeviceParams,
    pub pool: DevPool,
}

impl<'p> Tape<'p, f32> {
    /// A tape whose ops run on `dev`, reading the parameters from `dparams` (the device copy of
    /// `params`) and reusing `pool`'s device buffers.
    pub fn on_cuda(
        params: &'p ParamStore<f32>,
        dparams: &'p DeviceParams,
        dev: &'static CudaDevice,
        pool: DevPool,
        grad_enabled: bool,
    ) -> Result<Self> {
        if dparams.len() != params.len() {
            return Err(Error::Invalid(format!(
                "device parameters hold {} tensors, the model {}",
                dparams.len(),
                params.len()
            )));
        }
        let mut t = Tape::with_pool(params, Vec::new(), grad_enabled);
        t.cuda = Some(CudaCtx {
            dev,
            params: dparams,
            pool,
        });
        Ok(t)
    }
}

impl<E: Real> Tape<'_, E> {
    /// Whether this tape's ops run on a CUDA device.
    pub fn is_cuda(&self) -> bool {
        self.cuda.is_some()
    }
    pub(crate) fn cuda_ctx(&self) -> Result<&CudaCtx<'_>> {
        self.cuda
            .as_ref()
            .ok_or_else(|| Error::Device("not a CUDA tape".into()))
    }
    pub(crate) fn dev(&self) -> Result<&'static CudaDevice> {
        Ok(self.cuda_ctx()?.dev)
    }
    /// Hands back the device buffers of every node (and the device pool) for the next tape.
    pub fn into_dev_pool(mut self) -> DevPool {
        let mut pool = self.cuda.take().map(|c| c.pool).unwrap_or_default();
        for node in self.nodes.drain(..) {
            if let Some(d) = node.dev {
                pool.give(d.value);
                d.saved.into_iter().for_each(|b| pool.give(b));
            }
        }
        pool
    }
    /// Returns a finished device backward pass's gradient buffers to the pool.
    pub fn recycle_dev_gradients(&mut self, grads: Gradients<E>) {
        if let Some(c) = self.cuda.as_mut() {
            grads.into_dev_buffers().for_each(|b| c.pool.give(b));
        }
    }

    /// The device value of `v` (a parameter's lives in the device parameters).
    pub(crate) fn dev_value(&self, v: Var) -> Result<&DevBuf> {
        let ctx = self.cuda_ctx()?;
        let n = &self.nodes[v.index()];
        if let Op::Param(id) = n.op {
            return Ok(ctx.params.get(id));
        }
        match &n.dev {
            Some(d) => Ok(&d.value),
            None => Err(self.fault_error().unwrap_or_else(|| {
                Error::Device(format!("node {} has no device value", v.index()))
            })),
        }
    }
    /// Buffers saved by `v`'s forward for its backward.
    pub(crate) fn dev_saved(&self, v: Var) -> &[DevBuf] {
        self.nodes[v.index()]
            .dev
            .as_ref()
            .map_or(&[], |d| d.saved.as_slice())
    }
    /// A device buffer of `n` floats, contents unspecified (to be overwritten fully).
    pub(crate) fn dev_alloc(&mut self, n: usize) -> Result<DevBuf> {
        let ctx = self
            .cuda
            .as_mut()
            .ok_or_else(|| Error::Device("not a CUDA tape".into()))?;
        ctx.pool.take(ctx.dev, n)
    }
    pub(crate) fn dev_give(&mut self, b: DevBuf) {
        if let Some(c) = self.cuda.as_mut() {
            c.pool.give(b);
        }
    }

    /// Pushes a value computed on the device (`saved`: buffers its backward needs).
    pub(crate) fn push_dev(
        &mut self,
        shape: Shape,
        value: DevBuf,
        saved: Vec<DevBuf>,
        op: Op<E>,
        inputs: &[Var],
    ) -> Var {
        let v = self.record(shape, Vec::new(), op, inputs);
        let node_needs = self.needs_grad(v);
        let saved = if node_needs {
            saved
        } else {
            saved.into_iter().for_each(|b| self.dev_give(b));
            Vec::new()
        };
        self.nodes[v.index()].dev = Some(DevNode { value, saved });
        v
    }

    /// Records a device failure inside an op that cannot return an error (`scale`, `unary`, `sum`):
    /// the op's node gets no value, and the next op reading it, `fetch` or `backward` reports it.
    pub(crate) fn push_fault(&mut self, shape: Shape, op: Op<E>, inputs: &[Var], e: Error) -> Var {
        if self.fault.is_none() {
            self.fault = Some(e.to_string());
        }
        self.record(shape, Vec::new(), op, inputs)
    }
    /// The recorded failure of an infallible op, if any.
    pub(crate) fn fault_error(&self) -> Option<Error> {
        self.fault
            .as_ref()
            .map(|m| Error::Device(format!("an earlier device op failed: {m}")))
    }

    /// Uploads host data into a new device buffer.
    pub(crate) fn dev_upload(&mut self, data: &[E]) -> Result<DevBuf> {
        let dev = self.dev()?;
        let Some(host) = E::as_f32s(data) else {
            return Err(Error::Device("CUDA tapes hold f32 values".into()));
        };
        let mut b = self.dev_alloc(data.len())?;
        dev.stream().memcpy_htod(host, &mut b)?;
        Ok(b)
    }

    /// A device copy of `v`'s value (reshape, detach).
    pub(crate) fn dev_clone(&mut self, v: Var) -> Result<DevBuf> {
        let n = self.shape(v).numel();
        let mut b = self.dev_alloc(n)?;
        let dev = self.dev()?;
        dev.stream().memcpy_dtod(self.dev_value(v)?, &mut b)?;
        Ok(b)
    }

    /// Copies `v`'s value to the host, wherever it lives.
    pub fn fetch(&self, v: Var) -> Result<Vec<E>> {
        if !self.is_cuda() {
            return Ok(self.value(v).to_vec());
        }
        let dev = self.dev()?;
        let host = dev.download(self.dev_value(v)?)?;
        let n = self.shape(v).numel();
        Ok(host[..n].iter().map(|&x| E::of(x as f64)).collect())
    }
    /// The first element of `v`, wherever it lives (the logged loss: one float crosses).
    pub fn fetch_item(&self, v: Var) -> Result<E> {
        if !self.is_cuda() {
            return Ok(self.item(v));
        }
        let dev = self.dev()?;
        let mut one = [0f32];
        dev.stream()
            .memcpy_dtoh(&self.dev_value(v)?.slice(0..1), &mut one)?;
        dev.synchronize()?;
        Ok(E::of(one[0] as f64))
    }
}

/// Gradient buffers of the inputs of the op being differentiated, on the device: as [`super::Slots`].
pub(crate) struct DevSlots<'a> {
    pub grads: &'a mut [Option<DevBuf>],
    pub needs: &'a [bool],
    pub sizes: &'a [usize],
    pub pool: &'a mut DevPool,
    pub dev: &'static CudaDevice,
}

impl DevSlots<'_> {
    /// The gradient buffer of `v` (zeroed on first use), or None when `v` needs no gradient.
    pub fn take(&mut self, v: Var) -> Result<Option<DevBuf>> {
        if !self.needs[v.index()] {
            return Ok(None);
        }
        self.any(v).map(Some)
    }
    /// A buffer for `v`'s gradient even when none is needed (kernels that write every gradient):
    /// `put` returns it to the pool in that case.
    pub fn any(&mut self, v: Var) -> Result<DevBuf> {
        let i = v.index();
        match self.grads[i].take() {
            Some(g) => Ok(g),
            None => self.pool.take_zeroed(self.dev, self.sizes[i]),
        }
    }
    /// A zeroed scratch buffer of `n` floats (returned with `give`).
    pub fn scratch(&mut self, n: usize) -> Result<DevBuf> {
        self.pool.take_zeroed(self.dev, n)
    }
    pub fn give(&mut self, b: DevBuf) {
        self.pool.give(b);
    }
    pub fn put(&mut self, v: Var, g: Option<DevBuf>) -> Result<()> {
        let Some(g) = g else { return Ok(()) };
        let i = v.index();
        if !self.needs[i] {
            self.pool.give(g);
            return Ok(());
        }
        match &mut self.grads[i] {
            Some(existing) => {
                let n = self.sizes[i];
                add_bwd(self.dev, Some(existing), None, &g, n, n)?;
                self.pool.give(g);
            }
            slot @ None => *slot = Some(g),
        }
        Ok(())
    }
}
