//! The training step: forward on a fresh tape (buffers reused from the previous step), backward,
//! global-norm clipping, Adam/AdamW update. A non-finite loss or gradient stops training with the
//! step number instead of silently corrupting the weights.
use crate::autodiff::profile::Phase;
use crate::autodiff::{OpProfile, Tape};
use crate::backend::Device;
use crate::models::{DynamicsModel, SeqBatch};
use crate::optim::{clip_global_norm, Adam, AdamConfig, Schedule};
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
    pub model: Box<dyn DynamicsModel>,
    pub opt: Adam,
    pub cfg: TrainConfig,
    pool: Vec<Vec<f32>>,
    /// Per-op times of CPU steps, when profiling (`set_profiling`).
    profile: Option<Box<OpProfile>>,
    /// Set when training on a CUDA device (see `to_device`).
    #[cfg(feature = "cuda")]
    cuda: Option<super::cuda_step::CudaTrainState>,
}

impl Trainer {
    pub fn new(model: Box<dyn DynamicsModel>, cfg: TrainConfig) -> Self {
        let opt = Adam::new(model.params(), cfg.adam);
        Trainer {
            model,
            opt,
            cfg,
            pool: Vec::new(),
            profile: None,
            #[cfg(feature = "cuda")]
            cuda: None,
        }
    }

    /// Starts (with an empty profile) or stops timing every op of the following CPU steps.
    pub fn set_profiling(&mut self, on: bool) {
        self.profile = on.then(Box::default);
    }

    /// The per-op times gathered since `set_profiling(true)` (CPU steps only).
    pub fn profile(&self) -> Option<&OpProfile> {
        self.profile.as_deref()
    }

    /// Moves training to `device`: on CUDA the parameters and the optimiser's moments are uploaded
    /// (call this after loading any saved state) and stay there; `sync_host` copies them back.
    #[cfg_attr(not(feature = "cuda"), allow(unused_mut))]
    pub fn to_device(mut self, device: Device) -> Result<Self> {
        match device {
            Device::Cpu => Ok(self),
            #[cfg(feature = "cuda")]
            Device::Cuda(dev) => {
                let st =
                    super::cuda_step::CudaTrainState::new(dev, self.model.params(), &self.opt)?;
                self.cuda = Some(st);
                Ok(self)
            }
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(never) => match *never {},
        }
    }

    /// Brings the host model and optimiser up to date with the device (before a checkpoint or a
    /// host-side evaluation). Nothing to do on the CPU.
    pub fn sync_host(&mut self) -> Result<()> {
        #[cfg(feature = "cuda")]
        if let Some(st) = &self.cuda {
            st.sync_host(self.model.params_mut(), &mut self.opt)?;
        }
        Ok(())
    }

    /// Which device the steps run on.
    pub fn device(&self) -> &'static str {
        #[cfg(feature = "cuda")]
        if self.cuda.is_some() {
            return "cuda";
        }
        "cpu"
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.opt.step
    }

    pub fn step(&mut self, batch: &SeqBatch) -> Result<StepStats> {
        #[cfg(feature = "cuda")]
        if let Some(st) = self.cuda.as_mut() {
            return st.step(self.model.as_ref(), &mut self.opt, &self.cfg, batch);
        }
        let step = self.opt.step + 1;
        let mut tape = Tape::with_pool(self.model.params(), std::mem::take(&mut self.pool), true);
        if let Some(p) = self.profile.take() {
            tape.set_profile(p);
        }
        let losses = self.model.loss(&mut tape, batch)?;
        let loss = tape.item(losses.total) as f64;
        let parts: Vec<(&'static str, f64)> = losses
            .parts
            .iter()
            .map(|&(n, v)| (n, tape.item(v) as f64))
            .collect();
        check_loss(step, loss, &parts)?;
        let grads = tape.backward(losses.total)?;
        self.profile = tape.take_profile();
        let mut pool = tape.into_pool();
        let t0 = std::time::Instant::now();
        let (grad_norm, scale) = clip_global_norm(self.model.params(), &grads, self.cfg.clip);
        check_grad_norm(step, grad_norm)?;
        let t1 = std::time::Instant::now();
        let lr = self.cfg.schedule.lr(step - 1);
        self.opt.update(self.model.params_mut(), &grads, lr, scale);
        if let Some(p) = self.profile.as_deref_mut() {
            p.add(Phase::Update, "clip_norm", &[], t1 - t0);
            p.add(Phase::Update, "adam", &[], t1.elapsed());
        }
        pool.extend(grads.into_buffers());
        self.pool = pool;
        Ok(StepStats {
            step,
            loss,
            parts,
            grad_norm,
            lr,
        })
    }

    /// Loss of a batch without updating (validation).
    pub fn eval_loss(&mut self, batch: &SeqBatch) -> Result<f64> {
        #[cfg(feature = "cuda")]
        if let Some(st) = self.cuda.as_mut() {
            return st.eval_loss(self.model.as_ref(), batch);
        }
        let mut tape = Tape::with_pool(self.model.params(), std::mem::take(&mut self.pool), false);
        let losses = self.model.loss(&mut tape, batch)?;
        let loss = tape.item(losses.total) as f64;
        self.pool = tape.into_pool();
        Ok(loss)
    }
}
