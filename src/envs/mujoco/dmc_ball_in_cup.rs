//! `ball_in_cup-catch`: dm_control 1.0.50's `suite/ball_in_cup.py` catch task on the vendored
//! `assets/dmc/ball_in_cup.xml`.
//!
//! - Observation (8): `position = qpos` (cup x, z, ball x, z) ‖ `velocity = qvel`.
//! - Reward: `in_target`, 1 when the ball's centre is inside the cup's target box shrunk by the
//!   ball's radius (`|target − ball| < target_size − ball_radius` in x and z), else 0.
//! - Control timestep 0.02 = 10 physics steps of 0.002; 1000 steps per episode (time limit 20 s),
//!   never terminates.
//! - Reset: the ball drawn at `x ~ U(−0.2, 0.2)`, `z ~ U(0.2, 0.5)` (two `uniform` draws of
//!   `RandomState(seed)` per try, as dm_control draws) until MuJoCo finds no contact after
//!   `after_reset`; the cup at rest at its origin, zero velocity.
//!
//! Actions are clamped to `[−1, 1]`, as MuJoCo's `ctrlrange` does to dm_control's raw action.

use super::dmc::{task_random, DmcSim};
use mujoco_rs::prelude::MjtObjBase as MjtObj;

/// dm_control's `suite/ball_in_cup.xml` (Apache-2.0, DeepMind Technologies).
pub const XML: &str = include_str!("assets/dmc/ball_in_cup.xml");

pub const CONTROL_TIMESTEP: f64 = 0.02;
/// Physics steps per control step (`_CONTROL_TIMESTEP / timestep`).
pub const N_SUB_STEPS: usize = 10;
/// dm_control redraws until the ball does not penetrate (about one draw in ten does); past this
/// many tries, which no seed needs, the last draw stands.
const MAX_TRIES: usize = 10_000;

const NQ: usize = 4;
const NV: usize = 4;
const NU: usize = 2;
pub const OBS_DIM: usize = NQ + NV;

/// The ball-in-cup catch task. Construct with [`DmcBallInCupCatch::new`] or via
/// [`crate::envs::make`].
pub struct DmcBallInCupCatch {
    d: DmcSim,
    /// Site id of the cup's target box and body id of the ball.
    target: usize,
    ball: usize,
    /// `qpos` addresses of the ball's slides.
    ball_x: usize,
    ball_z: usize,
    /// `target_size − ball_radius` in x and z: the box the ball's centre must be inside.
    inner: [f64; 2],
}

impl DmcBallInCupCatch {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let d = DmcSim::new(XML, "dmc ball_in_cup.xml", (NQ, NV, NU), N_SUB_STEPS)?;
        if (d.dt() - CONTROL_TIMESTEP).abs() > 1e-12 {
            return Err(format!("dmc ball_in_cup.xml: control timestep {}", d.dt()));
        }
        let m = d.sim().model();
        let id = |kind, name: &str| {
            m.name_to_id(kind, name)
                .ok_or_else(|| format!("dmc ball_in_cup.xml: no {name}"))
        };
        let target = id(MjtObj::mjOBJ_SITE, "target")?;
        let ball = id(MjtObj::mjOBJ_BODY, "ball")?;
        let ball_geom = id(MjtObj::mjOBJ_GEOM, "ball")?;
        let qpos_of = |name| id(MjtObj::mjOBJ_JOINT, name).map(|j| m.jnt_qposadr()[j] as usize);
        let (ball_x, ball_z) = (qpos_of("ball_x")?, qpos_of("ball_z")?);
        let size = m.site_size()[target];
        let radius = m.geom_size()[ball_geom][0];
        let mut env = Self {
            d,
            target,
            ball,
            ball_x,
            ball_z,
            inner: [size[0] - radius, size[2] - radius],
        };
        env.reset_state(0);
        Ok(env)
    }

    /// `Physics.ball_to_target()`: the target's `(x, z)` minus the ball's.
    pub fn ball_to_target(&self) -> [f64; 2] {
        let data = self.d.sim().data();
        let (t, b) = (data.site_xpos()[self.target], data.xpos()[self.ball]);
        [t[0] - b[0], t[2] - b[2]]
    }

    /// `Physics.in_target()`: 1 if the ball is in the cup, else 0.
    pub fn in_target(&self) -> f64 {
        let d = self.ball_to_target();
        let inside = d.iter().zip(self.inner).all(|(d, s)| d.abs() < s);
        f64::from(u8::from(inside))
    }

    /// The flattened observation in f64 (dm_control's dtype); a prefix if `obs` is shorter.
    pub fn observe_f64(&self, obs: &mut [f64]) {
        let all = self.qpos().iter().chain(self.qvel());
        for (o, x) in obs.iter_mut().zip(all) {
            *o = *x;
        }
    }

    fn reward(&self) -> f64 {
        self.in_target()
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = task_random(seed);
        let (ball_x, ball_z) = (self.ball_x, self.ball_z);
        self.d.reset_context(|d| {
            for _ in 0..MAX_TRIES {
                let x = rng.uniform(-0.2, 0.2);
                let z = rng.uniform(0.2, 0.5);
                let qpos = d.sim_mut().data_mut().qpos_mut();
                (qpos[ball_x], qpos[ball_z]) = (x, z);
                d.forward_unactuated();
                if d.ncon() == 0 {
                    break;
                }
            }
        });
    }
}

dmc_task!(DmcBallInCupCatch, "ball_in_cup-catch");
