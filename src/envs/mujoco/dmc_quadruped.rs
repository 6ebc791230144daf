//! `quadruped-walk` and `quadruped-run`: dm_control 1.0.50's `suite/quadruped.py` `Move` task on
//! the vendored `assets/dmc/quadruped_{walk,run}.xml`, which are `make_model(floor_size=…)`'s
//! output for each task (walls, ball, target, terrain geom and rangefinders removed; floor
//! 10 resp. 100 m).
//!
//! - Observation (78): `egocentric_state` (the 16 hinges' `qpos`, their `qvel`, the 12 actuator
//!   activations) ‖ `torso_velocity` (velocimeter, 3) ‖ `torso_upright` (torso `xmat` `zz`) ‖
//!   `imu` (accelerometer and gyro, 6) ‖ `force_torque` (`arcsinh` of the 4 toe force then the
//!   4 toe torque sensors, 24). Sensors in model order, as dm_control selects them by type.
//! - Reward: `upright · move` with `upright = tolerance(zz, bounds=(1, ∞), margin=2,
//!   value_at_margin=0, sigmoid='linear')` and `move = tolerance(vx, bounds=(speed, ∞),
//!   margin=speed, value_at_margin=0.5, sigmoid='linear')`, `vx` the velocimeter's x and
//!   `speed` 0.5 (walk) or 5 (run).
//! - Control timestep 0.02 = 4 physics steps of 0.005; 1000 steps per episode (time limit 20 s),
//!   never terminates.
//! - Reset: a random orientation (`randn(4)` of `RandomState(seed)` over its `linalg.norm`), then
//!   `_find_non_contacting_height`: from `z = 0` up in 1 cm steps, each try a nested
//!   `reset_context` with the root at `(0, 0, z)`, until MuJoCo finds no contact (at most 10 000
//!   tries, then the last one stands).
//!
//! Actions in `[−1, 1]` (clamped; missing/NaN → 0) are mapped onto the actuators' `ctrlrange`
//! (yaw `[−1, 1]`, lift `[−1, 1.1]`, extend `[−0.8, 0.8]`) as dm_control's
//! `action_scale.Wrapper(env, −1, 1)` does in the DrQ-v2/TD-MPC pipelines.

use super::dmc::{task_random, DmcSim};
use crate::envs::tolerance::{Sigmoid, Tolerance};
use mujoco_rs::prelude::{MjtJoint, MjtObjBase, MjtSensor};

/// `quadruped.make_model(floor_size=20 · 0.5)` (dm_control's `suite/quadruped.xml`, Apache-2.0,
/// DeepMind Technologies).
pub const XML_WALK: &str = include_str!("assets/dmc/quadruped_walk.xml");
/// `quadruped.make_model(floor_size=20 · 5)`.
pub const XML_RUN: &str = include_str!("assets/dmc/quadruped_run.xml");

pub const CONTROL_TIMESTEP: f64 = 0.02;
/// Physics steps per control step (`_CONTROL_TIMESTEP / timestep`).
pub const N_SUB_STEPS: usize = 4;
pub const WALK_SPEED: f64 = 0.5;
pub const RUN_SPEED: f64 = 5.0;
/// Height increment and number of tries of `_find_non_contacting_height`.
const HEIGHT_STEP: f64 = 0.01;
const MAX_TRIES: usize = 10_000;

const NQ: usize = 23;
const NV: usize = 22;
const NU: usize = 12;
const NHINGE: usize = 16;
const IMU_DIM: usize = 6;
const FT_DIM: usize = 24;
pub const OBS_DIM: usize = 2 * NHINGE + NU + 3 + 1 + IMU_DIM + FT_DIM;

/// Which `Move` task: the desired speed and the floor size differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuadrupedTask {
    Walk,
    Run,
}

impl QuadrupedTask {
    pub fn name(self) -> &'static str {
        match self {
            Self::Walk => "quadruped-walk",
            Self::Run => "quadruped-run",
        }
    }

    pub fn speed(self) -> f64 {
        match self {
            Self::Walk => WALK_SPEED,
            Self::Run => RUN_SPEED,
        }
    }

    fn xml(self) -> &'static str {
        match self {
            Self::Walk => XML_WALK,
            Self::Run => XML_RUN,
        }
    }
}

/// The quadruped walk/run task. Construct with [`DmcQuadruped::new`] or via
/// [`crate::envs::make`].
pub struct DmcQuadruped {
    d: DmcSim,
    task: QuadrupedTask,
    torso: usize,
    /// `qpos` and `qvel` addresses of the hinge joints, in model order.
    hinge_qpos: Vec<usize>,
    hinge_qvel: Vec<usize>,
    /// `sensordata` indices of the velocimeter, the IMU and the force/torque sensors.
    velocimeter: usize,
    imu: Vec<usize>,
    force_torque: Vec<usize>,
    upright: Tolerance,
    moving: Tolerance,
}

/// The `sensordata` indices of the sensors whose type is in `types`, in model order.
fn sensor_indices(m: &mujoco_rs::prelude::MjModel, types: &[MjtSensor]) -> Vec<usize> {
    let (adr, dim) = (m.sensor_adr(), m.sensor_dim());
    (0..m.ffi().nsensor as usize)
        .filter(|&s| types.contains(&m.sensor_type()[s]))
        .flat_map(|s| adr[s] as usize..(adr[s] + dim[s]) as usize)
        .collect()
}

