//! Gymnasium MuJoCo environments on libmujoco 3.17.0 (cargo feature `mujoco`).
//!
//! MuJoCo does the physics; the task logic (observation, reward, termination, reset noise) is a
//! port of Gymnasium 1.4.0's `*_v5.py`. The library is linked dynamically: run
//! `scripts/setup-mujoco.sh` and export what it prints before building with `--features mujoco`.
//! The same library and XML give the same trajectories as Python (`tests/mujoco_envs.rs`).
//!
//! Vendored models live in `assets/` (Gymnasium's, MIT; see `assets/LICENSE-gymnasium`).
//! `assets/dmc/` holds dm_control 1.0.50's acrobot, pendulum, cartpole, cheetah, walker,
//! ball_in_cup and finger models and quadruped's `make_model` output for walk and run
//! (Apache-2.0; see `assets/dmc/LICENSE`). Acrobot and pendulum check the pure-Rust ports
//! (`tests/mujoco_ports.rs`); the dm_control tasks `cheetah-run`, `walker-walk`,
//! `quadruped-walk`, `quadruped-run`, `dmc-acrobot-swingup`, `dmc-cartpole-swingup`,
//! `ball_in_cup-catch` and `finger-spin` ([`dmc_cheetah`], [`dmc_walker`], [`dmc_quadruped`],
//! [`dmc_acrobot`], [`dmc_cartpole`], [`dmc_ball_in_cup`], [`dmc_finger`]; task logic ported from
//! `suite/*.py`, stepping and resets shared in [`dmc`]) are checked against dm_control by
//! `tests/mujoco_dmc.rs`.
//! [`render`] draws their frames headless (EGL), as dm_control does, pixel for pixel
//! (`tests/mujoco_render.rs`).

/// The f64 step, the f32 observation and the `Env` impl of every MuJoCo task. The task supplies
/// `advance` (one control step on clamped controls), `observe_f64`, `reset_state`, and the consts
/// `NU` and `OBS_DIM`; `$name` maps `&self` to the registry name.
macro_rules! mujoco_env {
    ($ty:ident, |$env:ident| $name:expr) => {
        impl $ty {
            /// One control step in f64; `action` follows the [`Env`] rules (clamped, missing/NaN → 0).
            pub fn step_f64(&mut self, action: &[f64]) -> $crate::envs::mujoco::StepF64 {
                self.advance(&$crate::envs::mujoco::ctrl_f64::<NU>(action))
            }
            fn observe(&self, obs: &mut [f32]) {
                let mut o = [0.0; OBS_DIM];
                self.observe_f64(&mut o);
                $crate::envs::write_obs(obs, &o);
            }
        }

        impl $crate::envs::Env for $ty {
            fn name(&self) -> &'static str {
                let $env = self;
                $name
            }
            fn spec(&self) -> $crate::envs::Spec {
                $crate::envs::Spec {
                    obs_dim: OBS_DIM,
                    act_dim: NU,
                }
            }
            fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
                self.reset_state(seed);
                self.observe(obs);
            }
            fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
                let s = self.advance(&$crate::envs::mujoco::ctrl_f32::<NU>(action));
                self.observe(obs);
                (s.reward as f32, s.terminated, s.truncated)
            }
        }
    };
}

/// What the Gymnasium planar tasks share: state access, f64/f32 observation and stepping, and the
/// `Env` impl. Each task supplies `new`, `advance` (reward, termination) and `reset_state` (noise),
/// and the consts `NU` and `OBS_DIM`. `$clip` is the velocity clip of the observation.
macro_rules! planar_task {
    ($ty:ident, $name:literal, $clip:expr) => {
        impl $ty {
            /// Control timestep (`timestep · frame_skip`).
            pub fn dt(&self) -> f64 {
                self.p.dt()
            }
            pub fn qpos(&self) -> &[f64] {
                self.p.qpos()
            }
            pub fn qvel(&self) -> &[f64] {
                self.p.qvel()
            }
            /// Gymnasium's `set_state(qpos, qvel)` (the step counter is untouched).
            pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
                self.p.set_state(qpos, qvel);
            }
            /// Gymnasium's `reset` without the noise: `mj_resetData` then `set_state(qpos, qvel)`,
            /// and the step counter restarts.
            pub fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
                self.p.reset_to(qpos, qvel);
            }
            /// The observation in f64 (Gymnasium's dtype); writes a prefix if `obs` is shorter.
            pub fn observe_f64(&self, obs: &mut [f64]) {
                self.p.observe($clip, obs);
            }
        }

        mujoco_env!($ty, |_env| $name);
    };
}

#[macro_use]
pub mod dmc;
pub mod dmc_acrobot;
pub mod dmc_ball_in_cup;
pub mod dmc_camera;
pub mod dmc_cartpole;
pub mod dmc_cheetah;
pub mod dmc_finger;
pub mod dmc_quadruped;
pub mod dmc_task;
pub mod dmc_walker;
pub mod half_cheetah;
pub mod hopper;
pub mod render;
pub mod walker2d;

