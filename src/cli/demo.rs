//! `koopman demo`, the README's main command: the paper's long-horizon experiment (§4.1) in
//! miniature on a built-in environment. Collects data, trains the Koopman model and the three
//! baselines (small matched configurations), evaluates 100-step open-loop prediction on held-out
//! episodes and prints the comparison table. About five minutes on two CPU cores.
use super::compare::{compare, table, CompareArgs};
use crate::backend::Device;
use crate::data::npz;
use crate::experiment::{collect_each, env_dims, Policy};
use crate::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[arg(long, default_value = "cartpole-swingup")]
    pub env: String,
    #[arg(long, default_value_t = 40)]
    pub episodes: usize,
    #[arg(long, default_value_t = 600)]
    pub steps: u64,
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    #[arg(long, default_value_t = 2000)]
    pub windows: usize,
    #[arg(long, default_value = "runs/demo")]
    pub out_dir: PathBuf,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

impl Default for DemoArgs {
    fn default() -> Self {
        DemoArgs {
            env: "cartpole-swingup".into(),
            episodes: 40,
            steps: 600,
            seeds: 1,
            windows: 2000,
            out_dir: "runs/demo".into(),
            device: "auto".into(),
        }
    }
}

pub fn run(a: &DemoArgs) -> Result<()> {
    // The device is resolved (and reported) by `compare`, which does the training.
    Device::select(&a.device)?;
    std::fs::create_dir_all(&a.out_dir).map_err(|e| crate::Error::Io {
        path: a.out_dir.display().to_string(),
        source: e,
    })?;
    let data = a.out_dir.join(format!("{}.npz", a.env));
    super::at_least_one("--episodes", a.episodes, "there is nothing to train on")?;
    let (od, ad) = env_dims(&a.env)?;
    super::output("--out-dir", &data, &[])?;
    // The comparison holds the whole dataset in memory: refuse one this machine cannot hold.
    let rows = (a.episodes as u64).checked_mul(u64::from(crate::envs::EPISODE_STEPS));
    let bytes = rows.and_then(|r| r.checked_mul((2 * od + ad + 3) as u64 * 4));
    crate::util::files::check_memory(&format!("--episodes {}", a.episodes), bytes)
        .map_err(|m| crate::Error::Invalid(format!("{m}; use fewer --episodes")))?;
    let mut w = npz::EpisodeWriter::new(&data, od, ad)?;
    collect_each(&a.env, Policy::Ou, a.episodes, 0, |ep| Ok(w.push(&ep)?))?;
    let rows = w.rows();
    w.finish()?;
    println!(
        "collected {} transitions from {} ({} episodes, OU policy) -> {}",
        rows,
        a.env,
        a.episodes,
        data.display()
    );
    let args = CompareArgs {
        data,
        models: "mlp,transformer,gru,koopman".into(),
        seeds: a.seeds,
        steps: a.steps,
        batch: 64,
        lr: 1e-3,
        horizon: 100,
        eval_horizon: 100,
        windows: a.windows,
        preset: "small".into(),
        out_dir: a.out_dir.clone(),
        json: Some(a.out_dir.join("demo.json")),
        device: a.device.clone(),
        koopman: Default::default(),
    };
    let rows = compare(&args, false)?;
    println!(
        "\n100-step open-loop prediction on held-out episodes (normalised units{}):",
        if a.seeds > 1 {
            "; mean ± std over seeds"
        } else {
            "; one seed"
        }
    );
    println!("{}", table(&rows, 100));
    super::write_json(args.json.as_ref().unwrap(), &rows)?;
    let written = super::compare::plot_rows(&a.out_dir, &rows)?;
    println!(
        "per-step error curves (state and reward, per model): {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
