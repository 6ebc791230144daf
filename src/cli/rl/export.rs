//! `koopman rl export`: a run's whole replay buffer as a D4RL-layout `.npz` (a "full replay"
//! dataset for `koopman train` / `compare`).
use crate::data::npz;
use crate::experiment::checkpoint_file;
use crate::rl::run::{load_checkpoint, replay_dataset, RunCheckpoint};
use crate::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// A run's checkpoint.safetensors (or its run folder).
    #[arg(long)]
    pub ckpt: PathBuf,
    /// The dataset to write (.npz, D4RL layout).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: &ExportArgs) -> Result<()> {
    let path = checkpoint_file(&a.ckpt);
    super::super::input("--ckpt", &path)?;
    super::super::output("--out", &a.out, &[&path])?;
    let RunCheckpoint { run, replay, .. } = load_checkpoint(&path)?;
    let ds = replay_dataset(&run, replay).map_err(|e| e.context(path.display()))?;
    npz::write(&a.out, &ds)?;
    let episodes = ds
        .terminals
        .iter()
        .zip(&ds.timeouts)
        .filter(|(t, o)| **t || **o)
        .count();
    println!(
        "exported {} transitions ({episodes} episodes, one row per agent step, action repeat {}) \
         of {} on {} -> {}",
        ds.len(),
        run.action_repeat,
        run.agent,
        run.task,
        a.out.display()
    );
    Ok(())
}
