//! The training step, one for every backend: forward on a fresh tape (buffers reused from the
//! previous step), backward, global-norm clipping, AdamW, all on the backend's buffers. Parameters
//! and the optimiser's moments stay on the backend between steps; per step one copy of a few
//! values comes back (the loss, its parts and the gradient norm), the step's only
//! synchronisation. A non-finite loss or gradient stops training with the step number, before any
//! parameter changes. The host model and optimiser are refreshed by [`Trainer::sync_host`].
use crate::autodiff::profile::Phase;
use crate::autodiff::{DeviceParams, OpProfile, ParamStore, Tape};
use crate::backend::{Backend, Cpu, Device, Pool};
use crate::models::{DynamicsModel, Forward, SeqBatch};
use crate::ops::Engine;
use crate::optim::{Adam, AdamConfig, OptimKernel, Schedule};
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub schedule: Schedule,
    pub adam: AdamConfig,
    /// Global gradient-norm limit (0 disables clipping).
    pub clip: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            schedule: Schedule::Constant(1e-3),
            adam: AdamConfig::default(),
            clip: 10.0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct StepStats {
    pub step: u64,
    pub loss: f64,
    pub parts: Vec<(&'static str, f64)>,
    pub grad_norm: f64,
    pub lr: f64,
}

/// Stops training on a non-finite loss, naming the step and every loss part.
pub(crate) fn check_loss(step: u64, loss: f64, parts: &[(&'static str, f64)]) -> Result<()> {
    if loss.is_finite() {
        return Ok(());
    }
    let detail: Vec<String> = parts.iter().map(|(n, v)| format!("{n} = {v}")).collect();
    Err(Error::NonFinite(format!(
        "training loss is {loss} at step {step} ({})",
        detail.join(", ")
    )))
}

/// Stops training on a non-finite gradient norm.
pub(crate) fn check_grad_norm(step: u64, grad_norm: f64) -> Result<()> {
    if grad_norm.is_finite() {
        return Ok(());
    }
    Err(Error::NonFinite(format!(
        "gradient norm is {grad_norm} at step {step}"
    )))
}

pub struct Trainer {
    /// The model; its parameters are current after [`Trainer::sync_host`].
    pub model: Box<dyn DynamicsModel>,
    /// The optimiser's configuration and step count; its moments are current after `sync_host`.
    pub opt: Adam,
    pub cfg: TrainConfig,
    state: Box<dyn Steps>,
    /// Per-op times of the following steps, when profiling (`set_profiling`).
    profile: Option<Box<OpProfile>>,
}

impl Trainer {
    /// A trainer on the CPU; `to_device` moves it.
    pub fn new(model: Box<dyn DynamicsModel>, cfg: TrainConfig) -> Self {
        let opt = Adam::new(model.params(), cfg.adam);
        // Uploading to the CPU cannot fail; an error here would surface at the first step.
        let state: Box<dyn Steps> = match OnBackend::new(Cpu::default(), model.params(), &opt) {
            Ok(s) => Box::new(s),
            Err(e) => Box::new(Failed(e.to_string())),
        };
        Trainer {
            model,
            opt,
            cfg,
            state,
            profile: None,
        }
    }

    /// Starts (with an empty profile) or stops timing every op of the following steps (meaningful
    /// on the CPU: device launches are asynchronous).
    pub fn set_profiling(&mut self, on: bool) {
        self.profile = on.then(Box::default);
    }

    /// The per-op times gathered since `set_profiling(true)`.
    pub fn profile(&self) -> Option<&OpProfile> {
        self.profile.as_deref()
    }

    /// Moves training to `device`: the parameters and the optimiser's moments are uploaded from
    /// the host model and optimiser (call this after loading any saved state).
    pub fn to_device(mut self, device: Device) -> Result<Self> {
        let (params, opt) = (self.model.params(), &self.opt);
        self.state = crate::with_backend!(device, |b| Box::new(OnBackend::new(b, params, opt)?)
            as Box<dyn Steps>);
        Ok(self)
    }

    /// Brings the host model and optimiser up to date with the backend (before a checkpoint or a
    /// host-side evaluation).
    pub fn sync_host(&mut self) -> Result<()> {
        self.state.sync_host(self.model.params_mut(), &mut self.opt)
    }

    /// Which device the steps run on.
    pub fn device(&self) -> &'static str {
        self.state.device()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.opt.step
    }

    pub fn step(&mut self, batch: &SeqBatch) -> Result<StepStats> {
        let (model, opt, cfg) = (self.model.as_ref(), &mut self.opt, &self.cfg);
        self.state.step(model, opt, cfg, batch, &mut self.profile)
    }

    /// Loss of a batch without updating (validation).
    pub fn eval_loss(&mut self, batch: &SeqBatch) -> Result<f64> {
        self.state.eval_loss(self.model.as_ref(), batch)
    }
}

/// A trainer's state on one backend, behind one object so `Trainer` needs no type parameter.
trait Steps: Send + Sync {
    fn device(&self) -> &'static str;
    fn step(
        &mut self,
        model: &dyn DynamicsModel,
        opt: &mut Adam,
        cfg: &TrainConfig,
        batch: &SeqBatch,
        profile: &mut Option<Box<OpProfile>>,
    ) -> Result<StepStats>;
    fn eval_loss(&mut self, model: &dyn DynamicsModel, batch: &SeqBatch) -> Result<f64>;
    fn sync_host(&self, params: &mut ParamStore, opt: &mut Adam) -> Result<()>;
}

/// Parameters, moments, buffer pool and the clip scalars of training on backend `B`.
struct OnBackend<B: Backend> {
    backend: B,
    params: DeviceParams<B>,
    m: Vec<B::Buf>,
    v: Vec<B::Buf>,
    pool: Pool<B>,
    norm: B::Buf,
    clip: B::Buf,
    /// [loss, parts.., gradient norm], gathered on the backend and read back in one copy.
    scalars: B::Buf,
}

impl<B: Backend<E = f32>> OnBackend<B> {
    fn new(backend: B, params: &ParamStore, opt: &Adam) -> Result<Self> {
        let (m, v) = opt.state();
        let up = |xs: &[Vec<f32>]| -> Result<Vec<B::Buf>> {
            xs.iter()
                .map(|x| {
                    let mut b = backend.alloc(x.len())?;
                    backend.upload(x, &mut b)?;
                    Ok(b)
                })
                .collect()
        };
        Ok(OnBackend {
            params: DeviceParams::upload(&backend, params)?,
            m: up(m)?,
            v: up(v)?,
            pool: Pool::default(),
            norm: backend.alloc(1)?,
            clip: backend.alloc(1)?,
            scalars: backend.alloc(8)?,
            backend,
        })
    }
}

impl<B: Engine<E = f32> + OptimKernel> Steps for OnBackend<B>
where
    for<'m> dyn DynamicsModel + 'm: Forward<B>,
{
    fn device(&self) -> &'static str {
        self.backend.name()
    }

    fn step(
        &mut self,
        model: &dyn DynamicsModel,
        opt: &mut Adam,
        cfg: &TrainConfig,
        batch: &SeqBatch,
        profile: &mut Option<Box<OpProfile>>,
    ) -> Result<StepStats> {
        let step = opt.step + 1;
        let be = self.backend.clone();
        let pool = std::mem::take(&mut self.pool);
        let mut tape = Tape::on(be.clone(), model.params(), &self.params, pool, true)?;
        if let Some(p) = profile.take() {
            tape.set_profile(p);
        }
        let losses = Forward::<B>::loss_on(model, &mut tape, batch)?;
        let mut grads = tape.backward(losses.total)?;
        *profile = tape.take_profile();
        // Gather [loss, parts.., gradient norm] and read them in one copy: the step's only
        // synchronisation. Non-finite values are caught there, before any parameter changes.
        let t0 = std::time::Instant::now();
        let params = model.params();
        let with_grad: Vec<_> = params
            .ids()
            .filter(|&id| grads.param(id).is_some())
            .collect();
        let sizes: Vec<(&B::Buf, usize)> = with_grad
            .iter()
            .filter_map(|&id| Some((grads.param(id)?, params.get(id).numel())))
            .collect();
        be.grad_norm(&sizes, cfg.clip, &mut self.norm, &mut self.clip)?;
        let k = losses.parts.len() + 1;
        if B::capacity(&self.scalars) < k + 1 {
            self.scalars = be.alloc(k + 1)?;
        }
        for (i, v) in std::iter::once(losses.total)
            .chain(losses.parts.iter().map(|&(_, v)| v))
            .enumerate()
        {
            be.copy_range(tape.buf(v)?, 0, &mut self.scalars, i, 1)?;
        }
        be.copy_range(&self.norm, 0, &mut self.scalars, k, 1)?;
        let mut host = vec![0f32; k + 1];
        be.download(&self.scalars, &mut host)?;
        let loss = host[0] as f64;
        let parts: Vec<(&'static str, f64)> = losses
            .parts
            .iter()
            .zip(&host[1..k])
            .map(|(&(n, _), &v)| (n, v as f64))
            .collect();
        // The tape borrows the parameters: hand its buffers back before updating them.
        self.pool = tape.into_pool();
        check_loss(step, loss, &parts)?;
        let grad_norm = host[k] as f64;
        check_grad_norm(step, grad_norm)?;
        let t1 = std::time::Instant::now();
        let lr = cfg.schedule.lr(step - 1);
        opt.step = step;
        for id in with_grad {
            let n = params.get(id).numel();
            let Some(g) = grads.param_mut(id) else {
                continue;
            };
            let (p, m, v) = (
                self.params.get_mut(id),
                &mut self.m[id.0],
                &mut self.v[id.0],
            );
            be.adamw(p, m, v, g, &self.clip, n, &opt.cfg, lr, step)?;
        }
        if let Some(p) = profile.as_deref_mut() {
            p.add(Phase::Update, "clip_norm", &[], t1 - t0);
            p.add(Phase::Update, "adam", &[], t1.elapsed());
        }
        grads.into_buffers().for_each(|b| self.pool.give(b));
        Ok(StepStats {
            step,
            loss,
            parts,
            grad_norm,
            lr,
        })
    }

    fn eval_loss(&mut self, model: &dyn DynamicsModel, batch: &SeqBatch) -> Result<f64> {
        let pool = std::mem::take(&mut self.pool);
        let be = self.backend.clone();
        let mut tape = Tape::on(be, model.params(), &self.params, pool, false)?;
        let losses = Forward::<B>::loss_on(model, &mut tape, batch)?;
        let loss = tape.fetch_item(losses.total)? as f64;
        self.pool = tape.into_pool();
        Ok(loss)
    }

    fn sync_host(&self, params: &mut ParamStore, opt: &mut Adam) -> Result<()> {
        self.params.download_into(&self.backend, params)?;
        let down = |xs: &[B::Buf]| -> Result<Vec<Vec<f32>>> {
            xs.iter()
                .zip(params.iter())
                .map(|(x, (_, t))| {
                    let mut host = vec![0f32; t.numel()];
                    self.backend.download(x, &mut host)?;
                    Ok(host)
                })
                .collect()
        };
        let (m, v) = (down(&self.m)?, down(&self.v)?);
        let step = opt.step;
        opt.set_state(m, v, step);
        Ok(())
    }
}

/// A state that could not be created: every call reports why.
struct Failed(String);

impl Steps for Failed {
    fn device(&self) -> &'static str {
        "none"
    }
    fn step(
        &mut self,
        _: &dyn DynamicsModel,
        _: &mut Adam,
        _: &TrainConfig,
        _: &SeqBatch,
        _: &mut Option<Box<OpProfile>>,
    ) -> Result<StepStats> {
        Err(Error::Device(self.0.clone()))
    }
    fn eval_loss(&mut self, _: &dyn DynamicsModel, _: &SeqBatch) -> Result<f64> {
        Err(Error::Device(self.0.clone()))
    }
    fn sync_host(&self, _: &mut ParamStore, _: &mut Adam) -> Result<()> {
        Err(Error::Device(self.0.clone()))
    }
}
