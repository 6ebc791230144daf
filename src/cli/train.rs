//! `koopman train`: train one model on a dataset and write a checkpoint.
use super::koopman_flags::KoopmanFlags;
use crate::backend::Device;
use crate::data;
use crate::data::Dataset;
use crate::experiment::{train, TrainOptions, MAX_LR};
use crate::models::{ModelConfig, ModelKind};
use crate::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Dataset (.npz or D4RL-layout .hdf5).
    #[arg(long)]
    pub data: PathBuf,
    /// koopman, mlp, gru or transformer.
    #[arg(long, default_value = "koopman")]
    pub model: String,
    /// Training horizon; defaults to 100, or 10 for the MLP baseline (as in the paper).
    #[arg(long)]
    pub horizon: Option<usize>,
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Checkpoint path (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from the checkpoint at --out (weights, optimiser state, step count); the model,
    /// --preset, --horizon, --batch, --lr and data must be the checkpoint's. Without a checkpoint
    /// there yet, training starts from step 0 (and says so).
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value_t = 100)]
    pub val_every: u64,
    #[arg(long, default_value_t = 500)]
    pub ckpt_every: u64,
    /// Model configuration preset: default (paper sizes) or small (fast CPU runs).
    #[arg(long, default_value = "default")]
    pub preset: String,
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Matmul arithmetic on CUDA: fp32, tf32 or bf16 (FP32 accumulation); the CPU is fp32
    #[arg(long, default_value = "fp32")]
    pub precision: String,
    #[command(flatten)]
    pub koopman: KoopmanFlags,
}

/// The paper's horizons: 10 for the MLP (longer unrolls explode), 100 for the others.
pub fn default_horizon(kind: ModelKind) -> usize {
    if kind == ModelKind::Mlp {
        10
    } else {
        100
    }
}

/// Model configuration by preset name. `small` (fast CPU runs) fixes the Koopman model at 32 modes
/// and 128-wide layers, then widens each baseline until its parameter count is closest to it.
pub fn preset(kind: ModelKind, name: &str, obs_dim: usize, act_dim: usize) -> Result<ModelConfig> {
    use crate::models::*;
    let count = |c: &ModelConfig| c.build(0).map(|m| m.params().count());
    Ok(match name {
        "default" => ModelConfig::default_for(kind, obs_dim, act_dim),
        "small" => {
            let koopman = ModelConfig::Koopman(KoopmanConfig::small(obs_dim, act_dim, 32, 128));
            let make = |w: usize| match kind {
                ModelKind::Koopman => koopman.clone(),
                ModelKind::Mlp => ModelConfig::Mlp(MlpConfig::small(obs_dim, act_dim, 64, w)),
                ModelKind::Gru => ModelConfig::Gru(GruConfig::small(obs_dim, act_dim, 32, w)),
                ModelKind::Transformer => {
                    ModelConfig::Transformer(TransformerConfig::small(obs_dim, act_dim, w, 4))
                }
            };
            if kind == ModelKind::Koopman {
                return Ok(koopman);
            }
            let target = count(&koopman)? as f64;
            let mut best = (f64::INFINITY, make(8));
            for w in (8..=512).step_by(4) {
                let c = make(w);
                let gap = (count(&c)? as f64 - target).abs();
                if gap < best.0 {
                    best = (gap, c);
                }
            }
            best.1
        }
        other => {
            return Err(crate::Error::Invalid(format!(
                "unknown preset '{other}' (known: default, small)"
            )))
        }
    })
}

/// The run's options for a dataset already loaded from `a.data`.
pub fn options(a: &TrainArgs, ds: &Dataset) -> Result<TrainOptions> {
    let kind = ModelKind::parse(&a.model)?;
    Ok(TrainOptions {
        source: a.data.display().to_string(),
        config: a
            .koopman
            .apply(preset(kind, &a.preset, ds.obs_dim, ds.act_dim)?)?,
        horizon: a.horizon.unwrap_or(default_horizon(kind)),
        steps: a.steps,
        batch: a.batch,
        seed: a.seed,
        split_seed: 0,
        out: a.out.clone(),
        resume: a.resume,
        lr: a.lr,
        val_every: a.val_every,
        ckpt_every: a.ckpt_every,
        progress: true,
        device: Device::Cpu,
    })
}

/// Every argument that can be checked without the data, checked before anything is read or
/// trained: names, sizes, the learning rate, the output path, the input file and the device.
fn check_args(a: &TrainArgs) -> Result<(ModelKind, Device)> {
    let kind = ModelKind::parse(&a.model)?;
    // The Koopman flags' values, and that they apply to this model, before any data is read.
    a.koopman.apply(ModelConfig::default_for(kind, 1, 1))?;
    if !matches!(a.preset.as_str(), "default" | "small") {
        return Err(crate::Error::Invalid(format!(
            "unknown preset '{}' (known: default, small)",
            a.preset
        )));
    }
    super::precision_name(&a.precision)?;
    if let Some(h) = a.horizon {
        super::at_least_one(
            "--horizon",
            h,
            "a window needs at least one step to predict",
        )?;
    }
    super::at_least_one("--batch", a.batch, "a batch needs at least one window")?;
    if a.steps == 0 {
        return Err(crate::Error::Invalid(
            "--steps 0: there is nothing to train; use --steps 1 or more".into(),
        ));
    }
    if !(a.lr.is_finite() && a.lr > 0.0 && a.lr <= MAX_LR) {
        return Err(crate::Error::Invalid(format!(
            "--lr {}: the learning rate must be a finite number in (0, {MAX_LR}] (e.g. 1e-3)",
            a.lr
        )));
    }
    super::input("--data", &a.data)?;
    super::output("--out", &a.out, &[&a.data])?;
    let device = super::device(&a.device)?;
    super::precision(device, &a.precision)?;
    Ok((kind, device))
}

pub fn run(a: &TrainArgs) -> Result<()> {
    let (_, device) = check_args(a)?;
    let ds = data::load_states(&a.data)?;
    let mut opts = options(a, &ds)?;
    opts.device = device;
    opts.validate()?;
    opts.check_memory(&ds)?;
    println!(
        "training {} ({} parameters) at horizon {} for {} steps, batch {}",
        opts.config.kind().name(),
        opts.config.build(a.seed)?.params().count(),
        opts.horizon,
        opts.steps,
        opts.batch
    );
    let s = train(&opts, &ds)?;
    if s.steps == s.start_step {
        println!(
            "nothing to train: {} is already at step {} (--steps {}); it is unchanged. Pass a \
             larger --steps to continue it",
            a.out.display(),
            s.steps,
            a.steps
        );
        return Ok(());
    }
    println!(
        "done: {} steps ({} this run), loss {:.5}, validation {:.5}, {:.1} it/s -> {}",
        s.steps,
        s.steps - s.start_step,
        s.final_loss,
        s.val_loss,
        s.iters_per_sec,
        a.out.display()
    );
    Ok(())
}
