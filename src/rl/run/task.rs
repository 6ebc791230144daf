//! Per-task settings of the RL runner: TD-MPC's action repeats (`cfgs/tasks/*.yaml`) and the
//! agent-step episode length they give.
use crate::envs::EPISODE_STEPS;

/// TD-MPC's action repeat: 8 for cartpole; 2 for walker, finger, humanoid and dog; 4 otherwise.
/// Gymnasium's locomotion tasks (hopper, walker2d, halfcheetah) are stepped without repeat.
pub fn action_repeat(task: &str) -> usize {
    let t = task.strip_prefix("dmc-").unwrap_or(task);
    if t.starts_with("cartpole") {
        8
    } else if ["walker-", "finger-", "humanoid-", "dog-"]
        .iter()
        .any(|p| t.starts_with(p))
    {
        2
    } else if ["hopper", "walker2d", "halfcheetah"].contains(&t) {
        1
    } else {
        4
    }
}

/// Agent steps in an episode of `EPISODE_STEPS` env steps at `repeat` (the last one may be short).
pub fn episode_agent_steps(repeat: usize) -> usize {
    (EPISODE_STEPS as usize).div_ceil(repeat.max(1))
}
