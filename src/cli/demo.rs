//! `koopman demo`, the README's main command: the paper's long-horizon experiment (§4.1) in
//! miniature on a built-in environment. Collects data, trains the Koopman model and the three
//! baselines (small matched configurations), evaluates 100-step open-loop prediction on held-out
//! episodes and prints the comparison table. About five minutes on two CPU cores.
use super::compare::{compare, mean_std, table, CompareArgs, ModelRow};
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
        first_seed: 0,
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
    for line in ranking(&rows) {
        println!("{line}");
    }
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

/// The measured ranking beside the paper's, and where the Koopman model leads or trails by step
/// (computed from `rows`, so the text always matches the table above it).
pub fn ranking(rows: &[ModelRow]) -> Vec<String> {
    let mean = |r: &ModelRow| mean_std(&r.state_mse).0;
    let mut order: Vec<&ModelRow> = rows.iter().collect();
    order.sort_by(|a, b| mean(a).total_cmp(&mean(b)));
    let mut lines = vec![
        format!(
            "ranking by 100-step state MSE: {}",
            order
                .iter()
                .map(|r| format!("{} {:.3}", r.model, mean(r)))
                .collect::<Vec<_>>()
                .join(" < ")
        ),
        "the paper (Table 1, D4RL, m = 512): Koopman ≈ GRU < Transformer ≪ MLP".into(),
    ];
    let find = |name: &str| rows.iter().find(|r| r.model == name);
    let (Some(k), Some(g), Some(t)) = (find("koopman"), find("gru"), find("transformer")) else {
        return lines;
    };
    if mean(k) <= 1.1 * mean(g) && mean(k) < mean(t) {
        lines.push("this run shows the paper's ranking".into());
        return lines;
    }
    // Steps (1-based) at which the Koopman model's error is the lowest of all models.
    let best_at = |step: usize| {
        rows.iter()
            .all(|r| k.state_mse_per_step[step] <= r.state_mse_per_step[step])
    };
    let n = k.state_mse_per_step.len();
    let leads = (0..n).filter(|&s| best_at(s)).count();
    let lead_until = (0..n).take_while(|&s| best_at(s)).count();
    lines.push(format!(
        "this run differs from the paper's ranking: the Koopman model's state error is the lowest \
         of the four for {leads} of the {n} steps{}, and another model's is lower at the \
         other steps. The demo trains ~35k-parameter models for 600 steps of batch 64 on \
         random-policy cartpole data; at the paper's size (m = 512, ~1.2M parameters) on \
         OU-policy Hopper, Walker2d and HalfCheetah data the paper's ranking holds, and on \
         data from the project's trained SAC agents the GRU or the Transformer leads: \
         EXPERIMENTS.md (\"The paper's accuracy ranking\") has those measurements",
        if lead_until > 0 {
            format!(" (steps 1-{lead_until} among them)")
        } else {
            String::new()
        }
    ));
    lines
}
