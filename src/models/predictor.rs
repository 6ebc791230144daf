//! Batched no-grad open-loop prediction for planners, on the CPU or a CUDA device. A planner keeps
//! one `Predictor` and calls `predict_into` (states and rewards) or `rewards_into` (rewards only, no
//! decoder: what a sampling planner scores) in its inner loop. Buffers (host pool, or device pool
//! and device parameters) are kept across calls, so a warm call allocates no tensor memory.
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
use super::{DynamicsModel, Query};
use crate::backend::Device;
use crate::Result;

pub struct Predictor {
    inner: Inner,
}

enum Inner {
    Cpu(Vec<Vec<f32>>),
    #[cfg(feature = "cuda")]
    Cuda(cuda::CudaPredictor),
}

impl Predictor {
    /// On CUDA the model's parameters are uploaded now; call `refresh` after they change.
    #[cfg_attr(not(feature = "cuda"), allow(unused_variables))]
    pub fn new(model: &dyn DynamicsModel, device: Device) -> Result<Self> {
        let inner = match device {
            Device::Cpu => Inner::Cpu(Vec::new()),
            #[cfg(feature = "cuda")]
            Device::Cuda(dev) => Inner::Cuda(cuda::CudaPredictor::new(dev, model)?),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(d) => match *d {},
        };
        Ok(Predictor { inner })
    }

    pub fn device(&self) -> &'static str {
        match self.inner {
            Inner::Cpu(_) => "cpu",
            #[cfg(feature = "cuda")]
            Inner::Cuda(_) => "cuda",
        }
    }

    /// Re-uploads the parameters (after training steps); nothing to do on the CPU.
    #[cfg_attr(not(feature = "cuda"), allow(unused_variables))]
    pub fn refresh(&mut self, model: &dyn DynamicsModel) -> Result<()> {
        match &mut self.inner {
            Inner::Cpu(_) => Ok(()),
            #[cfg(feature = "cuda")]
            Inner::Cuda(c) => c.refresh(model),
        }
    }

    /// States [B, T, d_s] and rewards [B, T] for a query.
    pub fn predict_into(
        &mut self,
        model: &dyn DynamicsModel,
        q: Query,
        states_out: &mut [f32],
        rewards_out: &mut [f32],
    ) -> Result<()> {
        self.run(model, q, Some(states_out), rewards_out)
    }

    /// Rewards [B, T] only: the state decoder is skipped, which is what a planner scoring candidate
    /// action sequences needs (the Koopman model's decoder is about 40% of a rollout's FLOPs).
    pub fn rewards_into(
        &mut self,
        model: &dyn DynamicsModel,
        q: Query,
        rewards_out: &mut [f32],
    ) -> Result<()> {
        self.run(model, q, None, rewards_out)
    }

    fn run(
        &mut self,
        model: &dyn DynamicsModel,
        q: Query,
        states_out: Option<&mut [f32]>,
        rewards_out: &mut [f32],
    ) -> Result<()> {
        match &mut self.inner {
            Inner::Cpu(pool) => model.predict_into(pool, q, states_out, rewards_out),
            #[cfg(feature = "cuda")]
            Inner::Cuda(c) => c.predict_into(model, q, states_out, rewards_out),
        }
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::{DynamicsModel, Query};
    use crate::autodiff::{DevPool, DeviceParams, Tape};
    use crate::backend::cuda::CudaDevice;
    use crate::Result;

    pub struct CudaPredictor {
        dev: &'static CudaDevice,
        params: DeviceParams,
        pool: DevPool,
    }

    impl CudaPredictor {
        pub fn new(dev: &'static CudaDevice, model: &dyn DynamicsModel) -> Result<Self> {
            Ok(CudaPredictor {
                dev,
                params: DeviceParams::upload(dev, model.params())?,
                pool: DevPool::default(),
            })
        }

        pub fn refresh(&mut self, model: &dyn DynamicsModel) -> Result<()> {
            self.params = DeviceParams::upload(self.dev, model.params())?;
            Ok(())
        }

        pub fn predict_into(
            &mut self,
            model: &dyn DynamicsModel,
            q: Query,
            states_out: Option<&mut [f32]>,
            rewards_out: &mut [f32],
        ) -> Result<()> {
            let (ds, da) = (model.obs_dim(), model.act_dim());
            q.check(ds, da, states_out.as_deref(), rewards_out)?;
            let pool = std::mem::take(&mut self.pool);
            let mut tape = Tape::on_cuda(model.params(), &self.params, self.dev, pool, false)?;
            let s = tape.constant([q.batch, ds], q.s0)?;
            let a = tape.constant([q.batch, q.horizon, da], q.actions)?;
            let scored = model.score(&mut tape, s, a)?;
            let stream = self.dev.stream();
            if let Some(out) = states_out {
                let states = model.decode(&mut tape, scored.features)?;
                let ns = out.len();
                stream.memcpy_dtoh(&tape.dev_value(states)?.slice(0..ns), out)?;
            }
            let nr = rewards_out.len();
            stream.memcpy_dtoh(&tape.dev_value(scored.rewards)?.slice(0..nr), rewards_out)?;
            stream.synchronize()?;
            if let Some(e) = tape.fault_error() {
                return Err(e);
            }
            self.pool = tape.into_dev_pool();
            Ok(())
        }
    }
}
