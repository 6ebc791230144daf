//! `finger-spin`: dm_control 1.0.50's `suite/finger.py` spin task on the vendored
//! `assets/dmc/finger.xml`.
//!
//! - Observation (9), all read from sensors: `position` (the proximal and distal `jointpos`,
//!   then the tip's `(x, z)` relative to the spinner) ‖ `velocity` (proximal, distal and hinge
//!   `jointvel`) ‖ `touch` (`log1p` of the top and bottom touch sensors).
//! - Reward: 1 when the hinge spins at `hinge_velocity ≤ −15` rad/s, else 0.
//! - Control timestep 0.02 = 2 physics steps of 0.01; 1000 steps per episode (time limit 20 s),
//!   never terminates.
//! - Model edits of `Spin.initialize_episode` (the same on every reset, so made once at load):
//!   the target and tip sites are hidden (alpha 0) and the hinge's damping is 0.03.
//! - Reset (`_set_random_joint_angles`): `randomize_limited_and_rotational_joints` (proximal and
//!   distal uniform within their ranges, the unlimited hinge uniform in `[−π, π]`, drawn from
//!   `RandomState(seed)` in joint order), redrawn until MuJoCo finds no contact after
//!   `after_reset`, at most 1000 tries; zero velocity. Where dm_control raises after 1000 tries
//!   (no seed comes close), the last draw stands.
//!
//! Actions are clamped to `[−1, 1]`, as MuJoCo's `ctrlrange` does to dm_control's raw action.

use super::dmc::{task_random, DmcSim};
use mujoco_rs::prelude::{MjModel, MjtObjBase as MjtObj};

/// dm_control's `suite/finger.xml` (Apache-2.0, DeepMind Technologies).
pub const XML: &str = include_str!("assets/dmc/finger.xml");

pub const CONTROL_TIMESTEP: f64 = 0.02;
/// Physics steps per control step (`_CONTROL_TIMESTEP / timestep`).
pub const N_SUB_STEPS: usize = 2;
/// Hinge velocity (rad/s, clockwise seen along the hinge axis) counted as spinning.
pub const SPIN_VELOCITY: f64 = 15.0;
/// The hinge damping the spin task sets.
pub const HINGE_DAMPING: f64 = 0.03;
/// `_set_random_joint_angles`' `max_attempts`.
const MAX_TRIES: usize = 1000;

const NQ: usize = 3;
const NV: usize = 3;
const NU: usize = 2;
pub const OBS_DIM: usize = 4 + NV + 2;

/// `sensordata` addresses of the sensors the observation and reward read.
struct Sensors {
    proximal: usize,
    distal: usize,
    tip: usize,
    spinner: usize,
    velocity: [usize; 3],
    touch: [usize; 2],
}

/// The finger-spin task. Construct with [`DmcFingerSpin::new`] or via [`crate::envs::make`].
pub struct DmcFingerSpin {
    d: DmcSim,
    s: Sensors,
}

fn id(m: &MjModel, kind: MjtObj, name: &str) -> Result<usize, String> {
    m.name_to_id(kind, name)
        .ok_or_else(|| format!("dmc finger.xml: no {name}"))
}

/// `Spin.initialize_episode`'s model edits.
fn spin_edits(m: &mut MjModel) -> Result<(), String> {
    for site in ["target", "tip"] {
        let s = id(m, MjtObj::mjOBJ_SITE, site)?;
        m.site_rgba_mut()[s][3] = 0.0;
    }
    let hinge = id(m, MjtObj::mjOBJ_JOINT, "hinge")?;
    let dof = m.jnt_dofadr()[hinge] as usize;
    m.dof_damping_mut()[dof] = HINGE_DAMPING;
    Ok(())
}

impl DmcFingerSpin {
    /// Loads the model (checking the MuJoCo library), makes the spin task's edits and resets
    /// with seed 0.
    pub fn new() -> Result<Self, String> {
        let d = DmcSim::new_edited(XML, "dmc finger.xml", (NQ, NV, NU), N_SUB_STEPS, spin_edits)?;
        if (d.dt() - CONTROL_TIMESTEP).abs() > 1e-12 {
            return Err(format!("dmc finger.xml: control timestep {}", d.dt()));
        }
        let m = d.sim().model();
        let adr = |name| id(m, MjtObj::mjOBJ_SENSOR, name).map(|s| m.sensor_adr()[s] as usize);
        let s = Sensors {
            proximal: adr("proximal")?,
            distal: adr("distal")?,
            tip: adr("tip")?,
            spinner: adr("spinner")?,
            velocity: [
                adr("proximal_velocity")?,
                adr("distal_velocity")?,
                adr("hinge_velocity")?,
            ],
            touch: [adr("touchtop")?, adr("touchbottom")?],
        };
        let mut env = Self { d, s };
        env.reset_state(0);
        Ok(env)
    }

    /// `Physics.hinge_velocity()`: the spinner's angular velocity (sensor).
    pub fn hinge_velocity(&self) -> f64 {
        self.d.sim().data().sensordata()[self.s.velocity[2]]
    }

    /// `Physics.tip_position()`: the tip's `(x, z)` relative to the spinner.
    pub fn tip_position(&self) -> [f64; 2] {
        let s = self.d.sim().data().sensordata();
        let (tip, spinner) = (self.s.tip, self.s.spinner);
        [s[tip] - s[spinner], s[tip + 2] - s[spinner + 2]]
    }

    /// The flattened observation in f64 (dm_control's dtype); a prefix if `obs` is shorter.
    pub fn observe_f64(&self, obs: &mut [f64]) {
        let s = self.d.sim().data().sensordata();
        let all = [s[self.s.proximal], s[self.s.distal]]
            .into_iter()
            .chain(self.tip_position())
            .chain(self.s.velocity.map(|i| s[i]))
            .chain(self.s.touch.map(|i| s[i].ln_1p()));
        for (o, x) in obs.iter_mut().zip(all) {
            *o = x;
        }
    }

    fn reward(&self) -> f64 {
        f64::from(u8::from(self.hinge_velocity() <= -SPIN_VELOCITY))
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = task_random(seed);
        self.d.reset_context(|d| {
            for _ in 0..MAX_TRIES {
                d.randomize_joints(&mut rng, true);
                d.forward_unactuated();
                if d.ncon() == 0 {
                    break;
                }
            }
        });
    }
}

dmc_task!(DmcFingerSpin, "finger-spin");
