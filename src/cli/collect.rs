//! `koopman collect`: roll out a behaviour policy in a built-in environment and save the episodes as
//! a D4RL-layout `.npz`.
use crate::data::npz;
use crate::experiment::{collect, Policy};
use crate::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct CollectArgs {
    /// Environment: pendulum-swingup, acrobot-swingup, cartpole-swingup, point_mass-easy; with the
    /// `mujoco` feature also hopper, walker2d, halfcheetah, cheetah-run, walker-walk,
    /// quadruped-walk, quadruped-run, dmc-acrobot-swingup, dmc-cartpole-swingup.
    #[arg(long)]
    pub env: String,
    /// Behaviour policy: random, ou, sine.
    #[arg(long, default_value = "ou")]
    pub policy: String,
    #[arg(long, default_value_t = 50)]
    pub episodes: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

pub fn run(a: &CollectArgs) -> Result<()> {
    super::cpu_only(&a.device, "collect")?;
    let policy = Policy::parse(&a.policy)?;
    let t0 = Instant::now();
    let ds = collect(&a.env, policy, a.episodes, a.seed)?;
    let secs = t0.elapsed().as_secs_f64();
    npz::write(&a.out, &ds)?;
    println!(
        "collected {} transitions ({} episodes of {}, policy {}) in {:.2}s ({:.0} steps/s) -> {}",
        ds.len(),
        a.episodes,
        a.env,
        a.policy,
        secs,
        ds.len() as f64 / secs.max(1e-9),
        a.out.display()
    );
    Ok(())
}
