//! The planner's settings, defaulting to TD-MPC's (`nicklashansen/tdmpc` `cfgs/default.yaml`).
use super::schedule::Schedule;
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannerConfig {
    /// Refinement iterations per plan. TD-MPC: 6.
    pub iterations: usize,
    /// Gaussian action sequences sampled per iteration. TD-MPC: 512.
    pub samples: usize,
    /// Top-k sequences the new mean and std are fitted to. TD-MPC: 64.
    pub elites: usize,
    /// Policy sequences added to the samples when a policy is passed: TD-MPC's
    /// int(mixture_coef 0.05 · 512) = 25.
    pub policy_trajectories: usize,
    /// Elite weights are exp(temperature·(v − v_max)). TD-MPC: 0.5.
    pub temperature: f32,
    /// mean ← momentum·mean + (1 − momentum)·elite mean. TD-MPC: 0.1.
    pub momentum: f32,
    /// Initial std, and the upper std clamp. TD-MPC: 2.
    pub max_std: f32,
    /// The largest planning horizon. TD-MPC: 5 (Koopman TD-MPC, trained over 20 steps: also 5).
    pub horizon: usize,
    /// Horizon per agent step, truncated to an integer and capped at `horizon`.
    /// TD-MPC: linear(1, horizon, 25000).
    pub horizon_schedule: Schedule,
    /// The lower std clamp per agent step. TD-MPC: linear(0.5, 0.05, 25000).
    pub min_std_schedule: Schedule,
    /// Seed of the planner's own random stream (samples, elite choice, exploration noise).
    pub seed: u64,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        Self::tdmpc(5)
    }
}

impl PlannerConfig {
    /// TD-MPC's planner with maximum horizon `horizon` (TD-MPC and Koopman TD-MPC: 5).
    pub fn tdmpc(horizon: usize) -> Self {
        PlannerConfig {
            iterations: 6,
            samples: 512,
            elites: 64,
            policy_trajectories: 25,
            temperature: 0.5,
            momentum: 0.1,
            max_std: 2.0,
            horizon,
            horizon_schedule: Schedule::Linear {
                init: 1.0,
                end: horizon as f64,
                duration: 25_000.0,
            },
            min_std_schedule: Schedule::Linear {
                init: 0.5,
                end: 0.05,
                duration: 25_000.0,
            },
            seed: 0,
        }
    }

    /// The same planner looking `horizon` steps ahead: the horizon schedule keeps its start and
    /// duration and ends at the new horizon.
    pub fn with_horizon(&self, horizon: usize) -> Self {
        let horizon_schedule = match self.horizon_schedule {
            Schedule::Linear { init, duration, .. } => Schedule::Linear {
                init,
                end: horizon as f64,
                duration,
            },
            Schedule::Constant(_) => Schedule::Constant(horizon as f64),
        };
        PlannerConfig {
            horizon,
            horizon_schedule,
            ..self.clone()
        }
    }

    /// The planning horizon at agent step `step`: int(min(horizon, schedule)), at least 1.
    pub fn horizon_at(&self, step: u64) -> usize {
        (self.horizon_schedule.at(step).min(self.horizon as f64) as usize).max(1)
    }

    /// The lower std clamp at agent step `step`.
    pub fn min_std_at(&self, step: u64) -> f32 {
        self.min_std_schedule.at(step) as f32
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("planner: {m}")));
        if self.iterations == 0 || self.samples == 0 || self.horizon == 0 {
            return bad(format!(
                "iterations {}, samples {} and horizon {} must all be ≥ 1",
                self.iterations, self.samples, self.horizon
            ));
        }
        if self.elites == 0 || self.elites > self.samples {
            return bad(format!(
                "elites {} must be in 1..={} (the samples)",
                self.elites, self.samples
            ));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(format!("temperature {} must be > 0", self.temperature));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(format!("momentum {} must be in [0, 1)", self.momentum));
        }
        if !(self.max_std.is_finite() && self.max_std > 0.0) {
            return bad(format!("max_std {} must be > 0", self.max_std));
        }
        self.horizon_schedule.validate("horizon")?;
        self.min_std_schedule.validate("min-std")?;
        let (lo, _) = self.horizon_schedule.range();
        if lo < 1.0 {
            return bad(format!(
                "horizon schedule {:?} goes below 1",
                self.horizon_schedule
            ));
        }
        let (lo, hi) = self.min_std_schedule.range();
        if !(lo > 0.0 && hi <= self.max_std as f64) {
            return bad(format!(
                "min-std schedule {:?} must stay in (0, max_std {}]",
                self.min_std_schedule, self.max_std
            ));
        }
        Ok(())
    }
}
