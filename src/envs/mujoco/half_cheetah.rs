//! `halfcheetah`: Gymnasium `HalfCheetah-v5` (`gymnasium/envs/mujoco/half_cheetah_v5.py`,
//! gymnasium 1.4.0) with its default arguments, on the vendored `assets/half_cheetah.xml`.
//!
//! - Observation (17): `qpos[1:]` ‖ `qvel` (x excluded; velocities are not clipped).
//! - Reward: forward velocity `(x' − x)/dt` − `0.1·‖a‖²`, with `dt = timestep·frame_skip =
//!   0.01·5`.
//! - Never terminates; episodes are truncated after
//!   [`EPISODE_STEPS`](crate::envs::EPISODE_STEPS) steps.
//! - Reset: `mj_resetData`, then `qpos0` plus U(±0.1) per component and zero velocity plus
//!   0.1·N(0, 1) per component (drawn with this crate's RNG, so not NumPy's numbers for a seed).
//!
//! Actions are clamped to `[−1, 1]` (the motors' `ctrlrange`) before the control cost, whereas
//! Gymnasium charges the unclamped action; the two agree for actions inside the box.
//!
//! The XML's `settotalmass` is deprecated in MuJoCo 3.17: every load prints a warning to stderr
//! and appends it to `MUJOCO_LOG.TXT` in the working directory, as it does under Gymnasium. The
//! XML stays unchanged so that the masses, and the trajectories, stay Gymnasium's.

use super::{ctrl_cost, Planar, StepF64};
use crate::util::numpy_default_rng::DefaultRng;
use crate::util::rng::Rng;

/// Gymnasium's `half_cheetah.xml` (MIT, Farama Foundation / OpenAI).
pub const XML: &str = include_str!("assets/half_cheetah.xml");

pub const FRAME_SKIP: usize = 5;
pub const FORWARD_REWARD_WEIGHT: f64 = 1.0;
pub const CTRL_COST_WEIGHT: f64 = 0.1;
pub const RESET_NOISE_SCALE: f64 = 0.1;

const NQ: usize = 9;
const NV: usize = 9;
const NU: usize = 6;
pub const OBS_DIM: usize = NQ - 1 + NV;

/// The HalfCheetah-v5 task. Construct with [`HalfCheetah::new`] or via [`crate::envs::make`].
pub struct HalfCheetah {
    p: Planar,
}

impl HalfCheetah {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let p = Planar::new(XML, "half_cheetah.xml", (NQ, NV, NU), FRAME_SKIP)?;
        let mut env = Self { p };
        env.reset_state(0);
        Ok(env)
    }

    fn advance(&mut self, ctrl: &[f64; NU]) -> StepF64 {
        let (x_velocity, truncated) = self.p.advance(ctrl);
        let forward_reward = FORWARD_REWARD_WEIGHT * x_velocity;
        StepF64 {
            reward: forward_reward - ctrl_cost(CTRL_COST_WEIGHT, ctrl),
            terminated: false,
            truncated,
        }
    }

    fn reset_state(&mut self, seed: u64) {
        // qpos as Gymnasium's `reset(seed=seed)` draws it (`np.random.default_rng(seed)`). Its qvel
        // noise is `standard_normal` (NumPy's ziggurat), not ported: drawn from this crate's RNG.
        let mut rng = DefaultRng::new(seed);
        let qpos: [f64; NQ] = self.p.noisy_qpos(&mut rng, RESET_NOISE_SCALE);
        let mut normal = Rng::new(seed);
        let qvel: [f64; NV] = std::array::from_fn(|_| RESET_NOISE_SCALE * normal.normal());
        self.reset_to(&qpos, &qvel);
    }
}

planar_task!(HalfCheetah, "halfcheetah", None);
