//! TD-MPC's settings (`nicklashansen/tdmpc` `cfgs/default.yaml`) and the Koopman variant's
//! (paper App. C.1); every choice the paper leaves open is a field with its default here.
use crate::nn::{MuInit, RolloutMode};
use crate::planner::PlannerConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Koopman TD-MPC's default planning horizon: TD-MPC's.
pub const KOOPMAN_PLAN_HORIZON: usize = 5;

/// TOLD's latent dynamics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Dynamics {
    /// TD-MPC: [z ‖ a] → mlp → ELU → mlp → ELU → latent.
    Mlp,
    /// Koopman TD-MPC: z_{t+1} = λ̄ ⊙ z_t + g ⊙ f(a_t) with m complex modes (latent = 2m reals),
    /// f an action encoder a → `act_hidden` → ELU → 2m, ZOH with Δt learned from `dt0`.
    Koopman {
        modes: usize,
        act_hidden: usize,
        mu: MuInit,
        dt0: f64,
        learn_dt: bool,
        rollout: RolloutMode,
    },
}

impl Dynamics {
    /// The paper's Koopman TOLD with the project's defaults: 25 complex modes (a 50-real latent,
    /// TD-MPC's width), action encoder width 256, μ fixed at −0.2, Δt₀ = 0.1/m learned, scan.
    pub fn koopman() -> Self {
        let modes = 25;
        Dynamics::Koopman {
            modes,
            act_hidden: 256,
            mu: MuInit::Fixed(-0.2),
            dt0: Self::koopman_dt0(modes),
            learn_dt: true,
            rollout: RolloutMode::Scan,
        }
    }

    /// Δt at initialisation for `modes` modes: 0.1/m. With ω_j = jπ the modes start at
    /// frequencies up to 0.1π per step; at 1/m they spread up to π per step, frequencies
    /// cartpole's dynamics do not have (EXPERIMENTS.md: the Koopman agent's curve fell from 504
    /// to 374 with 1/m and held at 459–515 with 0.1/m).
    pub fn koopman_dt0(modes: usize) -> f64 {
        0.1 / modes.max(1) as f64
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TdmpcConfig {
    pub obs_dim: usize,
    pub act_dim: usize,
    pub dynamics: Dynamics,
    /// Latent width (an MLP TOLD's; the Koopman TOLD's is 2·modes). TD-MPC: 50.
    pub latent: usize,
    /// Encoder hidden width. TD-MPC: 256.
    pub enc_dim: usize,
    /// Hidden width of dynamics, reward, Q and π. TD-MPC: 512.
    pub mlp_dim: usize,
    /// Training horizon, and the longest a plan may look ahead. TD-MPC: 5; Koopman TD-MPC: 20
    /// (paper App. C.1).
    pub horizon: usize,
    /// Per-step loss weight ρ^t. 0.5.
    pub rho: f64,
    pub consistency_coef: f64,
    pub reward_coef: f64,
    pub value_coef: f64,
    /// Each per-sample loss term is clamped at this value (its gradient is zero above it). 1e4.
    pub loss_clamp: f64,
    /// Discount γ. 0.99.
    pub gamma: f64,
    /// EMA rate of the target TOLD. 0.01.
    pub tau: f64,
    /// The target is updated every `update_freq` updates. 2.
    pub update_freq: u64,
    /// Adam learning rate (TOLD and π). 1e-3.
    pub lr: f64,
    /// Global gradient-norm clip (TOLD and π separately). 10.
    pub grad_clip: f64,
    /// Updates' batch size. 512.
    pub batch: usize,
    /// π's exploration std in the TD target, the π update and the planner's proposals. 0.05.
    pub min_std: f64,
}

impl TdmpcConfig {
    /// TD-MPC v1 on state observations.
    pub fn tdmpc(obs_dim: usize, act_dim: usize) -> Self {
        TdmpcConfig {
            obs_dim,
            act_dim,
            dynamics: Dynamics::Mlp,
            latent: 50,
            enc_dim: 256,
            mlp_dim: 512,
            horizon: 5,
            rho: 0.5,
            consistency_coef: 2.0,
            reward_coef: 0.5,
            value_coef: 0.1,
            loss_clamp: 1e4,
            gamma: 0.99,
            tau: 0.01,
            update_freq: 2,
            lr: 1e-3,
            grad_clip: 10.0,
            batch: 512,
            min_std: 0.05,
        }
    }

    /// Koopman TD-MPC: TD-MPC with the Koopman TOLD, trained over horizon 20.
    pub fn koopman_tdmpc(obs_dim: usize, act_dim: usize) -> Self {
        let dynamics = Dynamics::koopman();
        let latent = match dynamics {
            Dynamics::Koopman { modes, .. } => 2 * modes,
            Dynamics::Mlp => unreachable!(),
        };
        TdmpcConfig {
            dynamics,
            latent,
            horizon: 20,
            ..Self::tdmpc(obs_dim, act_dim)
        }
    }

    /// How far the agent plans by default: TD-MPC over its training horizon (one setting in
    /// TD-MPC); Koopman TD-MPC over TD-MPC's 5 steps (at most its training horizon), since the
    /// paper trains it over 20 steps and does not say how far it plans. On cartpole-swingup
    /// planning over all 20 held the agent at ≈ 500, planning over 5 reached 800+
    /// (EXPERIMENTS.md).
    pub fn plan_horizon(&self) -> usize {
        match self.dynamics {
            Dynamics::Mlp => self.horizon,
            Dynamics::Koopman { .. } => self.horizon.min(KOOPMAN_PLAN_HORIZON),
        }
    }

    /// TD-MPC's planner over [`Self::plan_horizon`]: the planner a run gets unless told otherwise.
    pub fn default_planner(&self) -> PlannerConfig {
        PlannerConfig::tdmpc(self.plan_horizon())
    }

    /// The latent width the networks see.
    pub fn latent_dim(&self) -> usize {
        match self.dynamics {
            Dynamics::Mlp => self.latent,
            Dynamics::Koopman { modes, .. } => 2 * modes,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("agent: {m}")));
        let sizes = [
            ("obs_dim", self.obs_dim),
            ("act_dim", self.act_dim),
            ("latent", self.latent_dim()),
            ("enc_dim", self.enc_dim),
            ("mlp_dim", self.mlp_dim),
            ("horizon", self.horizon),
            ("batch", self.batch),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return bad(format!("{name} is 0 (need ≥ 1)"));
        }
        if let Dynamics::Koopman {
            act_hidden, dt0, ..
        } = self.dynamics
        {
            if act_hidden == 0 || !(dt0.is_finite() && dt0 > 0.0) {
                return bad(format!(
                    "Koopman action encoder width {act_hidden} must be ≥ 1 and Δt₀ {dt0} > 0"
                ));
            }
        }
        let unit = [("rho", self.rho), ("gamma", self.gamma), ("tau", self.tau)];
        for (name, v) in unit {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return bad(format!("{name} {v} must be in (0, 1]"));
            }
        }
        let positive = [
            ("consistency_coef", self.consistency_coef),
            ("reward_coef", self.reward_coef),
            ("value_coef", self.value_coef),
            ("loss_clamp", self.loss_clamp),
            ("lr", self.lr),
            ("grad_clip", self.grad_clip),
            ("min_std", self.min_std),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} {v} must be finite and ≥ 0"));
            }
        }
        if self.update_freq == 0 {
            return bad("update_freq 0 (need ≥ 1)".into());
        }
        Ok(())
    }
}
