use clap::{Parser, Subcommand};
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
    /// Train a Koopman model on a synthetic controlled oscillator with known eigenvalues (the default).
    Oscillator {
        #[arg(long, default_value_t = 1500)]
        steps: u64,
        #[arg(long, default_value_t = 20)]
        horizon: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Measure training iterations/s of the four models (paper Table 3), or planner rollout latency.
    Bench(koopman::cli::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd.unwrap_or(Cmd::Oscillator {
        steps: 1500,
        horizon: 20,
        seed: 0,
    }) {
        Cmd::Oscillator {
            steps,
            horizon,
            seed,
        } => koopman::cli::oscillator::run(steps, horizon, seed, true).map(|_| ()),
        Cmd::Bench(args) => koopman::cli::bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
