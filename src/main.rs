use clap::{Parser, Subcommand};
use koopman::cli;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "koopman",
    version,
    about = "Koopman latent dynamics models for RL and planning"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// The paper's long-horizon comparison in miniature on a built-in environment (the default).
    Demo(cli::demo::DemoArgs),
    /// Roll out a behaviour policy in a built-in environment into a D4RL-layout .npz.
    Collect(cli::collect::CollectArgs),
    /// D4RL-layout datasets one after another (medium + expert = medium-expert) in a new .npz.
    Concat(cli::concat::ConcatArgs),
    /// Train one model on a dataset and write a checkpoint.
    Train(cli::train::TrainArgs),
    /// Open-loop evaluation of a checkpoint on the test episodes.
    Eval(cli::eval::EvalArgs),
    /// Train and evaluate the four models over seeds; the paper's Table 1/2 layout.
    Compare(cli::compare::CompareArgs),
    /// Learned eigenvalues and Δt of a Koopman checkpoint.
    Inspect(cli::inspect::InspectArgs),
    /// Train a Koopman model on a synthetic oscillator with known eigenvalues and recover them.
    Oscillator {
        #[arg(long, default_value_t = 1500)]
        steps: u64,
        #[arg(long, default_value_t = 20)]
        horizon: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// Measure training iterations/s of the four models (paper Table 3), or planner rollout latency.
    Bench(koopman::cli::bench::BenchArgs),
    /// Train, evaluate and report reinforcement-learning agents (TD-MPC, Koopman TD-MPC, SAC,
    /// SAC + SPR, Koopman SPR).
    Rl(cli::rl::RlArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd.unwrap_or(Cmd::Demo(cli::demo::DemoArgs::default())) {
        Cmd::Demo(a) => cli::demo::run(&a),
        Cmd::Collect(a) => cli::collect::run(&a),
        Cmd::Concat(a) => cli::concat::run(&a),
        Cmd::Train(a) => cli::train::run(&a),
        Cmd::Eval(a) => cli::eval::run(&a),
        Cmd::Compare(a) => cli::compare::run(&a),
        Cmd::Inspect(a) => cli::inspect::run(&a),
        Cmd::Oscillator {
            steps,
            horizon,
            seed,
            device,
        } => cli::device(&device)
            .and_then(|d| cli::oscillator::run(steps, horizon, seed, true, d))
            .map(|_| ()),
        Cmd::Bench(args) => cli::bench::run(&args),
        Cmd::Rl(a) => cli::rl::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
