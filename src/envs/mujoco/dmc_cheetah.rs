//! `cheetah-run`: dm_control 1.0.50's `suite/cheetah.py` run task on the vendored
//! `assets/dmc/cheetah.xml`.
//!
//! - Observation (17): `position = qpos[1:]` ‖ `velocity = qvel` (the horizontal position is
//!   left out).
//! - Reward: `tolerance(speed, bounds=(10, ∞), margin=10, value_at_margin=0, sigmoid='linear')`,
//!   i.e. `clip(speed/10, 0, 1)`, with `speed` the torso subtree's linear velocity along x (the
//!   `torso_subtreelinvel` sensor).
//! - Control timestep = physics timestep 0.01 (dm_control sets no `control_timestep` for cheetah,
//!   so one physics step per action); 1000 steps per episode (time limit 10 s), never terminates.
//! - Reset (dm_control's `initialize_episode`, inside `reset_context`): the limited joints (all
//!   but the root) drawn uniformly within their ranges, the root at `qpos0`, zero velocity, then
//!   `Physics.step(200)` with zero control to settle (its first `mj_step2` still sees the derived
//!   quantities of `qpos0`, as in dm_control); drawn from `RandomState(seed)` as dm_control draws
//!   (`uniform(lower, upper)` over the limited joints), so a seed starts where dm_control's does.
//!
//! Actions are clamped to `[−1, 1]`, as MuJoCo's `ctrlrange` does to dm_control's raw action.
//! The XML's deprecated `settotalmass` makes every load print a warning (as under dm_control).

use super::dmc::{task_random, DmcSim};
use crate::envs::tolerance::{Sigmoid, Tolerance};

/// dm_control's `suite/cheetah.xml` (Apache-2.0, DeepMind Technologies).
pub const XML: &str = include_str!("assets/dmc/cheetah.xml");

pub const RUN_SPEED: f64 = 10.0;
/// Physics steps with zero control after the joint randomisation.
pub const SETTLE_STEPS: usize = 200;

const NQ: usize = 9;
const NV: usize = 9;
const NU: usize = 6;
pub const OBS_DIM: usize = NQ - 1 + NV;

/// The cheetah-run task. Construct with [`DmcCheetahRun::new`] or via [`crate::envs::make`].
pub struct DmcCheetahRun {
    d: DmcSim,
    running: Tolerance,
}

impl DmcCheetahRun {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let d = DmcSim::new(XML, "dmc cheetah.xml", (NQ, NV, NU), 1)?;
        if d.sim().model().ffi().nsensordata != 3 {
            return Err("dmc cheetah.xml: expected the torso_subtreelinvel sensor alone".into());
        }
        let running = Tolerance::new((RUN_SPEED, f64::INFINITY), RUN_SPEED, Sigmoid::Linear, 0.0)?;
        let mut env = Self { d, running };
        env.reset_state(0);
        Ok(env)
    }

    /// `Physics.speed()`: the `torso_subtreelinvel` sensor's x component.
    pub fn speed(&self) -> f64 {
        self.d.sim().data().sensordata()[0]
    }

    /// The flattened observation in f64 (dm_control's dtype); a prefix if `obs` is shorter.
    pub fn observe_f64(&self, obs: &mut [f64]) {
        let q = self.qpos()[1..].iter();
        for (o, x) in obs.iter_mut().zip(q.chain(self.qvel())) {
            *o = *x;
        }
    }

    /// `initialize_episode` from a given joint draw: `qpos` (prefix if shorter) written inside
    /// `reset_context`, zero velocity, then the settling steps.
    pub fn reset_settled(&mut self, qpos: &[f64]) {
        self.d.reset_context(|d| {
            d.write_state(qpos, &[]);
            d.physics_step(&[0.0; NU], SETTLE_STEPS);
        });
    }

    fn reward(&self) -> f64 {
        self.running.eval(self.speed())
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = task_random(seed);
        self.d.reset_context(|d| {
            d.randomize_joints(&mut rng, false);
            d.physics_step(&[0.0; NU], SETTLE_STEPS);
        });
    }
}

dmc_task!(DmcCheetahRun, "cheetah-run");
