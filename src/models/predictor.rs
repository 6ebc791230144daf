//! Batched no-grad open-loop prediction for planners, on the CPU or a CUDA device. A planner keeps
//! one `Predictor` and calls `predict_into` (states and rewards) or `rewards_into` (rewards only, no
//! decoder: what a sampling planner scores) in its inner loop. Buffers (host pool, or device pool
//! and device parameters) are kept across calls, so a warm call allocates no tensor memory.
use super::DynamicsModel;
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

    /// States [B, T, d_s] and rewards [B, T] from s0 [B, d_s] and actions [B, T, d_a].
    #[allow(clippy::too_many_arguments)]
    pub fn predict_into(
        &mut self,
        model: &dyn DynamicsModel,
        s0: &[f32],
        actions: &[f32],
        b: usize,
        t_len: usize,
        states_out: &mut [f32],
        rewards_out: &mut [f32],
    ) -> Result<()> {
        self.run(model, s0, actions, b, t_len, Some(states_out), rewards_out)
    }

    /// Rewards [B, T] only: the state decoder is skipped, which is what a planner scoring candidate
    /// action sequences needs (the Koopman model's decoder is about 40% of a rollout's FLOPs).
    pub fn rewards_into(
        &mut self,
        model: &dyn DynamicsModel,
        s0: &[f32],
        actions: &[f32],
        b: usize,
        t_len: usize,
        rewards_out: &mut [f32],
    ) -> Result<()> {
        self.run(model, s0, actions, b, t_len, None, rewards_out)
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        model: &dyn DynamicsModel,
        s0: &[f32],
        actions: &[f32],
        b: usize,
        t_len: usize,
        states_out: Option<&mut [f32]>,
        rewards_out: &mut [f32],
    ) -> Result<()> {
        match &mut self.inner {
            Inner::Cpu(pool) => {
                model.predict_into(pool, s0, actions, b, t_len, states_out, rewards_out)
            }
            #[cfg(feature = "cuda")]
            Inner::Cuda(c) => c.predict_into(model, s0, actions, b, t_len, states_out, rewards_out),
        }
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::super::check_predict;
    use super::DynamicsModel;
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

        #[allow(clippy::too_many_arguments)]
        pub fn predict_into(
            &mut self,
            model: &dyn DynamicsModel,
            s0: &[f32],
            actions: &[f32],
            b: usize,
            t_len: usize,
            states_out: Option<&mut [f32]>,
            rewards_out: &mut [f32],
        ) -> Result<()> {
            let (ds, da) = (model.obs_dim(), model.act_dim());
            check_predict(
                ds,
                da,
                s0,
                actions,
                b,
                t_len,
                states_out.as_deref(),
                rewards_out,
            )?;
            let pool = std::mem::take(&mut self.pool);
            let mut tape = Tape::on_cuda(model.params(), &self.params, self.dev, pool, false)?;
            let s = tape.constant([b, ds], s0)?;
            let a = tape.constant([b, t_len, da], actions)?;
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
