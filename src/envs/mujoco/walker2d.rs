//! `walker2d`: Gymnasium `Walker2d-v5` (`gymnasium/envs/mujoco/walker2d_v5.py`, gymnasium 1.4.0)
//! with its default arguments, on the vendored `assets/walker2d_v5.xml`.
//!
//! - Observation (17): `qpos[1:]` ‖ `clip(qvel, −10, 10)` (x excluded).
//! - Reward: forward velocity `(x' − x)/dt` + healthy reward `1·healthy` − `1e-3·‖a‖²`, with
//!   `dt = timestep·frame_skip = 0.002·4`.
//! - Terminates when unhealthy: healthy iff z = `qpos[1]` in (0.8, 2.0) and the torso angle
//!   `qpos[2]` in (−1, 1) (unlike Hopper, no bound on the rest of the state).
//! - Reset: `mj_resetData`, then `qpos0` and zero velocity plus U(±5e-3) noise per component
//!   (drawn with this crate's RNG, so not the same numbers as NumPy's for a given seed).
//! - Episodes are truncated after [`EPISODE_STEPS`](crate::envs::EPISODE_STEPS) steps.
//!
//! Actions are clamped to `[−1, 1]` (the motors' `ctrlrange`) before the control cost, whereas
//! Gymnasium charges the unclamped action; the two agree for actions inside the box.

use super::{ctrl_cost, Planar, StepF64};

/// Gymnasium's `walker2d_v5.xml` (MIT, Farama Foundation / OpenAI).
pub const XML: &str = include_str!("assets/walker2d_v5.xml");

pub const FRAME_SKIP: usize = 4;
pub const FORWARD_REWARD_WEIGHT: f64 = 1.0;
pub const CTRL_COST_WEIGHT: f64 = 1e-3;
pub const HEALTHY_REWARD: f64 = 1.0;
pub const HEALTHY_Z_RANGE: (f64, f64) = (0.8, 2.0);
pub const HEALTHY_ANGLE_RANGE: (f64, f64) = (-1.0, 1.0);
pub const RESET_NOISE_SCALE: f64 = 5e-3;
/// Velocities in the observation are clipped to ±this.
pub const QVEL_CLIP: f64 = 10.0;

const NQ: usize = 9;
const NV: usize = 9;
const NU: usize = 6;
pub const OBS_DIM: usize = NQ - 1 + NV;

/// The Walker2d-v5 task. Construct with [`Walker2d::new`] or via [`crate::envs::make`].
pub struct Walker2d {
    p: Planar,
}

impl Walker2d {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let p = Planar::new(XML, "walker2d_v5.xml", (NQ, NV, NU), FRAME_SKIP)?;
        let mut env = Self { p };
        env.reset_state(0);
        Ok(env)
    }

    /// Gymnasium's `is_healthy`.
    pub fn is_healthy(&self) -> bool {
        let q = self.qpos();
        let inside = |x: f64, (lo, hi): (f64, f64)| lo < x && x < hi;
        inside(q[1], HEALTHY_Z_RANGE) && inside(q[2], HEALTHY_ANGLE_RANGE)
    }

    fn advance(&mut self, ctrl: &[f64; NU]) -> StepF64 {
        let (x_velocity, truncated) = self.p.advance(ctrl);
        let healthy = self.is_healthy();
        let forward_reward = FORWARD_REWARD_WEIGHT * x_velocity;
        let healthy_reward = if healthy { HEALTHY_REWARD } else { 0.0 };
        StepF64 {
            reward: forward_reward + healthy_reward - ctrl_cost(CTRL_COST_WEIGHT, ctrl),
            terminated: !healthy,
            truncated,
        }
    }

    fn reset_state(&mut self, seed: u64) {
        self.p
            .uniform_noise_reset::<NQ, NV>(seed, RESET_NOISE_SCALE);
    }
}

planar_task!(Walker2d, "walker2d", Some(QVEL_CLIP));
