//! SAC's settings, with the defaults of `denisyarats/pytorch_sac` for DMC from states (the
//! reference implementation of the SAC numbers in the DMC literature).
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SacConfig {
    pub obs_dim: usize,
    pub act_dim: usize,
    /// Width of the actor's and each critic's two hidden layers (ReLU). pytorch_sac: 1024.
    pub hidden: usize,
    pub batch: usize,
    /// Adam step size of the actor, the critics and the temperature. pytorch_sac: 1e-4.
    pub lr: f64,
    pub gamma: f64,
    /// Polyak rate of the target critics. pytorch_sac: 0.005.
    pub tau: f64,
    /// Updates between target-critic updates. pytorch_sac: 2.
    pub target_every: u64,
    /// Updates between actor (and temperature) updates. pytorch_sac: 1.
    pub actor_every: u64,
    /// The initial entropy temperature α. pytorch_sac: 0.1.
    pub init_alpha: f64,
    /// Bounds of the actor's log σ (a tanh squashes into them). pytorch_sac: [−5, 2].
    pub log_std_min: f64,
    pub log_std_max: f64,
}

impl SacConfig {
    pub fn new(obs_dim: usize, act_dim: usize) -> Self {
        SacConfig {
            obs_dim,
            act_dim,
            hidden: 1024,
            batch: 1024,
            lr: 1e-4,
            gamma: 0.99,
            tau: 0.005,
            target_every: 2,
            actor_every: 1,
            init_alpha: 0.1,
            log_std_min: -5.0,
            log_std_max: 2.0,
        }
    }

    /// The temperature's target entropy: −|A|.
    pub fn target_entropy(&self) -> f64 {
        -(self.act_dim as f64)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("sac: {m}")));
        if self.obs_dim == 0 || self.act_dim == 0 || self.hidden == 0 || self.batch == 0 {
            return bad(format!(
                "obs_dim {}, act_dim {}, hidden {} and batch {} must all be ≥ 1",
                self.obs_dim, self.act_dim, self.hidden, self.batch
            ));
        }
        let pos = [("lr", self.lr), ("init_alpha", self.init_alpha)];
        if let Some((name, v)) = pos.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
            return bad(format!("{name} {v} must be finite and > 0"));
        }
        let unit = [("gamma", self.gamma), ("tau", self.tau)];
        if let Some((name, v)) = unit.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return bad(format!("{name} {v} must lie in [0, 1]"));
        }
        if self.target_every == 0 || self.actor_every == 0 {
            return bad("target_every and actor_every must be ≥ 1".into());
        }
        if !(self.log_std_min.is_finite()
            && self.log_std_max.is_finite()
            && self.log_std_min < self.log_std_max)
        {
            return bad(format!(
                "log σ bounds [{}, {}] must be finite and increasing",
                self.log_std_min, self.log_std_max
            ));
        }
        Ok(())
    }
}
