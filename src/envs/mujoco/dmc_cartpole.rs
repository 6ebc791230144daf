//! `dmc-cartpole-swingup`: dm_control 1.0.50's `suite/cartpole.py` swingup task on MuJoCo with
//! the vendored `assets/dmc/cartpole.xml` (the pure-Rust port is [`crate::envs::Cartpole`]; here
//! MuJoCo's own solver enforces the rail's soft limit).
//!
//! - Observation (5): `position` (cart `qpos`, then the pole's `xmat` `zz` and `xz`) ‖
//!   `velocity = qvel`.
//! - Reward: `upright · small_control · small_velocity · centered` with `upright = (zz + 1)/2`,
//!   `centered = (1 + tolerance(x, margin=2))/2`, `small_control = (4 + tolerance(ctrl,
//!   margin=1, value_at_margin=0, sigmoid='quadratic'))/5`, `small_velocity = (1 +
//!   tolerance(θ̇, margin=5))/2` (bounds `(0, 0)`, Gaussian with 0.1 at the margin unless said).
//! - Control timestep = physics timestep 0.01 (RK4, contacts off); 1000 steps per episode, never
//!   terminates.
//! - Reset: slider `0.01·N`, hinge `π + 0.01·N`, both velocities `0.01·N`, drawn in that order
//!   from `RandomState(seed)` (`randn`, NumPy's polar method), as dm_control draws them.
//!
//! Actions are clamped to `[−1, 1]`; the reward's `ctrl` is the clamped action (dm_control reads
//! the raw one, which only differs outside `[−1, 1]`, where `small_control`'s term is 0 either way).

use super::dmc::{task_random, DmcSim};
use crate::envs::tolerance::{Sigmoid, Tolerance, DEFAULT_VALUE_AT_MARGIN};
use mujoco_rs::prelude::MjtObjBase as MjtObj;

/// dm_control's `suite/cartpole.xml` (Apache-2.0, DeepMind Technologies).
pub const XML: &str = include_str!("assets/dmc/cartpole.xml");

const NQ: usize = 2;
const NV: usize = 2;
const NU: usize = 1;
pub const OBS_DIM: usize = NQ + 1 + NV;

/// The MuJoCo cartpole-swingup task. Construct with [`DmcCartpoleSwingup::new`] or via
/// [`crate::envs::make`].
pub struct DmcCartpoleSwingup {
    d: DmcSim,
    /// Body id of the pole.
    pole: usize,
    centered: Tolerance,
    small_control: Tolerance,
    small_velocity: Tolerance,
}

impl DmcCartpoleSwingup {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let d = DmcSim::new(XML, "dmc cartpole.xml", (NQ, NV, NU), 1)?;
        let pole = d
            .sim()
            .model()
            .name_to_id(MjtObj::mjOBJ_BODY, "pole_1")
            .ok_or("dmc cartpole.xml: no pole_1")?;
        let gaussian = |margin| {
            Tolerance::new(
                (0.0, 0.0),
                margin,
                Sigmoid::Gaussian,
                DEFAULT_VALUE_AT_MARGIN,
            )
        };
        let mut env = Self {
            d,
            pole,
            centered: gaussian(2.0)?,
            small_control: Tolerance::new((0.0, 0.0), 1.0, Sigmoid::Quadratic, 0.0)?,
            small_velocity: gaussian(5.0)?,
        };
        env.reset_state(0);
        Ok(env)
    }

    /// `Physics.pole_angle_cosine()`: the pole's `xmat` `zz`.
    pub fn pole_angle_cosine(&self) -> f64 {
        self.d.sim().data().xmat()[self.pole][8]
    }

    /// The flattened observation in f64 (dm_control's dtype); a prefix if `obs` is shorter.
    pub fn observe_f64(&self, obs: &mut [f64]) {
        let m = self.d.sim().data().xmat()[self.pole];
        let all = [self.qpos()[0], m[8], m[2]]
            .into_iter()
            .chain(self.qvel().iter().copied());
        for (o, x) in obs.iter_mut().zip(all) {
            *o = x;
        }
    }

    fn reward(&self) -> f64 {
        let data = self.d.sim().data();
        let upright = (self.pole_angle_cosine() + 1.0) / 2.0;
        let centered = (1.0 + self.centered.eval(self.qpos()[0])) / 2.0;
        let small_control = (4.0 + self.small_control.eval(data.ctrl()[0])) / 5.0;
        let small_velocity = (1.0 + self.small_velocity.eval(self.qvel()[1])) / 2.0;
        upright * small_control * small_velocity * centered
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = task_random(seed);
        let qpos = [
            0.01 * rng.standard_normal(),
            std::f64::consts::PI + 0.01 * rng.standard_normal(),
        ];
        let qvel = [0.01 * rng.standard_normal(), 0.01 * rng.standard_normal()];
        self.d.reset_context(|d| d.write_state(&qpos, &qvel));
    }
}

dmc_task!(DmcCartpoleSwingup, "dmc-cartpole-swingup");
