//! `koopman rl …`: reinforcement-learning commands, one file per subcommand.
pub mod eval;
pub mod export;
pub mod report;
pub mod train;

use crate::Result;

/// Arguments of `koopman rl`.
#[derive(clap::Args, Debug, Clone)]
pub struct RlArgs {
    #[command(subcommand)]
    pub cmd: RlCmd,
}

/// The `koopman rl` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum RlCmd {
    /// Train an agent (TD-MPC, Koopman TD-MPC, SAC, SAC + SPR or Koopman SPR) on a task: curves
    /// (CSV, PNG), run.json, checkpoints.
    Train(Box<train::TrainArgs>),
    /// Replay a trained agent from its checkpoint (noise-free episodes).
    Eval(eval::EvalArgs),
    /// Aggregate RL run folders with rliable's metrics and 95% bootstrap intervals.
    ///
    /// IQM, optimality gap, mean and median with stratified-bootstrap percentile intervals, the
    /// probability of improvement between agents, performance profiles and IQM learning curves;
    /// writes report.json, report.md, profile.png and curves.png.
    Report(report::ReportArgs),
    /// Write a run's whole replay buffer as a D4RL-layout .npz (one row per agent step).
    Export(export::ExportArgs),
}

/// Runs one `koopman rl` subcommand.
pub fn run(a: &RlArgs) -> Result<()> {
    match &a.cmd {
        RlCmd::Train(t) => train::run(t),
        RlCmd::Eval(e) => eval::run(e),
        RlCmd::Report(r) => report::run(r),
        RlCmd::Export(x) => export::run(x),
    }
}
