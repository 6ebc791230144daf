//! Built-in control tasks: pure-Rust ports of four DeepMind Control Suite tasks (no MuJoCo).
//!
//! Each task reproduces dm_control's constants, initial-state distribution, observation and
//! reward; the physics is hand-written in f64 (closed-form dynamics, MuJoCo's integrator), and
//! observations are f32. An episode is [`EPISODE_STEPS`] control steps with no action repeat;
//! repeating actions is the agent's business. Actions live in `[-1, 1]` and are clamped.
//!
//! Use [`make`] with one of [`NAMES`]; [`Env::step_into`] and [`Env::reset_into`] write into a
//! caller-owned buffer and never allocate, for high-throughput collection.

pub mod acrobot;
pub mod cartpole;
mod inertia;
mod integrate;
mod limit;
#[cfg(feature = "mujoco")]
pub mod mujoco;
mod no_termination;
pub mod pendulum;
pub mod pixels;
pub mod point_mass;
pub mod tolerance;

pub use acrobot::Acrobot;
pub use cartpole::Cartpole;
pub use no_termination::NoTermination;
pub use pendulum::Pendulum;
pub use pixels::{check_pixel_task, make_pixels, Camera, PixelEnv};
pub use point_mass::PointMass;

/// Control steps per episode (dm_control's time limit divided by the control timestep).
pub const EPISODE_STEPS: u32 = 1000;

/// Standard gravity used by every dm_control model (−9.81 ẑ).
pub(crate) const GRAVITY: f64 = 9.81;

/// Names accepted by [`make`]; `hopper`, `walker2d` and `halfcheetah` (Gymnasium Hopper-v5,
/// Walker2d-v5 and HalfCheetah-v5) and `cheetah-run`, `walker-walk`, `quadruped-walk`,
/// `quadruped-run`, `dmc-acrobot-swingup`, `dmc-cartpole-swingup`, `ball_in_cup-catch`,
/// `finger-spin` (dm_control on MuJoCo; the `dmc-` prefix tells them from the pure-Rust ports)
/// only with the `mujoco` feature.
pub const NAMES: &[&str] = &[
    "pendulum-swingup",
    "acrobot-swingup",
    "cartpole-swingup",
    "point_mass-easy",
    #[cfg(feature = "mujoco")]
    "hopper",
    #[cfg(feature = "mujoco")]
    "walker2d",
    #[cfg(feature = "mujoco")]
    "halfcheetah",
    #[cfg(feature = "mujoco")]
    "cheetah-run",
    #[cfg(feature = "mujoco")]
    "walker-walk",
    #[cfg(feature = "mujoco")]
    "quadruped-walk",
    #[cfg(feature = "mujoco")]
    "quadruped-run",
    #[cfg(feature = "mujoco")]
    "dmc-acrobot-swingup",
    #[cfg(feature = "mujoco")]
    "dmc-cartpole-swingup",
    #[cfg(feature = "mujoco")]
    "ball_in_cup-catch",
    #[cfg(feature = "mujoco")]
    "finger-spin",
];

/// Observation and action sizes of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    pub obs_dim: usize,
    pub act_dim: usize,
}

/// Result of one control step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub obs: Vec<f32>,
    pub reward: f32,
    /// The task reached a terminal state (never, for these tasks: they only time out).
    pub terminated: bool,
    /// The episode hit its step limit.
    pub truncated: bool,
}

