//! `walker-walk`: dm_control 1.0.50's `suite/walker.py` walk task on the vendored
//! `assets/dmc/walker.xml`.
//!
//! - Observation (24): `orientations` (the `xx` and `xz` entries of `xmat` of the 7 bodies after
//!   the world: torso, right thigh/leg/foot, left thigh/leg/foot; 14) ‖ `height` (torso `z`) ‖
//!   `velocity = qvel` (9).
//! - Reward: `stand · (5·move + 1)/6` with `stand = (3·standing + upright)/4`,
//!   `standing = tolerance(height, bounds=(1.2, ∞), margin=0.6)` (Gaussian, 0.1 at the margin),
//!   `upright = (1 + torso zz)/2`, `move = tolerance(vx, bounds=(1, ∞), margin=0.5,
//!   value_at_margin=0.5, sigmoid='linear')`, `vx` the torso subtree's linear velocity along x.
//! - Control timestep 0.025 = 10 physics steps of 0.0025; 1000 steps per episode (time limit
//!   25 s), never terminates.
//! - Reset: `randomize_limited_and_rotational_joints` (limited joints uniform within their range,
//!   the unlimited root hinge uniform in `[−π, π]`, the root slides at `qpos0`), zero velocity;
//!   drawn from `RandomState(seed)` in joint order, as dm_control draws, so a seed starts where
//!   dm_control's does.
//!
//! Actions are clamped to `[−1, 1]`, as MuJoCo's `ctrlrange` does to dm_control's raw action.

use super::dmc::{task_random, DmcSim};
use crate::envs::tolerance::{Sigmoid, Tolerance, DEFAULT_VALUE_AT_MARGIN};

/// dm_control's `suite/walker.xml` (Apache-2.0, DeepMind Technologies).
pub const XML: &str = include_str!("assets/dmc/walker.xml");

pub const CONTROL_TIMESTEP: f64 = 0.025;
pub const STAND_HEIGHT: f64 = 1.2;
pub const WALK_SPEED: f64 = 1.0;
/// Physics steps per control step (`_CONTROL_TIMESTEP / timestep`).
pub const N_SUB_STEPS: usize = 10;

const NQ: usize = 9;
const NV: usize = 9;
const NU: usize = 6;
/// Bodies 1..=7 (world excluded).
const NBODY: usize = 7;
const TORSO: usize = 1;
pub const OBS_DIM: usize = 2 * NBODY + 1 + NV;

/// The walker-walk task. Construct with [`DmcWalkerWalk::new`] or via [`crate::envs::make`].
pub struct DmcWalkerWalk {
    d: DmcSim,
    standing: Tolerance,
    moving: Tolerance,
}

impl DmcWalkerWalk {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let d = DmcSim::new(XML, "dmc walker.xml", (NQ, NV, NU), N_SUB_STEPS)?;
        let m = d.sim().model().ffi();
        if m.nbody as usize != NBODY + 1 || m.nsensordata != 3 {
            return Err("dmc walker.xml: expected 8 bodies and one subtreelinvel sensor".into());
        }
        if (d.dt() - CONTROL_TIMESTEP).abs() > 1e-12 {
            return Err(format!("dmc walker.xml: control timestep {}", d.dt()));
        }
        let standing = Tolerance::new(
            (STAND_HEIGHT, f64::INFINITY),
            STAND_HEIGHT / 2.0,
            Sigmoid::Gaussian,
            DEFAULT_VALUE_AT_MARGIN,
        )?;
        let moving = Tolerance::new(
            (WALK_SPEED, f64::INFINITY),
            WALK_SPEED / 2.0,
            Sigmoid::Linear,
            0.5,
        )?;
        let mut env = Self {
            d,
            standing,
            moving,
        };
        env.reset_state(0);
        Ok(env)
    }

    /// `Physics.torso_height()`.
    pub fn torso_height(&self) -> f64 {
        self.d.sim().data().xpos()[TORSO][2]
    }

    /// The flattened observation in f64 (dm_control's dtype); a prefix if `obs` is shorter.
    pub fn observe_f64(&self, obs: &mut [f64]) {
        let xmat = self.d.sim().data().xmat();
        let orientations = xmat[1..=NBODY].iter().flat_map(|m| [m[0], m[2]]);
        let all = orientations
            .chain([self.torso_height()])
            .chain(self.qvel().iter().copied());
        for (o, x) in obs.iter_mut().zip(all) {
            *o = x;
        }
    }

    fn reward(&self) -> f64 {
        let data = self.d.sim().data();
        let standing = self.standing.eval(self.torso_height());
        let upright = (1.0 + data.xmat()[TORSO][8]) / 2.0;
        let stand_reward = (3.0 * standing + upright) / 4.0;
        let move_reward = self.moving.eval(data.sensordata()[0]);
        stand_reward * (5.0 * move_reward + 1.0) / 6.0
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = task_random(seed);
        self.d.reset_context(|d| d.randomize_joints(&mut rng, true));
    }
}

dmc_task!(DmcWalkerWalk, "walker-walk");
