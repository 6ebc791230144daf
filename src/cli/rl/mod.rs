//! `koopman rl`: train and evaluate TD-MPC-style agents.
pub mod eval;
pub mod train;

use crate::Result;

#[derive(clap::Args, Debug)]
pub struct RlArgs {
    #[command(subcommand)]
    pub cmd: RlCmd,
}

#[derive(clap::Subcommand, Debug)]
pub enum RlCmd {
    /// Train TD-MPC or Koopman TD-MPC on a task.
    Train(train::TrainArgs),
    /// Replay a trained agent from its checkpoint (noise-free episodes).
    Eval(eval::EvalArgs),
}

pub fn run(a: &RlArgs) -> Result<()> {
    match &a.cmd {
        RlCmd::Train(t) => train::run(t),
        RlCmd::Eval(e) => eval::run(e),
    }
}
