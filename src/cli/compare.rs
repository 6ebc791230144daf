//! `koopman compare`: trains and evaluates the four models with matched parameter counts over
//! several seeds and prints the paper's Table 1/2 layout (mean ± std over seeds), plus JSON.
use super::curves::{plot_curves, Metric};
use super::eval::evaluate_checkpoint;
use super::koopman_flags::KoopmanFlags;
use super::train::{default_horizon, preset};
use crate::data;
use crate::experiment::{train, EvalResult, TrainOptions, TrainSummary};
use crate::models::ModelKind;
use crate::{Error, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    #[arg(long)]
    pub data: PathBuf,
    /// Comma-separated model names.
    #[arg(long, default_value = "mlp,transformer,gru,koopman")]
    pub models: String,
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// The first seed: runs seeds first-seed .. first-seed + seeds (to split seeds across
    /// machines, or to add seeds to an earlier run)
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Training horizon for every model except the MLP (which trains at 10, as in the paper).
    #[arg(long, default_value_t = 100)]
    pub horizon: usize,
    #[arg(long, default_value_t = 100)]
    pub eval_horizon: usize,
    #[arg(long, default_value_t = 50000)]
    pub windows: usize,
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// Folder for checkpoints, per-step curves and the plot.
    #[arg(long, default_value = "runs/compare")]
    pub out_dir: PathBuf,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// The Koopman model's settings (the baselines keep the preset's sizes).
    #[command(flatten)]
    pub koopman: KoopmanFlags,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ModelRow {
    pub model: String,
    pub parameters: usize,
    pub train_horizon: usize,
    pub state_mse: Vec<f64>,
    pub reward_mse: Vec<f64>,
    pub train: Vec<TrainSummary>,
    /// Per-step state MSE averaged over seeds.
    pub state_mse_per_step: Vec<f64>,
    /// Per-step reward MSE averaged over seeds.
    pub reward_mse_per_step: Vec<f64>,
}

pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

/// Trains and evaluates every model for every seed.
pub fn compare(a: &CompareArgs, progress: bool) -> Result<Vec<ModelRow>> {
    let device = super::device(&a.device)?;
    let kinds: Vec<ModelKind> = a
        .models
        .split(',')
        .map(|s| ModelKind::parse(s.trim()))
        .collect::<Result<_>>()?;
    a.koopman.check()?;
    if a.seeds == 0 {
        return Err(Error::Invalid("--seeds must be at least 1".into()));
    }
    super::at_least_one(
        "--horizon",
        a.horizon,
        "a window needs at least one step to predict",
    )?;
    super::at_least_one(
        "--eval-horizon",
        a.eval_horizon,
        "a window needs at least one step to predict",
    )?;
    super::at_least_one("--windows", a.windows, "the error is a mean over windows")?;
    super::at_least_one("--batch", a.batch, "a batch needs at least one window")?;
    if !(a.lr.is_finite() && a.lr > 0.0 && a.lr <= crate::experiment::MAX_LR) {
        return Err(Error::Invalid(format!(
            "--lr {}: the learning rate must be a finite number in (0, {}] (e.g. 1e-3)",
            a.lr,
            crate::experiment::MAX_LR
        )));
    }
    super::input("--data", &a.data)?;
    super::output_dir("--out-dir", &a.out_dir)?;
    if let Some(j) = &a.json {
        super::output("--json", j, &[&a.data])?;
    }
    let ds = data::load_states(&a.data)?;
    let source = a.data.display().to_string();
    let mut rows = Vec::new();
    for kind in kinds {
        let horizon = if kind == ModelKind::Mlp {
            default_horizon(kind)
        } else {
            a.horizon
        };
        let mut config = preset(kind, &a.preset, ds.obs_dim, ds.act_dim)?;
        if kind == ModelKind::Koopman {
            config = a.koopman.apply(config)?;
        }
        let mut row = ModelRow {
            model: kind.name().into(),
            parameters: config.build(0)?.params().count(),
            train_horizon: horizon,
            state_mse: vec![],
            reward_mse: vec![],
            train: vec![],
            state_mse_per_step: vec![0.0; a.eval_horizon],
            reward_mse_per_step: vec![0.0; a.eval_horizon],
        };
        for seed in a.first_seed..a.first_seed.saturating_add(a.seeds) {
            let ckpt = a
                .out_dir
                .join(format!("{}-seed{seed}.safetensors", kind.name()));
            let opts = TrainOptions {
                source: source.clone(),
                config: config.clone(),
                horizon,
                steps: a.steps,
                batch: a.batch,
                seed,
                split_seed: 0,
                out: ckpt.clone(),
                resume: false,
                lr: a.lr,
                val_every: a.steps.max(1),
                ckpt_every: a.steps.max(1),
                device,
                progress,
            };
            let s = train(&opts, &ds)?;
            let r: EvalResult =
                evaluate_checkpoint(&ds, &source, &ckpt, a.eval_horizon, a.windows, 1000 + seed)?;
            println!(
                "{:<12} seed {seed}: {:.1} it/s, state MSE {:.4}, reward MSE {:.4}",
                kind.name(),
                s.iters_per_sec,
                r.state_mse,
                r.reward_mse
            );
            row.state_mse.push(r.state_mse);
            row.reward_mse.push(r.reward_mse);
            row.train.push(s);
            for (acc, v) in row.state_mse_per_step.iter_mut().zip(&r.state_mse_per_step) {
                *acc += v / a.seeds as f64;
            }
            for (acc, v) in row
                .reward_mse_per_step
                .iter_mut()
                .zip(&r.reward_mse_per_step)
            {
                *acc += v / a.seeds as f64;
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// "mean ± std" over several seeds; the value alone for one (a spread of one run means nothing).
fn cell(mean: f64, std: f64, runs: usize) -> String {
    if runs > 1 {
        format!("{mean:.4} ± {std:.4}")
    } else {
        format!("{mean:.4}")
    }
}

/// The comparison table in the paper's layout.
pub fn table(rows: &[ModelRow], eval_horizon: usize) -> String {
    let mut s = format!(
        "{:<12} {:>10} {:>8} {:>22} {:>22}\n",
        "model",
        "params",
        "train T",
        format!("state MSE @{eval_horizon}"),
        format!("reward MSE @{eval_horizon}")
    );
    for r in rows {
        let (sm, ss) = mean_std(&r.state_mse);
        let (rm, rs) = mean_std(&r.reward_mse);
        s += &format!(
            "{:<12} {:>10} {:>8} {:>22} {:>22}\n",
            r.model,
            r.parameters,
            r.train_horizon,
            cell(sm, ss, r.state_mse.len()),
            cell(rm, rs, r.reward_mse.len())
        );
    }
    s
}

/// Writes the state and reward per-step curves of every model into `dir` as PNG and SVG; returns
/// the paths written.
pub fn plot_rows(dir: &Path, rows: &[ModelRow]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for metric in [Metric::State, Metric::Reward] {
        let curves: Vec<(&str, &[f64])> = rows
            .iter()
            .map(|r| {
                let c = match metric {
                    Metric::State => &r.state_mse_per_step,
                    Metric::Reward => &r.reward_mse_per_step,
                };
                (r.model.as_str(), c.as_slice())
            })
            .collect();
        for ext in ["png", "svg"] {
            let p = dir.join(format!("{}_error_per_step.{ext}", metric.name()));
            plot_curves(&p, metric, &curves)?;
            written.push(p);
        }
    }
    Ok(written)
}

pub fn run(a: &CompareArgs) -> Result<()> {
    let rows = compare(a, true)?;
    println!("\n{}", table(&rows, a.eval_horizon));
    let written = plot_rows(&a.out_dir, &rows)?;
    println!(
        "per-step error curves: {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(j) = &a.json {
        super::write_json(j, &rows)?;
    }
    Ok(())
}
