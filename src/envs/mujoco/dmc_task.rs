//! The dm_control tasks on MuJoCo as one kind: an [`Env`] with a simulation to render, and their
//! constructor by name (for `collect --pixels`).

use super::{
    DmcAcrobotSwingup, DmcBallInCupCatch, DmcCartpoleSwingup, DmcCheetahRun, DmcFingerSpin,
    DmcQuadruped, DmcWalkerWalk, QuadrupedTask, Sim,
};
use crate::envs::Env;

/// A dm_control task on MuJoCo: an [`Env`] whose simulation can be rendered
/// ([`super::Renderer`]), e.g. for pixel observations. Its `reset_into(seed, ..)` gives exactly
/// the initial state (qpos, qvel, first observation) of dm_control's first `env.reset()` of
/// `suite.load(domain, task, task_kwargs={'random': seed})`: each reset draws from a fresh
/// `np.random.RandomState(seed)` ([`crate::util::numpy_random_state::RandomState`]); seeds ≥ 2³² are
/// taken modulo 2³² (NumPy rejects them).
pub trait DmcTask: Env {
    /// The simulation (model and state).
    fn sim(&self) -> &Sim;
    /// The simulation, mutable: rendering updates MuJoCo's scene from `mjData`. Writing the state
    /// through it bypasses the task's step counter.
    fn sim_mut(&mut self) -> &mut Sim;
    /// The camera pixel-based DMC agents use (DrQ, CURL, ...): 0, except quadruped's 2.
    fn pixel_camera(&self) -> usize {
        0
    }
}

/// The dm_control tasks that implement [`DmcTask`], by [`crate::envs::make`] name.
pub fn make_dmc(name: &str) -> Result<Box<dyn DmcTask>, String> {
    match name {
        "cheetah-run" => Ok(Box::new(DmcCheetahRun::new()?)),
        "walker-walk" => Ok(Box::new(DmcWalkerWalk::new()?)),
        "quadruped-walk" => Ok(Box::new(DmcQuadruped::new(QuadrupedTask::Walk)?)),
        "quadruped-run" => Ok(Box::new(DmcQuadruped::new(QuadrupedTask::Run)?)),
        "dmc-acrobot-swingup" => Ok(Box::new(DmcAcrobotSwingup::new()?)),
        "dmc-cartpole-swingup" => Ok(Box::new(DmcCartpoleSwingup::new()?)),
        "ball_in_cup-catch" => Ok(Box::new(DmcBallInCupCatch::new()?)),
        "finger-spin" => Ok(Box::new(DmcFingerSpin::new()?)),
        _ => Err(format!(
            "{name:?} is not a dm_control task on MuJoCo (those render: cheetah-run, walker-walk, \
             quadruped-walk, quadruped-run, dmc-acrobot-swingup, dmc-cartpole-swingup, \
             ball_in_cup-catch, finger-spin)"
        )),
    }
}

/// The camera DrQ/CURL-style pixel agents use: quadruped's egocentric-ish camera 2, else camera 0.
pub fn pixel_camera_of(name: &str) -> usize {
    if name.starts_with("quadruped") {
        2
    } else {
        0
    }
}
