//! Batched no-grad open-loop prediction for planners, on any device. A planner keeps
//! one `Predictor` and calls `predict_into` (states and rewards) or `rewards_into` (rewards only, no
//! decoder: what a sampling planner scores) in its inner loop. The parameters are copied to the
//! device once (`refresh` after training changes them) and buffers are kept across calls, so a
//! warm call allocates no tensor memory.
//!
//! ```
//! use koopman::backend::Device;
//! use koopman::models::{build_default, ModelKind, Predictor, Query};
//!
//! let (ds, da, k, h) = (17, 6, 8, 5); // state and action sizes, candidates, horizon
//! let model = build_default(ModelKind::Koopman, ds, da, 0);
//! let mut planner = Predictor::new(model.as_ref(), Device::Cpu)?;
//! let s0 = vec![0.0f32; k * ds]; // the current state, once per candidate
//! let actions = vec![0.1f32; k * h * da];
//! let mut rewards = vec![0.0f32; k * h];
//! planner.rewards_into(model.as_ref(), Query::new(&s0, &actions, k, h), &mut rewards)?;
//! assert!(rewards.iter().all(|r| r.is_finite()));
//! # Ok::<(), koopman::Error>(())
//! ```
use super::{DynamicsModel, Forward, Query};
use crate::autodiff::{DeviceParams, Tape};
use crate::backend::{Backend, Device, Pool};
use crate::ops::Engine;
use crate::Result;

pub struct Predictor {
    inner: Box<dyn Predict>,
}

impl Predictor {
    /// The model's parameters are uploaded now; call `refresh` after they change.
    pub fn new(model: &dyn DynamicsModel, device: Device) -> Result<Self> {
        let params = model.params();
        let inner = crate::with_backend!(device, |b| Box::new(OnBackend {
            params: DeviceParams::upload(&b, params)?,
            pool: Pool::default(),
            backend: b,
        }) as Box<dyn Predict>);
        Ok(Predictor { inner })
    }

    pub fn device(&self) -> &'static str {
        self.inner.device()
    }

    /// Re-uploads the parameters (after training steps).
    pub fn refresh(&mut self, model: &dyn DynamicsModel) -> Result<()> {
        self.inner.refresh(model)
    }

    /// States [B, T, d_s] and rewards [B, T] for a query.
    pub fn predict_into(
        &mut self,
        model: &dyn DynamicsModel,
        q: Query,
        states_out: &mut [f32],
        rewards_out: &mut [f32],
    ) -> Result<()> {
        self.inner.run(model, q, Some(states_out), rewards_out)
    }

    /// Rewards [B, T] only: the state decoder is skipped, which is what a planner scoring candidate
    /// action sequences needs (the Koopman model's decoder is about 40% of a rollout's FLOPs).
    pub fn rewards_into(
        &mut self,
        model: &dyn DynamicsModel,
        q: Query,
        rewards_out: &mut [f32],
    ) -> Result<()> {
        self.inner.run(model, q, None, rewards_out)
    }
}

/// A predictor's state on one backend.
trait Predict: Send + Sync {
    fn device(&self) -> &'static str;
    fn refresh(&mut self, model: &dyn DynamicsModel) -> Result<()>;
    fn run(
        &mut self,
        model: &dyn DynamicsModel,
        q: Query,
        states_out: Option<&mut [f32]>,
        rewards_out: &mut [f32],
    ) -> Result<()>;
}

struct OnBackend<B: Backend> {
    backend: B,
    params: DeviceParams<B>,
    pool: Pool<B>,
}

impl<B: Engine<E = f32>> Predict for OnBackend<B>
where
    for<'m> dyn DynamicsModel + 'm: Forward<B>,
{
    fn device(&self) -> &'static str {
        self.backend.name()
    }

    fn refresh(&mut self, model: &dyn DynamicsModel) -> Result<()> {
        self.params = DeviceParams::upload(&self.backend, model.params())?;
        Ok(())
    }

    fn run(
        &mut self,
        model: &dyn DynamicsModel,
        q: Query,
        states_out: Option<&mut [f32]>,
        rewards_out: &mut [f32],
    ) -> Result<()> {
        let (ds, da) = (model.obs_dim(), model.act_dim());
        q.check(ds, da, states_out.as_deref(), rewards_out)?;
        let pool = std::mem::take(&mut self.pool);
        let be = self.backend.clone();
        let mut tape = Tape::on(be.clone(), model.params(), &self.params, pool, false)?;
        let s = tape.constant([q.batch, ds], q.s0)?;
        let a = tape.constant([q.batch, q.horizon, da], q.actions)?;
        let scored = Forward::<B>::score_on(model, &mut tape, s, a)?;
        if let Some(out) = states_out {
            let states = Forward::<B>::decode_on(model, &mut tape, scored.features)?;
            be.download(tape.buf(states)?, out)?;
        }
        be.download(tape.buf(scored.rewards)?, rewards_out)?;
        if let Some(e) = tape.fault_error() {
            return Err(e);
        }
        self.pool = tape.into_pool();
        Ok(())
    }
}
