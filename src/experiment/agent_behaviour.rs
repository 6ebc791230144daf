//! A trained RL agent as a data-collection behaviour (`koopman collect --policy <run checkpoint>`):
//! how the project makes expert / medium datasets of its own. The agent plans every `action_repeat`
//! env steps (as it was trained) without exploration noise; the held action gets independent
//! N(0, σ²) noise at every env step, clipped to [−1, 1].
use super::collect::Behaviour;
use crate::backend::Cpu;
use crate::planner::PlanStep;
use crate::rl::run::{load_checkpoint, Learner};
use crate::util::rng::Rng;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

pub struct AgentBehaviour {
    agent: Learner<Cpu>,
    repeat: usize,
    /// The planner's schedules read the step count the agent was trained to.
    step: u64,
    noise: f64,
    rng: Rng,
    held: Vec<f32>,
    /// The checkpoint's task and agent names.
    pub task: String,
    pub agent_name: String,
    /// Env steps the agent was trained for.
    pub trained_env_steps: u64,
}

/// A run folder or its checkpoint file.
pub fn checkpoint_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("checkpoint.safetensors")
    } else {
        path.to_path_buf()
    }
}

impl AgentBehaviour {
    /// Loads the agent of the run checkpoint at `path` (a file or its run folder) on the CPU;
    /// `seed` seeds the planner's sampling and the action noise σ = `noise`.
    pub fn load(path: &Path, noise: f64, seed: u64) -> Result<Self> {
        if !(noise.is_finite() && noise >= 0.0) {
            return Err(Error::Invalid(format!(
                "--noise {noise}: σ must be a finite number ≥ 0 (e.g. 0.1)"
            )));
        }
        let file = checkpoint_file(path);
        let c = load_checkpoint(&file)?;
        if c.run.pixels() {
            return Err(Error::Invalid(format!(
                "{}: agent '{}' learned from pixels; --policy drives the task from its state \
                 observations, so it takes an agent trained on states",
                file.display(),
                c.run.agent
            )));
        }
        Ok(AgentBehaviour {
            agent: c.agent(Cpu::default(), seed)?,
            repeat: c.run.action_repeat,
            step: c.progress.agent_step,
            noise,
            rng: Rng::new(seed ^ 0x006e_6f69_7365),
            held: Vec::new(),
            task: c.run.task.clone(),
            agent_name: c.run.agent.clone(),
            trained_env_steps: c.progress.env_step,
        })
    }
}

impl Behaviour for AgentBehaviour {
    fn begin_episode(&mut self) -> Result<()> {
        Ok(())
    }
    fn act(&mut self, obs: &[f32], t: usize, a: &mut [f32]) -> Result<()> {
        if t.is_multiple_of(self.repeat) {
            let at = PlanStep {
                step: self.step,
                episode_start: t == 0,
                explore: false,
            };
            self.held = self.agent.act(obs, at)?;
        }
        if self.held.len() != a.len() {
            return Err(Error::Invalid(format!(
                "the agent acts with {} action dimensions and the environment takes {}",
                self.held.len(),
                a.len()
            )));
        }
        for (ai, &h) in a.iter_mut().zip(&self.held) {
            let n = if self.noise > 0.0 {
                self.noise * self.rng.normal()
            } else {
                0.0
            };
            *ai = (h as f64 + n).clamp(-1.0, 1.0) as f32;
        }
        Ok(())
    }
}
