//! A [`WorldModel`] over a trained [`DynamicsModel`]: candidates are scored by the batched no-grad
//! [`Predictor::rewards_into`] on the predictor's device, the return being Σ_t γ^t r̂_t over the
//! horizon (γ = 1 by default; terminal value 0: these models have no value head). Tensor memory is
//! pooled across calls; the tape's own bookkeeping still makes small host allocations per call.
use super::WorldModel;
use crate::backend::Device;
use crate::models::{DynamicsModel, Predictor, Query};
use crate::{Error, Result};

pub struct PredictorWorld<'m> {
    model: &'m dyn DynamicsModel,
    predictor: Predictor,
    discount: f32,
    /// The state repeated once per candidate [N, d_s], and the predicted rewards [N, h]: kept
    /// across calls (they only grow, so a warm call allocates nothing here).
    s0: Vec<f32>,
    rewards: Vec<f32>,
}

impl<'m> PredictorWorld<'m> {
    /// Uploads the model's parameters to `device` (call `refresh` after training changes them).
    pub fn new(model: &'m dyn DynamicsModel, device: Device) -> Result<Self> {
        Ok(PredictorWorld {
            predictor: Predictor::new(model, device)?,
            model,
            discount: 1.0,
            s0: Vec::new(),
            rewards: Vec::new(),
        })
    }

    /// Discount γ ∈ (0, 1] of the summed rewards.
    pub fn with_discount(mut self, discount: f32) -> Result<Self> {
        if !(discount > 0.0 && discount <= 1.0) {
            return Err(Error::Invalid(format!(
                "planner: discount {discount} must be in (0, 1]"
            )));
        }
        self.discount = discount;
        Ok(self)
    }

    pub fn device(&self) -> &'static str {
        self.predictor.device()
    }

    pub fn refresh(&mut self) -> Result<()> {
        self.predictor.refresh(self.model)
    }
}

impl WorldModel for PredictorWorld<'_> {
    fn state_dim(&self) -> usize {
        self.model.obs_dim()
    }

    fn action_dim(&self) -> usize {
        self.model.act_dim()
    }

    fn score(
        &mut self,
        state: &[f32],
        actions: &[f32],
        n: usize,
        h: usize,
        returns: &mut [f32],
    ) -> Result<()> {
        let ds = self.model.obs_dim();
        if state.len() != ds || returns.len() != n {
            return Err(Error::Shape(format!(
                "planner: state has {} values (need {ds}), returns {} (need {n})",
                state.len(),
                returns.len()
            )));
        }
        self.s0.resize(n * ds, 0.0);
        for row in self.s0.chunks_exact_mut(ds) {
            row.copy_from_slice(state);
        }
        self.rewards.resize(n * h, 0.0);
        let q = Query::new(&self.s0, actions, n, h);
        self.predictor
            .rewards_into(self.model, q, &mut self.rewards)?;
        for (ret, r) in returns.iter_mut().zip(self.rewards.chunks_exact(h)) {
            let (mut g, mut acc) = (1.0f32, 0.0f32);
            for &x in r {
                acc += g * x;
                g *= self.discount;
            }
            *ret = acc;
        }
        Ok(())
    }
}
