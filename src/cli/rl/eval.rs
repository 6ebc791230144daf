//! `koopman rl eval`: replays a trained agent from a run checkpoint.
use crate::experiment::checkpoint_file;
use crate::rl::run::{self, load_checkpoint};
use crate::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// A run's checkpoint.safetensors (or its run folder).
    #[arg(long)]
    pub ckpt: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub episodes: usize,
    /// Seed of the evaluation episodes' initial states.
    #[arg(long, default_value_t = 1_000_000)]
    pub seed: u64,
    /// auto, cpu, cuda or emu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// A TD-MPC agent's planning horizon, at most its training horizon (default: the run's).
    #[arg(long)]
    pub plan_horizon: Option<usize>,
}

pub fn run(a: &EvalArgs) -> Result<()> {
    let path = checkpoint_file(&a.ckpt);
    super::super::input("--ckpt", &path)?;
    super::super::at_least_one("--episodes", a.episodes, "an evaluation needs episodes")?;
    let mut c = load_checkpoint(&path)?;
    if let Some(h) = a.plan_horizon {
        let agent = c.run.agent.clone();
        let planner = c.run.planner_mut().map_err(|_| {
            crate::Error::Invalid(format!(
                "{}: --plan-horizon applies to the TD-MPC agents; this run is agent '{agent}'",
                path.display()
            ))
        })?;
        *planner = planner.with_horizon(h);
        c.run.validate()?;
    }
    let device = super::super::device(&a.device)?;
    let (mut env, step_repeat) = run::make_env(&c.run)?;
    let step = c.progress.agent_step;
    let (mean, std) = crate::with_backend!(device, |b| {
        let mut agent = c.agent(b, a.seed)?;
        run::evaluate(
            &mut agent,
            env.as_mut(),
            c.run.action_repeat,
            step_repeat,
            a.episodes,
            step,
            a.seed,
        )?
    });
    println!(
        "{} on {} ({} env steps trained): return {mean:.1} ± {std:.1} over {} episodes",
        c.run.agent, c.run.task, c.progress.env_step, a.episodes
    );
    Ok(())
}
