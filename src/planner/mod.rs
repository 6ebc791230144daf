//! Model-predictive planning: TD-MPC's MPPI/CEM planner ([`Planner`]), generic over any
//! [`WorldModel`] that scores a batch of candidate action sequences from a state, with optional
//! [`Policy`] proposals. [`PredictorWorld`] plans with a trained [`crate::models::DynamicsModel`]
//! on any device.
//!
//! Planning with your own model (a 1-D point mass that should reach x = 0.5):
//!
//! ```
//! use koopman::planner::{PlanStep, Planner, PlannerConfig, WorldModel};
//!
//! struct PointMass;
//! impl WorldModel for PointMass {
//!     fn state_dim(&self) -> usize { 2 } // position, velocity
//!     fn action_dim(&self) -> usize { 1 } // force
//!     fn score(&mut self, s: &[f32], actions: &[f32], n: usize, h: usize,
//!              returns: &mut [f32]) -> koopman::Result<()> {
//!         for (i, ret) in returns.iter_mut().enumerate().take(n) {
//!             let (mut x, mut v) = (s[0], s[1]);
//!             *ret = 0.0;
//!             for a in &actions[i * h..(i + 1) * h] {
//!                 v += 0.1 * a;
//!                 x += 0.1 * v;
//!                 *ret -= (x - 0.5).powi(2); // reward: stay near the goal
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let cfg = PlannerConfig { samples: 128, elites: 16, horizon: 10, ..PlannerConfig::tdmpc(10) };
//! let mut planner = Planner::new(cfg, 1)?;
//! let step = PlanStep { step: 100_000, episode_start: true, explore: false }; // schedules done
//! let a = planner.plan(&mut PointMass, None, &[0.0, 0.0], step)?;
//! assert!(a[0] > 0.5, "push towards the goal, got {}", a[0]);
//! # Ok::<(), koopman::Error>(())
//! ```
mod config;
mod mppi;
mod predictor_world;
mod schedule;

pub use config::PlannerConfig;
pub use mppi::{PlanStep, Planner};
pub use predictor_world::PredictorWorld;
pub use schedule::Schedule;

use crate::Result;

/// What the planner plans with: scores N candidate action sequences from one state, in one call
/// (batched) and without gradients.
pub trait WorldModel {
    /// The width of the state passed to `score` (an observation, or a latent the caller encoded).
    fn state_dim(&self) -> usize;
    fn action_dim(&self) -> usize;
    /// `actions` [n, h, action_dim], row-major, each in [−1, 1] (policy proposals as the policy
    /// gives them); writes `returns` (n values): each sequence's discounted rewards over h steps plus a
    /// terminal value, as the model defines them. Non-finite returns are read as TD-MPC does
    /// (NaN as 0).
    fn score(
        &mut self,
        state: &[f32],
        actions: &[f32],
        n: usize,
        h: usize,
        returns: &mut [f32],
    ) -> Result<()>;
}

/// Action sequences proposed by a policy (TD-MPC rolls π(z, min_std) through its latent dynamics).
pub trait Policy {
    /// Writes `actions` [n, h, action_dim] from `state`; `min_std` is the schedule's current value,
    /// the std TD-MPC samples its policy with.
    fn propose(
        &mut self,
        state: &[f32],
        n: usize,
        h: usize,
        min_std: f32,
        actions: &mut [f32],
    ) -> Result<()>;
}