/// A control task with continuous actions in `[-1, 1]`.
///
/// Buffer rules for the `_into` methods: `obs` should have length `spec().obs_dim`; a shorter
/// buffer receives a prefix of the observation, a longer one keeps its tail. A shorter action
/// slice reads missing components as 0, extra components are ignored, and NaN counts as 0.
/// Stepping past the step limit keeps simulating and keeps reporting `truncated`.
pub trait Env: Send {
    /// The registry name, e.g. `"cartpole-swingup"`.
    fn name(&self) -> &'static str;
    fn spec(&self) -> Spec;
    /// Starts a new episode from the initial-state distribution drawn with `seed` and writes the
    /// first observation.
    fn reset_into(&mut self, seed: u64, obs: &mut [f32]);
    /// Applies `action` for one control step, writes the next observation, and returns
    /// `(reward, terminated, truncated)`.
    fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool);
    /// A failure since the last call that the infallible steps could not return (a pixel task's
    /// camera); callers check it after each step.
    fn take_error(&mut self) -> Option<String> {
        None
    }

    /// Allocating form of [`Env::reset_into`].
    fn reset(&mut self, seed: u64) -> Vec<f32> {
        let mut obs = vec![0.0; self.spec().obs_dim];
        self.reset_into(seed, &mut obs);
        obs
    }

    /// Allocating form of [`Env::step_into`].
    fn step(&mut self, action: &[f32]) -> Step {
        let mut obs = vec![0.0; self.spec().obs_dim];
        let (reward, terminated, truncated) = self.step_into(action, &mut obs);
        Step {
            obs,
            reward,
            terminated,
            truncated,
        }
    }
}

/// Builds a task by name; the error lists the known names.
pub fn make(name: &str) -> Result<Box<dyn Env>, String> {
    match name {
        "pendulum-swingup" => Ok(Box::new(Pendulum::new())),
        "acrobot-swingup" => Ok(Box::new(Acrobot::new())),
        "cartpole-swingup" => Ok(Box::new(Cartpole::new())),
        "point_mass-easy" => Ok(Box::new(PointMass::new())),
        #[cfg(feature = "mujoco")]
        "hopper" => Ok(Box::new(mujoco::Hopper::new()?)),
        #[cfg(feature = "mujoco")]
        "walker2d" => Ok(Box::new(mujoco::Walker2d::new()?)),
        #[cfg(feature = "mujoco")]
        "halfcheetah" => Ok(Box::new(mujoco::HalfCheetah::new()?)),
        #[cfg(feature = "mujoco")]
        "cheetah-run" => Ok(Box::new(mujoco::DmcCheetahRun::new()?)),
        #[cfg(feature = "mujoco")]
        "walker-walk" => Ok(Box::new(mujoco::DmcWalkerWalk::new()?)),
        #[cfg(feature = "mujoco")]
        "quadruped-walk" => Ok(Box::new(mujoco::DmcQuadruped::new(
            mujoco::QuadrupedTask::Walk,
        )?)),
        #[cfg(feature = "mujoco")]
        "quadruped-run" => Ok(Box::new(mujoco::DmcQuadruped::new(
            mujoco::QuadrupedTask::Run,
        )?)),
        #[cfg(feature = "mujoco")]
        "dmc-acrobot-swingup" => Ok(Box::new(mujoco::DmcAcrobotSwingup::new()?)),
        #[cfg(feature = "mujoco")]
        "dmc-cartpole-swingup" => Ok(Box::new(mujoco::DmcCartpoleSwingup::new()?)),
        #[cfg(feature = "mujoco")]
        "ball_in_cup-catch" => Ok(Box::new(mujoco::DmcBallInCupCatch::new()?)),
        #[cfg(feature = "mujoco")]
        "finger-spin" => Ok(Box::new(mujoco::DmcFingerSpin::new()?)),
        _ => Err(format!(
            "unknown environment {name:?}; known: {}",
            NAMES.join(", ")
        )),
    }
}

/// Component `i` of an action, clamped to `[-1, 1]` (MuJoCo's `ctrlrange`); missing or NaN
/// components read as 0.
#[inline]
pub(crate) fn action_component(action: &[f32], i: usize) -> f64 {
    match action.get(i) {
        Some(a) if !a.is_nan() => f64::from(a.clamp(-1.0, 1.0)),
        _ => 0.0,
    }
}

/// Writes as much of `values` as fits into `obs`, narrowing to f32.
#[inline]
pub(crate) fn write_obs(obs: &mut [f32], values: &[f64]) {
    for (o, v) in obs.iter_mut().zip(values) {
        *o = *v as f32;
    }
}

/// Advances an episode step counter and reports truncation.
#[inline]
pub(crate) fn tick(steps: &mut u32) -> bool {
    *steps = steps.saturating_add(1);
    *steps >= EPISODE_STEPS
}