pub use dmc_acrobot::DmcAcrobotSwingup;
pub use dmc_ball_in_cup::DmcBallInCupCatch;
pub use dmc_camera::DmcCamera;
pub use dmc_cartpole::DmcCartpoleSwingup;
pub use dmc_cheetah::DmcCheetahRun;
pub use dmc_finger::DmcFingerSpin;
pub use dmc_quadruped::{DmcQuadruped, QuadrupedTask};
pub use dmc_task::{make_dmc, DmcTask};
pub use dmc_walker::DmcWalkerWalk;
pub use half_cheetah::HalfCheetah;
pub use hopper::Hopper;
pub use render::Renderer;
pub use walker2d::Walker2d;

use crate::envs::{action_component, tick};
use crate::util::numpy_default_rng::DefaultRng;
use mujoco_rs::prelude::{MjData, MjModel};

/// The MuJoCo release mujoco-rs 7.0.0 is bound to; any other library is refused.
pub const MUJOCO_VERSION: &str = "3.17.0";

/// How to get the right library, appended to every load error.
pub const SETUP_HINT: &str = "run scripts/setup-mujoco.sh and export what it prints \
     (MUJOCO_DYNAMIC_LINK_DIR, LD_LIBRARY_PATH), then rebuild with --features mujoco";

/// Checks that the loaded libmujoco is the release the bindings were generated for.
pub fn check_library() -> Result<(), String> {
    let found = mujoco_rs::mujoco_version();
    if found == MUJOCO_VERSION {
        Ok(())
    } else {
        Err(format!(
            "libmujoco {found} is loaded but {MUJOCO_VERSION} is required; {SETUP_HINT}"
        ))
    }
}

/// A model with its simulation state: a thin owner of `mjModel` + `mjData`.
pub struct Sim {
    data: MjData<Box<MjModel>>,
}

impl Sim {
    /// Compiles an MJCF document (no external files) after checking the library version.
    pub fn from_xml(xml: &str) -> Result<Self, String> {
        Self::from_xml_edited(xml, |_| Ok(()))
    }

    /// [`Sim::from_xml`], with `edit` changing model values (colours, damping, ...) before the
    /// state is made, as a task's `initialize_episode` does to `physics.model`.
    pub fn from_xml_edited(
        xml: &str,
        edit: impl FnOnce(&mut MjModel) -> Result<(), String>,
    ) -> Result<Self, String> {
        check_library()?;
        let mut model = MjModel::from_xml_string(xml)
            .map_err(|e| format!("MuJoCo could not load the model: {e}"))?;
        edit(&mut model)?;
        let data = MjData::new(Box::new(model));
        Ok(Self { data })
    }

    pub fn model(&self) -> &MjModel {
        self.data.model()
    }

    /// The full `mjData` (read-only), e.g. for body frames and site positions after a step.
    pub fn data(&self) -> &MjData<Box<MjModel>> {
        &self.data
    }

    /// The full `mjData`, for the dm_control tasks' own stepping and resets.
    /// Mutable `mjData` for the renderer (`mjv_updateScene` takes a non-const `mjData*`).
    pub(crate) fn data_mut(&mut self) -> &mut MjData<Box<MjModel>> {
        &mut self.data
    }

    /// Physics timestep (`opt.timestep`).
    pub fn timestep(&self) -> f64 {
        self.model().opt().timestep
    }

    pub fn qpos(&self) -> &[f64] {
        self.data.qpos()
    }

    pub fn qvel(&self) -> &[f64] {
        self.data.qvel()
    }

    /// `mj_resetData`: the model's default state (`qpos0`, zero velocity, time 0).
    pub fn reset(&mut self) {
        self.data.reset();
    }

    /// Gymnasium's `set_state`: writes `qpos` and `qvel` (prefixes if shorter) and runs
    /// `mj_forward`.
    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        for (d, s) in self.data.qpos_mut().iter_mut().zip(qpos) {
            *d = *s;
        }
        for (d, s) in self.data.qvel_mut().iter_mut().zip(qvel) {
            *d = *s;
        }
        self.data.forward();
    }

    /// `mj_forward`: recomputes the derived quantities (body frames, site positions, ...) for
    /// the current `qpos`/`qvel`. After `mj_step` they still describe the state before the step;
    /// dm_control's `Physics.step` ends with `mj_step1` for the same reason.
    pub fn forward(&mut self) {
        self.data.forward();
    }

    /// Sets `ctrl` (a prefix if shorter) and advances `n` physics steps (`mj_step`).
    pub fn step(&mut self, ctrl: &[f64], n: usize) {
        for (d, s) in self.data.ctrl_mut().iter_mut().zip(ctrl) {
            *d = *s;
        }
        for _ in 0..n {
            self.data.step();
        }
    }
}

/// Result of one control step in Gymnasium's precision (f64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepF64 {
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
}

