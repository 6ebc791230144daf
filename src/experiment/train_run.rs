//! One training run: dataset → by-episode split → normalisation → windows → steps with periodic
//! validation and atomic checkpoints; `resume` continues from a checkpoint's weights, optimiser
//! state and step count. Batches are drawn from a generator seeded by (seed, step), so a resumed run
//! sees the same batches as an uninterrupted one.
use super::normalization::{normalizer_from_json, normalizer_to_json};
use crate::backend::Device;
use crate::checkpoint::{self, Meta};
use crate::data::{self, Normalizer, WindowSampler};
use crate::models::ModelConfig;
use crate::optim::Schedule;
use crate::train::{TrainConfig, Trainer};
use crate::util::rng::Rng;
use crate::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub data: PathBuf,
    pub config: ModelConfig,
    pub horizon: usize,
    pub steps: u64,
    pub batch: usize,
    pub seed: u64,
    /// Seed of the train/test split (shared by every model of a comparison).
    pub split_seed: u64,
    pub out: PathBuf,
    pub resume: bool,
    pub lr: f64,
    pub val_every: u64,
    pub ckpt_every: u64,
    pub progress: bool,
    /// Where the training steps run (checkpoints and evaluation read the host copy).
    pub device: Device,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainSummary {
    pub model: String,
    pub parameters: usize,
    pub steps: u64,
    pub horizon: usize,
    pub final_loss: f64,
    pub val_loss: f64,
    pub seconds: f64,
    pub iters_per_sec: f64,
}

pub fn train(opts: &TrainOptions) -> Result<TrainSummary> {
    let source = opts.data.display().to_string();
    let ds = data::load_states(&opts.data)?;
    let split = data::train_test_split(&ds, opts.split_seed);
    let norm = Normalizer::fit(&ds, &split.train).map_err(|e| e.with_file(&source))?;
    let train_w = WindowSampler::with_source(&ds, &split.train, opts.horizon, &source)?;
    let val_w = WindowSampler::with_source(&ds, &split.test, opts.horizon, &source)?;
    if opts.batch == 0 {
        return Err(Error::Invalid("--batch must be at least 1".into()));
    }
    let (model, start, adam) = if opts.resume && opts.out.exists() {
        let loaded = checkpoint::load(&opts.out)?;
        if loaded.meta.config.kind() != opts.config.kind() {
            return Err(Error::Invalid(format!(
                "{}: field 'config.model' is {}, but --model is {}",
                opts.out.display(),
                loaded.meta.config.kind().name(),
                opts.config.kind().name()
            )));
        }
        let saved =
            normalizer_from_json(&loaded.meta.normalization, &opts.out.display().to_string())?;
        if saved != norm {
            return Err(Error::Invalid(format!(
                "{}: field 'normalization' differs from the statistics of {source}: resume with the same data",
                opts.out.display()
            )));
        }
        let step = loaded.adam.as_ref().map(|a| a.step).unwrap_or(0);
        (loaded.model, step, loaded.adam)
    } else {
        (opts.config.build(opts.seed)?, 0, None)
    };
    if model.obs_dim() != ds.obs_dim || model.act_dim() != ds.act_dim {
        return Err(Error::Shape(format!(
            "{source}: observations have {} dims and actions {}, the model expects {} and {}",
            ds.obs_dim,
            ds.act_dim,
            model.obs_dim(),
            model.act_dim()
        )));
    }
    let cfg = TrainConfig {
        schedule: Schedule::Constant(opts.lr),
        ..Default::default()
    };
    let mut trainer = Trainer::new(model, cfg);
    if let Some(a) = adam {
        trainer.opt.set_state(a.m, a.v, a.step);
    }
    let mut trainer = trainer.to_device(opts.device)?;
    // A fixed validation batch from the test episodes.
    let mut val_batch = val_w.sample(opts.batch.min(256), &mut Rng::new(opts.seed ^ 0x5EED));
    norm.apply(&mut val_batch);

    let bar = if opts.progress {
        let b = ProgressBar::new(opts.steps);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} eta {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_position(start);
        b
    } else {
        ProgressBar::hidden()
    };
    let meta = |trainer: &Trainer, val: f64| Meta {
        config: trainer.model.config(),
        normalization: normalizer_to_json(&norm),
        training: json!({ "steps": trainer.steps(), "horizon": opts.horizon, "batch": opts.batch,
                          "seed": opts.seed, "split_seed": opts.split_seed, "lr": opts.lr,
                          "data": source, "val_loss": val }),
    };
    // A checkpoint reads the host copy: bring it up to date with the device first.
    let save = |trainer: &mut Trainer, val: f64| -> Result<()> {
        trainer.sync_host()?;
        checkpoint::save(
            &opts.out,
            trainer.model.as_ref(),
            Some(&trainer.opt),
            &meta(trainer, val),
        )
    };
    let t0 = Instant::now();
    let (mut last, mut val) = (f64::NAN, f64::NAN);
    for step in start..opts.steps {
        let mut rng = Rng::new(opts.seed.wrapping_mul(0x9E37_79B9).wrapping_add(step));
        let mut batch = train_w.sample(opts.batch, &mut rng);
        norm.apply(&mut batch);
        let stats = trainer.step(&batch.view())?;
        last = stats.loss;
        let n = step + 1;
        if n % opts.val_every.max(1) == 0 || n == opts.steps {
            val = trainer.eval_loss(&val_batch.view())?;
            bar.println(format!("step {n:>7}  loss {last:.5}  val {val:.5}"));
        }
        if n % opts.ckpt_every.max(1) == 0 && n != opts.steps {
            save(&mut trainer, val)?;
        }
        bar.set_message(format!("loss {last:.5}"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    save(&mut trainer, val)?;
    let seconds = t0.elapsed().as_secs_f64();
    let done = opts.steps.saturating_sub(start);
    Ok(TrainSummary {
        model: opts.config.kind().name().to_string(),
        parameters: trainer.model.params().count(),
        steps: trainer.steps(),
        horizon: opts.horizon,
        final_loss: last,
        val_loss: val,
        seconds,
        iters_per_sec: done as f64 / seconds.max(1e-9),
    })
}
