//! `koopman eval`: the paper's open-loop protocol on the test episodes; prints state and reward MSE,
//! and, where asked, writes the per-step error curve as CSV and PNG (`--curve`) and JSON (`--json`).
use crate::checkpoint;
use crate::data::{self, Dataset};
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
    /// Also write the per-step error curve as PREFIX.csv and PREFIX.png (nothing else is written
    /// unless asked).
    #[arg(long)]
    pub curve: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// Loads a checkpoint and evaluates it on the test split of `ds` (loaded from `source`; split seed
/// as in training).
pub fn evaluate_checkpoint(
    ds: &Dataset,
    source: &str,
    ckpt: &Path,
    horizon: usize,
    windows: usize,
    seed: u64,
) -> Result<EvalResult> {
    check_sizes(horizon, windows)?;
    let loaded = checkpoint::load(ckpt)?;
    evaluate_loaded(ds, source, ckpt, &loaded, horizon, windows, seed)
}

/// [`evaluate_checkpoint`] for a checkpoint already loaded from `ckpt`.
pub fn evaluate_loaded(
    ds: &Dataset,
    source: &str,
    ckpt: &Path,
    loaded: &checkpoint::Loaded,
    horizon: usize,
    windows: usize,
    seed: u64,
) -> Result<EvalResult> {
    check_sizes(horizon, windows)?;
    let norm = normalizer_from_json(&loaded.meta.normalization, &ckpt.display().to_string())?;
    if norm.obs_mean.len() != loaded.model.obs_dim() {
        return Err(Error::Invalid(format!(
            "{}: field 'normalization.obs_mean' has {} values, the model's obs_dim is {}",
            ckpt.display(),
            norm.obs_mean.len(),
            loaded.model.obs_dim()
        )));
    }
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
    let split_seed = loaded
        .meta
        .training
        .get("split_seed")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let split = data::train_test_split(ds, split_seed);
    if split.test.is_empty() {
        return Err(Error::Data(data::DataError::BadEpisodes {
            file: source.to_string(),
            message: "1 episode: evaluation reads the test episodes of the 80:20 by-episode \
                      split, which needs at least 2 episodes"
                .to_string(),
        }));
    }
    evaluate(
        loaded.model.as_ref(),
        &norm,
        ds,
        &split.test,
        horizon,
        windows,
        seed,
        source,
    )
}

fn check_sizes(horizon: usize, windows: usize) -> Result<()> {
    super::at_least_one(
        "--horizon",
        horizon,
        "a window needs at least one step to predict",
    )?;
    super::at_least_one("--windows", windows, "the error is a mean over windows")
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
    crate::util::files::write_bytes(path, s.as_bytes()).map_err(|e| Error::io(path, e))
}

pub fn run(a: &EvalArgs) -> Result<()> {
    super::cpu_only(&a.device, "eval")?;
    check_sizes(a.horizon, a.windows)?;
    super::input("--data", &a.data)?;
    super::input("--ckpt", &a.ckpt)?;
    let inputs = [a.data.as_path(), a.ckpt.as_path()];
    if let Some(j) = &a.json {
        super::output("--json", j, &inputs)?;
    }
    let curve = a.curve.as_ref().map(|prefix| {
        let with_suffix = |ext: &str| PathBuf::from(format!("{}.{ext}", prefix.display()));
        (with_suffix("csv"), with_suffix("png"))
    });
    if let Some((csv, png)) = &curve {
        super::output("--curve", csv, &inputs)?;
        super::output("--curve", png, &inputs)?;
    }
    // The checkpoint (small) first, so its problems show before the dataset is read.
    let loaded = checkpoint::load(&a.ckpt)?;
    let ds = data::load_states(&a.data)?;
    let source = a.data.display().to_string();
    let r = evaluate_loaded(&ds, &source, &a.ckpt, &loaded, a.horizon, a.windows, a.seed)?;
    println!(
        "{} windows of {} steps from the test episodes (normalised units): state MSE {:.5}, reward MSE {:.5}",
        r.windows, r.horizon, r.state_mse, r.reward_mse
    );
    if let Some((csv, png)) = &curve {
        write_curve_csv(csv, &r)?;
        super::curves::plot_curves(
            png,
            super::curves::Metric::State,
            &[(r.model.as_str(), &r.state_mse_per_step)],
        )?;
        println!(
            "per-step error curve: {} and {}",
            csv.display(),
            png.display()
        );
    }
    if let Some(j) = &a.json {
        super::write_json(j, &r)?;
    }
    Ok(())
}
