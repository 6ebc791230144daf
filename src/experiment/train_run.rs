//! One training run: a loaded dataset → by-episode split → normalisation → windows → steps with
//! periodic validation and atomic checkpoints; `resume` continues from a checkpoint's weights,
//! optimiser state and step count. Batches are drawn from a generator seeded by (seed, step), so a
//! resumed run sees the same batches as an uninterrupted one.
//!
//! Every setting is checked before any work ([`TrainOptions::validate`], [`check_memory`]), and a
//! resume refuses settings that contradict the checkpoint ([`check_resume`]).
use super::normalization::{normalizer_from_json, normalizer_to_json};
use crate::backend::Device;
use crate::checkpoint::{self, Loaded, Meta};
use crate::data::{self, Dataset, Normalizer, WindowSampler};
use crate::models::ModelConfig;
use crate::optim::Schedule;
use crate::train::{TrainConfig, Trainer};
use crate::util::files;
use crate::util::rng::Rng;
use crate::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The largest learning rate accepted: beyond it Adam's first steps overflow f32.
pub const MAX_LR: f64 = 1e3;

#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The dataset's file: named in errors and recorded in the checkpoint.
    pub source: String,
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
    /// The step count the checkpoint holds at the end.
    pub steps: u64,
    /// The step this run started from (0, or the resumed checkpoint's count).
    pub start_step: u64,
    pub horizon: usize,
    /// Loss of the last step this run took (NaN when it took none).
    pub final_loss: f64,
    pub val_loss: f64,
    pub seconds: f64,
    /// Steps this run took per second (resumed steps do not count).
    pub iters_per_sec: f64,
}