/// What the planar locomotion tasks (Hopper, Walker2d, HalfCheetah) share: a model whose
/// `qpos[0]` is the forward position, stepped `frame_skip` physics steps per control step, with an
/// episode step counter. The task-specific parts (reward, health, reset noise) stay in each task.
pub(crate) struct Planar {
    sim: Sim,
    /// `qpos0` of the model (Gymnasium's `init_qpos`; `init_qvel` is zero).
    pub init_qpos: Vec<f64>,
    frame_skip: usize,
    dt: f64,
    steps: u32,
}

impl Planar {
    /// `init_qpos` plus U(±scale) noise per component (the qpos part of every Gymnasium reset),
    /// drawn as `np_random.uniform(-scale, scale, nq)` is after `reset(seed=…)`.
    pub fn noisy_qpos<const NQ: usize>(&self, rng: &mut DefaultRng, scale: f64) -> [f64; NQ] {
        std::array::from_fn(|i| self.init_qpos[i] + rng.uniform(-scale, scale))
    }

    /// Hopper's and Walker2d's `reset(seed=seed)`: `np.random.default_rng(seed)`, U(±scale) on
    /// qpos, then on qvel (whose initial value is 0).
    pub fn uniform_noise_reset<const NQ: usize, const NV: usize>(&mut self, seed: u64, scale: f64) {
        let mut rng = DefaultRng::new(seed);
        let qpos: [f64; NQ] = self.noisy_qpos(&mut rng, scale);
        let qvel: [f64; NV] = std::array::from_fn(|_| rng.uniform(-scale, scale));
        self.reset_to(&qpos, &qvel);
    }

    /// Loads `xml`, checking the library and the sizes `(nq, nv, nu)`.
    pub fn new(
        xml: &str,
        name: &str,
        (nq, nv, nu): (usize, usize, usize),
        frame_skip: usize,
    ) -> Result<Self, String> {
        let sim = Sim::from_xml(xml)?;
        let m = sim.model().ffi();
        if (m.nq as usize, m.nv as usize, m.nu as usize) != (nq, nv, nu) {
            return Err(format!(
                "{name}: expected nq={nq}, nv={nv}, nu={nu}, got {}, {}, {}",
                m.nq, m.nv, m.nu
            ));
        }
        let init_qpos = sim.qpos().to_vec();
        let dt = sim.timestep() * frame_skip as f64;
        Ok(Self {
            sim,
            init_qpos,
            frame_skip,
            dt,
            steps: 0,
        })
    }

    /// Control timestep: `timestep·frame_skip` (Gymnasium's `dt`).
    pub fn dt(&self) -> f64 {
        self.dt
    }

    pub fn qpos(&self) -> &[f64] {
        self.sim.qpos()
    }

    pub fn qvel(&self) -> &[f64] {
        self.sim.qvel()
    }

    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.sim.set_state(qpos, qvel);
    }

    /// Gymnasium's `reset` without the noise: `mj_resetData`, `set_state`, step counter to 0.
    pub fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.sim.reset();
        self.sim.set_state(qpos, qvel);
        self.steps = 0;
    }

    /// One control step: returns the forward velocity `(x' − x)/dt` and whether the episode hit
    /// its step limit.
    pub fn advance(&mut self, ctrl: &[f64]) -> (f64, bool) {
        let x_before = self.qpos()[0];
        self.sim.step(ctrl, self.frame_skip);
        let x_velocity = (self.qpos()[0] - x_before) / self.dt;
        (x_velocity, tick(&mut self.steps))
    }

    /// `qpos[1:]` ‖ `qvel` (clipped to ±`qvel_clip` if given), as a prefix of `obs`.
    pub fn observe(&self, qvel_clip: Option<f64>, obs: &mut [f64]) {
        let q = self.qpos()[1..].iter().copied();
        let v = self.qvel().iter().map(|&v| match qvel_clip {
            Some(c) => v.clamp(-c, c),
            None => v,
        });
        for (o, x) in obs.iter_mut().zip(q.chain(v)) {
            *o = x;
        }
    }
}

/// An f64 action as controls: clamped to `[−1, 1]`, missing or NaN components read as 0.
pub(crate) fn ctrl_f64<const NU: usize>(action: &[f64]) -> [f64; NU] {
    std::array::from_fn(|i| match action.get(i) {
        Some(a) if !a.is_nan() => a.clamp(-1.0, 1.0),
        _ => 0.0,
    })
}

/// An f32 action as controls, by the [`Env`](crate::envs::Env) rules.
pub(crate) fn ctrl_f32<const NU: usize>(action: &[f32]) -> [f64; NU] {
    std::array::from_fn(|i| action_component(action, i))
}

/// Gymnasium's `ctrl_cost_weight · np.sum(np.square(a))`; NumPy adds fewer than 8 elements left
/// to right.
pub(crate) fn ctrl_cost(weight: f64, ctrl: &[f64]) -> f64 {
    weight * ctrl.iter().fold(0.0, |s, a| s + a * a)
}
