//! A run's replay buffer as a D4RL-layout dataset (`koopman rl export`): the "full replay" data of
//! the paper's §4.1, made from the project's own agents.
use super::task::episode_agent_steps;
use super::RunConfig;
use crate::data::Dataset;
use crate::envs;
use crate::rl::{ReplayBuffer, ReplayConfig, ReplaySnapshot, Sampling};
use crate::{Error, Result};

/// Every episode in a run's replay buffer (a checkpoint's `run` and `replay`), oldest first, one
/// row per agent step (with action repeat k, a row spans k env steps and its reward is their sum,
/// as the agent saw it).
pub fn replay_dataset(run: &RunConfig, replay: ReplaySnapshot) -> Result<Dataset> {
    if run.pixels() {
        return Err(Error::Invalid(format!(
            "rl export: the run of '{}' on '{}' learned from pixels; the D4RL layout holds state \
             observations, so only a state-based run exports",
            run.agent, run.task
        )));
    }
    let env = envs::make(&run.task).map_err(Error::Invalid)?;
    let spec = env.spec();
    let cfg = ReplayConfig {
        capacity: replay.rewards.len(),
        obs_dim: spec.obs_dim,
        act_dim: spec.act_dim,
        horizon: run.horizon()?,
        sampling: if run.prioritized {
            Sampling::TDMPC_PER
        } else {
            Sampling::Uniform
        },
        seed: 0,
        pixels: false,
    };
    let buffer = ReplayBuffer::from_snapshot(cfg, replay)?;
    let ds = buffer.to_dataset(episode_agent_steps(run.action_repeat));
    if ds.is_empty() {
        return Err(Error::Invalid(
            "the replay buffer holds no episode yet (the run stopped before its first ended)"
                .into(),
        ));
    }
    Ok(ds)
}
