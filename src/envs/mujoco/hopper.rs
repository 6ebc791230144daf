//! `hopper`: Gymnasium `Hopper-v5` (`gymnasium/envs/mujoco/hopper_v5.py`, gymnasium 1.4.0) with
//! its default arguments, on the vendored `assets/hopper.xml`.
//!
//! - Observation (11): `qpos[1:]` ‖ `clip(qvel, −10, 10)` (x excluded).
//! - Reward: forward velocity `(x' − x)/dt` + healthy reward `1·healthy` − `1e-3·‖a‖²`, with
//!   `dt = timestep·frame_skip = 0.002·4`.
//! - Terminates when unhealthy: healthy iff every `qpos[2:] ‖ qvel` lies in (−100, 100),
//!   z = `qpos[1]` in (0.7, ∞) and the torso angle `qpos[2]` in (−0.2, 0.2).
//! - Reset: `mj_resetData`, then `qpos0` and zero velocity plus U(±5e-3) noise per component
//!   (drawn with this crate's RNG, so not the same numbers as NumPy's for a given seed).
//! - Episodes are truncated after [`EPISODE_STEPS`](crate::envs::EPISODE_STEPS) steps (Gymnasium's `max_episode_steps`).
//!
//! Actions are clamped to `[−1, 1]` (the motors' `ctrlrange`) before the control cost, whereas
//! Gymnasium charges the unclamped action; the two agree for actions inside the box.

use super::{ctrl_cost, Planar};

pub use super::StepF64;

/// Gymnasium's `hopper.xml` (MIT, Farama Foundation / OpenAI).
pub const XML: &str = include_str!("assets/hopper.xml");

pub const FRAME_SKIP: usize = 4;
pub const FORWARD_REWARD_WEIGHT: f64 = 1.0;
pub const CTRL_COST_WEIGHT: f64 = 1e-3;
pub const HEALTHY_REWARD: f64 = 1.0;
pub const HEALTHY_STATE_RANGE: (f64, f64) = (-100.0, 100.0);
pub const HEALTHY_Z_RANGE: (f64, f64) = (0.7, f64::INFINITY);
pub const HEALTHY_ANGLE_RANGE: (f64, f64) = (-0.2, 0.2);
pub const RESET_NOISE_SCALE: f64 = 5e-3;
/// Velocities in the observation are clipped to ±this.
pub const QVEL_CLIP: f64 = 10.0;

const NQ: usize = 6;
const NV: usize = 6;
const NU: usize = 3;
pub const OBS_DIM: usize = NQ - 1 + NV;

/// The Hopper-v5 task. Construct with [`Hopper::new`] or via [`crate::envs::make`].
pub struct Hopper {
    p: Planar,
}

impl Hopper {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let p = Planar::new(XML, "hopper.xml", (NQ, NV, NU), FRAME_SKIP)?;
        let mut env = Self { p };
        env.reset_state(0);
        Ok(env)
    }

    /// Gymnasium's `is_healthy`.
    pub fn is_healthy(&self) -> bool {
        let (q, v) = (self.qpos(), self.qvel());
        let inside = |x: f64, (lo, hi): (f64, f64)| lo < x && x < hi;
        q[2..]
            .iter()
            .chain(v)
            .all(|&s| inside(s, HEALTHY_STATE_RANGE))
            && inside(q[1], HEALTHY_Z_RANGE)
            && inside(q[2], HEALTHY_ANGLE_RANGE)
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

planar_task!(Hopper, "hopper", Some(QVEL_CLIP));