impl DmcQuadruped {
    /// Loads the task's model (checking the MuJoCo library) and resets with seed 0.
    pub fn new(task: QuadrupedTask) -> Result<Self, String> {
        let name = task.name();
        let d = DmcSim::new(task.xml(), name, (NQ, NV, NU), N_SUB_STEPS)?.with_scaled_actions();
        if (d.dt() - CONTROL_TIMESTEP).abs() > 1e-12 {
            return Err(format!("{name}: control timestep {}", d.dt()));
        }
        let m = d.sim().model();
        let hinges: Vec<usize> = (0..m.ffi().njnt as usize)
            .filter(|&j| m.jnt_type()[j] == MjtJoint::mjJNT_HINGE)
            .collect();
        let hinge_qpos: Vec<usize> = hinges
            .iter()
            .map(|&j| m.jnt_qposadr()[j] as usize)
            .collect();
        let hinge_qvel: Vec<usize> = hinges.iter().map(|&j| m.jnt_dofadr()[j] as usize).collect();
        let imu = sensor_indices(
            m,
            &[MjtSensor::mjSENS_GYRO, MjtSensor::mjSENS_ACCELEROMETER],
        );
        let force_torque = sensor_indices(m, &[MjtSensor::mjSENS_FORCE, MjtSensor::mjSENS_TORQUE]);
        let velocimeter = m.name_to_id(MjtObjBase::mjOBJ_SENSOR, "velocimeter");
        let torso = m.name_to_id(MjtObjBase::mjOBJ_BODY, "torso");
        let (Some(velocimeter), Some(torso)) = (velocimeter, torso) else {
            return Err(format!("{name}: no velocimeter sensor or torso body"));
        };
        let velocimeter = m.sensor_adr()[velocimeter] as usize;
        let sizes = (
            hinges.len(),
            m.ffi().na as usize,
            imu.len(),
            force_torque.len(),
        );
        if sizes != (NHINGE, NU, IMU_DIM, FT_DIM) {
            return Err(format!(
                "{name}: expected (hinges, activations, imu, force/torque) = \
                 ({NHINGE}, {NU}, {IMU_DIM}, {FT_DIM}), got {sizes:?}"
            ));
        }
        // `_upright_reward(deviation_angle=0)`: bounds (cos 0, ∞), margin 1 + cos 0.
        let upright = Tolerance::new((1.0, f64::INFINITY), 2.0, Sigmoid::Linear, 0.0)?;
        let speed = task.speed();
        let moving = Tolerance::new((speed, f64::INFINITY), speed, Sigmoid::Linear, 0.5)?;
        let mut env = Self {
            d,
            task,
            torso,
            hinge_qpos,
            hinge_qvel,
            velocimeter,
            imu,
            force_torque,
            upright,
            moving,
        };
        env.reset_state(0);
        Ok(env)
    }

    /// The task this instance runs.
    pub fn task(&self) -> QuadrupedTask {
        self.task
    }

    /// `Physics.torso_upright()`: the torso `xmat` `zz`.
    pub fn torso_upright(&self) -> f64 {
        self.d.sim().data().xmat()[self.torso][8]
    }

    /// `Physics.torso_velocity()`: the velocimeter reading, in the torso frame.
    pub fn torso_velocity(&self) -> [f64; 3] {
        let s = &self.d.sim().data().sensordata()[self.velocimeter..];
        [s[0], s[1], s[2]]
    }

    /// The flattened observation in f64 (dm_control's dtype); a prefix if `obs` is shorter.
    pub fn observe_f64(&self, obs: &mut [f64]) {
        let data = self.d.sim().data();
        let (qpos, qvel, sensors) = (data.qpos(), data.qvel(), data.sensordata());
        let all = (self.hinge_qpos.iter().map(|&i| qpos[i]))
            .chain(self.hinge_qvel.iter().map(|&i| qvel[i]))
            .chain(data.act().iter().copied())
            .chain(self.torso_velocity())
            .chain([self.torso_upright()])
            .chain(self.imu.iter().map(|&i| sensors[i]))
            .chain(self.force_torque.iter().map(|&i| sensors[i].asinh()));
        for (o, x) in obs.iter_mut().zip(all) {
            *o = x;
        }
    }

    /// A reset with the torso at orientation `quat` (normalised by the caller, as
    /// `initialize_episode` does): the collision-free height search, zero velocity.
    pub fn reset_with_orientation(&mut self, quat: [f64; 4]) {
        self.d.reset_context(|d| {
            let mut z = 0.0;
            for _ in 0..MAX_TRIES {
                let root = [0.0, 0.0, z, quat[0], quat[1], quat[2], quat[3]];
                d.nested_reset_context(|d| d.write_state(&root, &[]));
                if d.ncon() == 0 {
                    break;
                }
                z += HEIGHT_STEP;
            }
        });
    }

    fn reward(&self) -> f64 {
        let upright = self.upright.eval(self.torso_upright());
        upright * self.moving.eval(self.torso_velocity()[0])
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = task_random(seed);
        let mut q: [f64; 4] = std::array::from_fn(|_| rng.standard_normal());
        // `np.linalg.norm`: `sqrt(q.dot(q))`, BLAS `ddot`, whose short-vector loop is a fused
        // multiply-add chain (OpenBLAS' x86-64 kernels; checked on 2000 seeds).
        let sq = q[3].mul_add(q[3], q[2].mul_add(q[2], q[1].mul_add(q[1], q[0] * q[0])));
        let norm = sq.sqrt();
        // A zero draw (probability 0) would leave MuJoCo to normalise; use the identity instead.
        q = if norm > 0.0 {
            q.map(|x| x / norm)
        } else {
            [1.0, 0.0, 0.0, 0.0]
        };
        self.reset_with_orientation(q);
    }
}

dmc_task!(DmcQuadruped, |env| env.task.name());
