//! The training step on a CUDA device: parameters, Adam moments, activations and gradients stay on
//! the device; per step one copy of a few floats comes back (the loss, its parts and the gradient
//! norm, for the log and NaN detection), the step's only synchronisation. The host copies are refreshed by `sync_host` (checkpoints, evaluation).
use super::trainer::{check_grad_norm, check_loss, StepStats, TrainConfig};
use crate::autodiff::{DevBuf, DevPool, DeviceParams, ParamStore, Tape};
use crate::backend::cuda::launch::optim::{adamw_step, grad_norm, scale_by_dev};
use crate::backend::cuda::CudaDevice;
use crate::models::{DynamicsModel, SeqBatch};
use crate::optim::Adam;
use crate::Result;

pub(crate) struct CudaTrainState {
    dev: &'static CudaDevice,
    params: DeviceParams,
    m: Vec<DevBuf>,
    v: Vec<DevBuf>,
    pool: DevPool,
    norm: DevBuf,
    clip: DevBuf,
    /// [loss, parts.., gradient norm], read back in one copy per step.
    scalars: DevBuf,
}

impl CudaTrainState {
    /// Uploads the model's parameters and the optimiser's moments.
    pub fn new(dev: &'static CudaDevice, params: &ParamStore, opt: &Adam) -> Result<Self> {
        let (m, v) = opt.state();
        let up = |xs: &[Vec<f32>]| -> Result<Vec<DevBuf>> {
            xs.iter().map(|x| Ok(dev.upload(x)?)).collect()
        };
        Ok(CudaTrainState {
            dev,
            params: DeviceParams::upload(dev, params)?,
            m: up(m)?,
            v: up(v)?,
            pool: DevPool::default(),
            norm: dev.zeros(1)?,
            clip: dev.zeros(1)?,
            scalars: dev.zeros(4)?,
        })
    }

    /// Copies parameters and moments back to the host model and optimiser.
    pub fn sync_host(&self, params: &mut ParamStore, opt: &mut Adam) -> Result<()> {
        self.params.download_into(self.dev, params)?;
        let down = |xs: &[DevBuf]| -> Result<Vec<Vec<f32>>> {
            xs.iter().map(|x| Ok(self.dev.download(x)?)).collect()
        };
        let step = opt.step;
        opt.set_state(down(&self.m)?, down(&self.v)?, step);
        Ok(())
    }

    pub fn step(
        &mut self,
        model: &dyn DynamicsModel,
        opt: &mut Adam,
        cfg: &TrainConfig,
        batch: &SeqBatch,
    ) -> Result<StepStats> {
        let step = opt.step + 1;
        let pool = std::mem::take(&mut self.pool);
        let mut tape = Tape::on_cuda(model.params(), &self.params, self.dev, pool, true)?;
        let losses = model.loss(&mut tape, batch)?;
        // The loss, its parts and (below) the gradient norm are gathered on the device and read
        // back in one copy: the step's only synchronisation. Non-finite values are caught there,
        // before any parameter changes.
        let n_scalars = 2 + losses.parts.len();
        if self.scalars.len() < n_scalars {
            self.scalars = self.dev.zeros(n_scalars)?;
        }
        for (slot, v) in std::iter::once(losses.total)
            .chain(losses.parts.iter().map(|&(_, v)| v))
            .enumerate()
        {
            let src = tape.dev_value(v)?;
            self.dev.stream().memcpy_dtod(
                &src.slice(0..1),
                &mut self.scalars.slice_mut(slot..slot + 1),
            )?;
        }
        let mut grads = tape.backward(losses.total)?;
        let names: Vec<&'static str> = losses.parts.iter().map(|&(n, _)| n).collect();
        // The tape borrows the device parameters: hand its buffers back before updating them.
        self.pool = tape.into_dev_pool();
        let params = model.params();
        let with_grad: Vec<_> = params
            .ids()
            .filter(|&id| grads.param_dev(id).is_some())
            .collect();
        let sizes: Vec<(&DevBuf, usize)> = with_grad
            .iter()
            .filter_map(|&id| Some((grads.param_dev(id)?, params.get(id).numel())))
            .collect();
        grad_norm(
            self.dev,
            &mut self.norm,
            &mut self.clip,
            &sizes,
            cfg.clip as f32,
        )?;
        let last = n_scalars - 1;
        self.dev
            .stream()
            .memcpy_dtod(&self.norm, &mut self.scalars.slice_mut(last..last + 1))?;
        let mut host = vec![0f32; n_scalars];
        self.dev
            .stream()
            .memcpy_dtoh(&self.scalars.slice(0..n_scalars), &mut host)?;
        self.dev.synchronize()?;
        let loss = host[0] as f64;
        let parts: Vec<(&'static str, f64)> = names
            .iter()
            .zip(&host[1..last])
            .map(|(&n, &v)| (n, v as f64))
            .collect();
        check_loss(step, loss, &parts)?;
        let grad_norm_v = host[last] as f64;
        check_grad_norm(step, grad_norm_v)?;
        let lr = cfg.schedule.lr(step - 1);
        opt.step = step;
        for id in with_grad {
            let n = params.get(id).numel();
            let Some(g) = grads.param_dev_mut(id) else {
                continue;
            };
            scale_by_dev(self.dev, g, &self.clip, n)?;
            adamw_step(
                self.dev,
                self.params.get_mut(id),
                &mut self.m[id.0],
                &mut self.v[id.0],
                g,
                n,
                &opt.cfg,
                lr,
                step,
            )?;
        }
        grads.into_dev_buffers().for_each(|b| self.pool.give(b));
        Ok(StepStats {
            step,
            loss,
            parts,
            grad_norm: grad_norm_v,
            lr,
        })
    }

    /// Loss of a batch without updating (validation), on the device.
    pub fn eval_loss(&mut self, model: &dyn DynamicsModel, batch: &SeqBatch) -> Result<f64> {
        let pool = std::mem::take(&mut self.pool);
        let mut tape = Tape::on_cuda(model.params(), &self.params, self.dev, pool, false)?;
        let losses = model.loss(&mut tape, batch)?;
        let loss = tape.fetch_item(losses.total)? as f64;
        self.pool = tape.into_dev_pool();
        Ok(loss)
    }
}
