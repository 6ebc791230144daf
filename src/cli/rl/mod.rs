//! `koopman rl …`: reinforcement-learning commands, one file per subcommand.
pub mod report;

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
    /// Aggregate run folders with rliable's metrics: IQM, optimality gap, mean and median with 95%
    /// stratified-bootstrap intervals, probability of improvement, performance profiles and
    /// learning curves (report.json, report.md, profile.png, curves.png).
    Report(report::ReportArgs),
}

/// Runs one `koopman rl` subcommand.
pub fn run(a: &RlArgs) -> Result<()> {
    match &a.cmd {
        RlCmd::Report(r) => report::run(r),
    }
}
