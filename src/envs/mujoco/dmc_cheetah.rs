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
//! - Reset: the limited joints (all but the root) drawn uniformly within their ranges, the root at
//!   `qpos0`, zero velocity, then 200 physics steps with zero control to settle (dm_control's
//!   `initialize_episode`), drawn with this crate's RNG (not NumPy's numbers for a seed).
//!
//! Actions are clamped to `[−1, 1]`, as MuJoCo's `ctrlrange` does to dm_control's raw action.
//! The XML's deprecated `settotalmass` makes every load print a warning (as under dm_control).

use super::dmc::DmcSim;
use super::dmc_task::DmcTask;
use super::Sim;
use super::{ctrl_f32, ctrl_f64, StepF64};
use crate::envs::tolerance::{Sigmoid, Tolerance};
use crate::envs::{write_obs, Env, Spec};
use crate::util::rng::Rng;

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
    reward: Tolerance,
}

impl DmcCheetahRun {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let d = DmcSim::new(XML, "dmc cheetah.xml", (NQ, NV, NU), 1)?;
        if d.sim().model().ffi().nsensordata != 3 {
            return Err("dmc cheetah.xml: expected the torso_subtreelinvel sensor alone".into());
        }
        let reward = Tolerance::new((RUN_SPEED, f64::INFINITY), RUN_SPEED, Sigmoid::Linear, 0.0)?;
        let mut env = Self { d, reward };
        env.reset_state(0);
        Ok(env)
    }

    /// Control timestep (0.01 s).
    pub fn dt(&self) -> f64 {
        self.d.dt()
    }

    pub fn qpos(&self) -> &[f64] {
        self.d.sim().qpos()
    }

    pub fn qvel(&self) -> &[f64] {
        self.d.sim().qvel()
    }

    /// `physics.reset_context()` writing `qpos`/`qvel`; the step counter restarts.
    pub fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.d.reset_to(qpos, qvel);
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

    /// One control step in f64; `action` follows the [`Env`] rules (clamped, missing/NaN → 0).
    pub fn step_f64(&mut self, action: &[f64]) -> StepF64 {
        self.advance(&ctrl_f64::<NU>(action))
    }

    fn advance(&mut self, ctrl: &[f64; NU]) -> StepF64 {
        let truncated = self.d.advance(ctrl);
        StepF64 {
            reward: self.reward.eval(self.speed()),
            terminated: false,
            truncated,
        }
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = Rng::new(seed);
        let qpos = self.d.randomized_qpos(&mut rng, false);
        self.d.reset_to(&qpos, &[0.0; NV]);
        self.d.settle(&[0.0; NU], SETTLE_STEPS);
    }

    fn observe(&self, obs: &mut [f32]) {
        let mut o = [0.0; OBS_DIM];
        self.observe_f64(&mut o);
        write_obs(obs, &o);
    }
}

impl Env for DmcCheetahRun {
    fn name(&self) -> &'static str {
        "cheetah-run"
    }

    fn spec(&self) -> Spec {
        Spec {
            obs_dim: OBS_DIM,
            act_dim: NU,
        }
    }

    fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
        self.reset_state(seed);
        self.observe(obs);
    }

    fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
        let s = self.advance(&ctrl_f32::<NU>(action));
        self.observe(obs);
        (s.reward as f32, s.terminated, s.truncated)
    }
}

impl DmcTask for DmcCheetahRun {
    fn sim(&self) -> &Sim {
        self.d.sim()
    }

    fn sim_mut(&mut self) -> &mut Sim {
        self.d.sim_mut()
    }
}
