//! `koopman eval`: the paper's open-loop protocol on the test episodes; prints state and reward MSE,
//! writes the per-step error curve as CSV and PNG, and optionally JSON.
use crate::checkpoint;
use crate::data;
use crate::experiment::{evaluate, normalizer_from_json, EvalResult};
use crate::{Error, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub ckpt: PathBuf,
    #[arg(long, default_value_t = 100)]
    pub horizon: usize,
    #[arg(long, default_value_t = 50000)]
    pub windows: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the result as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Prefix of the per-step error curve files (PREFIX.csv, PREFIX.png); default: next to the checkpoint.
    #[arg(long)]
    pub curve: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Loads a checkpoint and evaluates it on the test split of `data` (split seed as in training).
pub fn evaluate_checkpoint(
    data_path: &Path,
    ckpt: &Path,
    horizon: usize,
    windows: usize,
    seed: u64,
) -> Result<EvalResult> {
    let loaded = checkpoint::load(ckpt)?;
    let norm = normalizer_from_json(&loaded.meta.normalization, &ckpt.display().to_string())?;
    let ds = data::load_states(data_path)?;
    let source = data_path.display().to_string();
    if ds.obs_dim != loaded.model.obs_dim() || ds.act_dim != loaded.model.act_dim() {
        return Err(Error::Shape(format!(
            "{source}: observations/actions have {}/{} dims, the checkpoint {} expects {}/{}",
            ds.obs_dim,
            ds.act_dim,
            ckpt.display(),
            loaded.model.obs_dim(),
            loaded.model.act_dim()
        )));
    }
    if windows == 0 {
        return Err(Error::Invalid("--windows must be at least 1".into()));
    }
    let split_seed = loaded
        .meta
        .training
        .get("split_seed")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let split = data::train_test_split(&ds, split_seed);
    evaluate(
        loaded.model.as_ref(),
        &norm,
        &ds,
        &split.test,
        horizon,
        windows,
        seed,
        &source,
    )
}

/// CSV of the per-step curve: step, state_mse, reward_mse.
pub fn write_curve_csv(path: &Path, r: &EvalResult) -> Result<()> {
    let mut s = String::from("step,state_mse,reward_mse\n");
    for (k, (a, b)) in r
        .state_mse_per_step
        .iter()
        .zip(&r.reward_mse_per_step)
        .enumerate()
    {
        s += &format!("{},{a},{b}\n", k + 1);
    }
    crate::util::atomic::write_bytes(path, s.as_bytes()).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}

pub fn run(a: &EvalArgs) -> Result<()> {
    super::cpu_only(&a.device, "eval")?;
    let r = evaluate_checkpoint(&a.data, &a.ckpt, a.horizon, a.windows, a.seed)?;
    println!(
        "{} windows of {} steps from the test episodes (normalised units): state MSE {:.5}, reward MSE {:.5}",
        r.windows, r.horizon, r.state_mse, r.reward_mse
    );
    let prefix = a
        .curve
        .clone()
        .unwrap_or_else(|| a.ckpt.with_extension("eval"));
    let with_suffix = |ext: &str| PathBuf::from(format!("{}.{ext}", prefix.display()));
    let csv = with_suffix("csv");
    write_curve_csv(&csv, &r)?;
    let png = with_suffix("png");
    super::compare::plot_curves(&png, &[("model", &r.state_mse_per_step)])?;
    println!(
        "per-step error curve: {} and {}",
        csv.display(),
        png.display()
    );
    if let Some(j) = &a.json {
        super::write_json(j, &r)?;
    }
    Ok(())
}