impl TrainOptions {
    /// Checks every size and rate before any work: horizon, batch and steps at least 1, the
    /// learning rate finite in (0, [`MAX_LR`]].
    pub fn validate(&self) -> Result<()> {
        if self.horizon == 0 {
            return Err(Error::Invalid(
                "--horizon 0: a window needs at least one step to predict; use --horizon 1 or more"
                    .into(),
            ));
        }
        if self.batch == 0 {
            return Err(Error::Invalid(
                "--batch 0: a batch needs at least one window; use --batch 1 or more".into(),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= MAX_LR) {
            return Err(Error::Invalid(format!(
                "--lr {}: the learning rate must be a finite number in (0, {MAX_LR}] (e.g. 1e-3)",
                self.lr
            )));
        }
        self.config.validate()
    }

    /// Refuses a run whose memory estimate exceeds this machine's memory (see [`estimate_bytes`]).
    pub fn check_memory(&self, ds: &Dataset) -> Result<()> {
        files::check_memory(
            &format!(
                "training with --batch {} at --horizon {}",
                self.batch, self.horizon
            ),
            estimate_bytes(
                &self.config,
                self.batch,
                self.horizon,
                ds.obs_dim,
                ds.act_dim,
            ),
        )
        .map_err(|m| Error::Invalid(format!("{m}; use a smaller --batch or --horizon")))
    }
}

/// A lower estimate of a training step's memory: parameters with their gradient and Adam moments,
/// the batch, and one value and one gradient per activation of every step of every window.
/// `None` when it overflows 64 bits.
pub fn estimate_bytes(
    config: &ModelConfig,
    batch: usize,
    horizon: usize,
    obs_dim: usize,
    act_dim: usize,
) -> Option<u64> {
    let params = config.min_param_count()?.checked_mul(16)?;
    let windows = (batch as u64).checked_mul(horizon as u64 + 1)?;
    let data = windows.checked_mul((obs_dim as u64 + act_dim as u64 + 3) * 4)?;
    // A value and a gradient per activation, plus intermediates: 12 bytes (measured: ~20).
    let acts = windows
        .checked_mul(config.activation_width()?)?
        .checked_mul(12)?;
    params.checked_add(data)?.checked_add(acts)
}

/// Refuses a resume whose settings contradict the checkpoint: another model, configuration
/// (`--preset`), horizon, batch, learning rate or normalisation (data).
fn check_resume(opts: &TrainOptions, loaded: &Loaded, norm: &Normalizer) -> Result<()> {
    let out = opts.out.display();
    let contradicts = |field: &str, flag: &str, saved: String, given: String| {
        Error::Invalid(format!(
            "{out}: field '{field}' is {saved}, but {flag} is {given}: resuming must keep the \
             checkpoint's settings (pass {flag} {saved}, or train to a new --out without --resume)"
        ))
    };
    if loaded.meta.config.kind() != opts.config.kind() {
        return Err(contradicts(
            "config.model",
            "--model",
            loaded.meta.config.kind().name().into(),
            opts.config.kind().name().into(),
        ));
    }
    let saved = serde_json::to_value(&loaded.meta.config).ok();
    if saved != serde_json::to_value(&opts.config).ok() {
        return Err(Error::Invalid(format!(
            "{out}: field 'config' differs from the configuration --preset (and the Koopman \
             flags) give for this model and data: resume with the --preset and flags the \
             checkpoint was trained with"
        )));
    }
    let t = &loaded.meta.training;
    if let Some(h) = t.get("horizon").and_then(|v| v.as_u64()) {
        if h != opts.horizon as u64 {
            return Err(contradicts(
                "training.horizon",
                "--horizon",
                h.to_string(),
                opts.horizon.to_string(),
            ));
        }
    }
    if let Some(b) = t.get("batch").and_then(|v| v.as_u64()) {
        if b != opts.batch as u64 {
            return Err(contradicts(
                "training.batch",
                "--batch",
                b.to_string(),
                opts.batch.to_string(),
            ));
        }
    }
    if let Some(lr) = t.get("lr").and_then(|v| v.as_f64()) {
        if lr != opts.lr {
            return Err(contradicts(
                "training.lr",
                "--lr",
                lr.to_string(),
                opts.lr.to_string(),
            ));
        }
    }
    let saved = normalizer_from_json(&loaded.meta.normalization, &out.to_string())?;
    if saved != *norm {
        return Err(Error::Invalid(format!(
            "{out}: field 'normalization' differs from the statistics of {}: resume with the same data",
            opts.source
        )));
    }
    Ok(())
}

/// Trains on `ds` (loaded once by the caller from `opts.source`).
pub fn train(opts: &TrainOptions, ds: &Dataset) -> Result<TrainSummary> {
    opts.validate()?;
    let source = opts.source.as_str();
    opts.check_memory(ds)?;
    let split = data::train_test_split(ds, opts.split_seed);
    if split.test.is_empty() {
        return Err(Error::Data(data::DataError::BadEpisodes {
            file: source.to_string(),
            message: format!(
                "{} episode(s): the by-episode train/test split needs at least 2 (one to \
                 validate on); collect or supply more episodes",
                split.train.len()
            ),
        }));
    }
    let norm = Normalizer::fit(ds, &split.train).map_err(|e| e.with_file(source))?;
    let train_w = WindowSampler::with_source(ds, &split.train, opts.horizon, source)?;
    let val_w = WindowSampler::with_source(ds, &split.test, opts.horizon, source)?;
    let resumed = if opts.resume {
        if opts.out.exists() {
            let loaded = checkpoint::load(&opts.out)?;
            check_resume(opts, &loaded, &norm)?;
            Some(loaded)
        } else {
            eprintln!(
                "--resume: no checkpoint at {} yet, so training starts from step 0",
                opts.out.display()
            );
            None
        }
    } else {
        None
    };
    let (model, start, adam) = match resumed {
        Some(loaded) => {
            let step = loaded.adam.as_ref().map(|a| a.step).unwrap_or(0);
            (loaded.model, step, loaded.adam)
        }
        None => (opts.config.build(opts.seed)?, 0, None),
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
    if start >= opts.steps && opts.resume {
        // Nothing to train: the checkpoint stays as it is.
        return Ok(TrainSummary {
            model: opts.config.kind().name().to_string(),
            parameters: model.params().count(),
            steps: start,
            start_step: start,
            horizon: opts.horizon,
            final_loss: f64::NAN,
            val_loss: f64::NAN,
            seconds: 0.0,
            iters_per_sec: 0.0,
        });
    }
    if start > 0 && opts.progress {
        eprintln!(
            "resuming {} at step {start} of {}",
            opts.out.display(),
            opts.steps
        );
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

    let todo = opts.steps - start;
    // A bar on a terminal; plain periodic lines when stderr goes to a file or a pipe.
    let tty = opts.progress && std::io::stderr().is_terminal();
    let bar = if tty {
        // Counts this run's steps only, so the rate and the ETA are not inflated by a resume.
        let b = ProgressBar::new(todo);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} eta {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let lines = opts.progress && !tty;
    let line_every = (todo / 10).max(1);
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
    let mut last_line = t0;
    let (mut last, mut val) = (f64::NAN, f64::NAN);
    for step in start..opts.steps {
        let mut rng = Rng::new(opts.seed.wrapping_mul(0x9E37_79B9).wrapping_add(step));
        let mut batch = train_w.sample(opts.batch, &mut rng);
        norm.apply(&mut batch);
        let stats = trainer
            .step(&batch.view())
            .map_err(|e| name_data(e, source))?;
        last = stats.loss;
        let n = step + 1;
        if n % opts.val_every.max(1) == 0 || n == opts.steps {
            val = trainer
                .eval_loss(&val_batch.view())
                .map_err(|e| name_data(e, source))?;
            bar.println(format!("step {n:>7}  loss {last:.5}  val {val:.5}"));
            if lines {
                eprintln!("step {n:>7}  loss {last:.5}  val {val:.5}");
            }
        }
        if n % opts.ckpt_every.max(1) == 0 && n != opts.steps {
            save(&mut trainer, val)?;
        }
        bar.set_message(format!("loss {last:.5}"));
        bar.inc(1);
        let done = n - start;
        if lines
            && n != opts.steps
            && (done % line_every == 0 || last_line.elapsed() >= Duration::from_secs(10))
        {
            last_line = Instant::now();
            let secs = t0.elapsed().as_secs_f64();
            eprintln!(
                "progress: step {n}/{}  loss {last:.5}  {:.1} it/s  {secs:.0}s elapsed",
                opts.steps,
                done as f64 / secs.max(1e-9)
            );
        }
    }
    bar.finish_and_clear();
    save(&mut trainer, val)?;
    let seconds = t0.elapsed().as_secs_f64();
    Ok(TrainSummary {
        model: opts.config.kind().name().to_string(),
        parameters: trainer.model.params().count(),
        steps: trainer.steps(),
        start_step: start,
        horizon: opts.horizon,
        final_loss: last,
        val_loss: val,
        seconds,
        iters_per_sec: todo as f64 / seconds.max(1e-9),
    })
}

/// A non-finite loss names the dataset it came from and the step.
fn name_data(e: Error, source: &str) -> Error {
    match e {
        Error::NonFinite(m) => Error::NonFinite(format!(
            "{source}: {m} (check the dataset for extreme values, or lower --lr)"
        )),
        other => other,
    }
}
