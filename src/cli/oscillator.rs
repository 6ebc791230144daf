//! `koopman oscillator`: trains a Koopman model on a synthetic controlled linear oscillator with known
//! eigenvalues for a few seconds, printing the loss falling and the recovered eigenvalues.
use crate::backend::Device;
use crate::models::{KoopmanConfig, KoopmanModel, MuInit, OmegaInit};
use crate::optim::Schedule;
use crate::synthetic::Oscillator;
use crate::train::{TrainConfig, Trainer};
use crate::util::rng::Rng;
use crate::Result;
use std::time::Instant;

/// The longest training window: a few oscillation periods are plenty (the default is 20 steps),
/// and memory grows with it (about 75 KB a step for the 64-window batch).
pub const MAX_HORIZON: usize = 1000;

pub struct OscillatorReport {
    /// (true ω, recovered ω) per mode, sorted by frequency, in rad/s.
    pub frequencies: Vec<(f64, f64)>,
    /// (true ζ, recovered ζ), in 1/s.
    pub dampings: Vec<(f64, f64)>,
    pub first_loss: f64,
    pub last_loss: f64,
}

/// A Koopman model with one complex mode per oscillator and linear encoders/decoders, so its
/// eigenvalues are identifiable; μ learnable, Δt₀ chosen so the initial per-step rotations are small.
pub fn model_for(sys: &Oscillator, seed: u64) -> KoopmanModel {
    let m = sys.modes.len();
    let mut cfg = KoopmanConfig::small(sys.obs_dim(), sys.act_dim, m, 32);
    cfg.enc_hidden = vec![];
    cfg.act_hidden = vec![];
    cfg.dec_hidden = vec![];
    cfg.mu = MuInit::Learnable(-0.2);
    cfg.omega = OmegaInit::Increasing { alpha: 1.0 };
    cfg.dt0 = 0.05;
    cfg.consistency_weight = 0.1;
    KoopmanModel::new(cfg, seed)
}

pub fn run(
    steps: u64,
    horizon: usize,
    seed: u64,
    verbose: bool,
    device: Device,
) -> Result<OscillatorReport> {
    if !(1..=MAX_HORIZON).contains(&horizon) {
        return Err(crate::Error::Invalid(format!(
            "--horizon {horizon}: the oscillator trains on windows of 1 to {MAX_HORIZON} steps"
        )));
    }
    let sys = Oscillator::default_pair();
    let mut rng = Rng::new(seed);
    let model = model_for(&sys, seed);
    let cfg = TrainConfig {
        schedule: Schedule::Cosine {
            peak: 1e-2,
            min: 1e-4,
            warmup: 20,
            total: steps,
        },
        ..Default::default()
    };
    let mut trainer = Trainer::new(Box::new(model), cfg).to_device(device)?;
    if verbose {
        println!(
            "system: {} damped oscillators sampled every {} s; true ω = {:?} rad/s; model: {} parameters",
            sys.modes.len(),
            sys.dt,
            sys.modes.iter().map(|m| m.1).collect::<Vec<_>>(),
            trainer.model.params().count()
        );
    }
    let start = Instant::now();
    let (mut first, mut last) = (f64::NAN, f64::NAN);
    for s in 0..steps {
        let w = sys.windows(64, horizon, &mut rng);
        let st = trainer.step(&w.view())?;
        if s == 0 {
            first = st.loss;
        }
        last = st.loss;
        if verbose && (s % (steps / 10).max(1) == 0 || s + 1 == steps) {
            println!(
                "step {:>5}  loss {:.6}  lr {:.1e}  ({:.1}s)",
                st.step,
                st.loss,
                st.lr,
                start.elapsed().as_secs_f64()
            );
        }
    }
    trainer.sync_host()?;
    let model = trainer.model;
    // Downcast-free: rebuild the eigenvalues from the trained parameters by name.
    let ps = model.params();
    let mu = ps
        .find("koopman.mu")
        .map(|id| ps.get(id).data.clone())
        .unwrap_or_default();
    let omega = ps
        .find("koopman.omega")
        .map(|id| ps.get(id).data.clone())
        .unwrap_or_default();
    let dt = ps
        .find("koopman.log_dt")
        .map(|id| (ps.get(id).data[0] as f64).exp())
        .unwrap_or(f64::NAN);
    // The model's per-step rotation is ω·Δt; dividing by the sampling interval gives rad/s.
    let mut rec: Vec<(f64, f64)> = mu
        .iter()
        .zip(&omega)
        .map(|(&a, &w)| (-(a as f64) * dt / sys.dt, (w as f64).abs() * dt / sys.dt))
        .collect();
    rec.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut truth = sys.modes.clone();
    truth.sort_by(|a, b| a.1.total_cmp(&b.1));
    let report = OscillatorReport {
        frequencies: truth.iter().zip(&rec).map(|(t, r)| (t.1, r.1)).collect(),
        dampings: truth.iter().zip(&rec).map(|(t, r)| (t.0, r.0)).collect(),
        first_loss: first,
        last_loss: last,
    };
    if verbose {
        println!("learned Δt = {dt:.4}");
        for ((tw, rw), (tz, rz)) in report.frequencies.iter().zip(&report.dampings) {
            println!(
                "mode: ω true {tw:.4} rad/s, recovered {rw:.4} ({:+.2}%);  ζ true {tz:.3}/s, recovered {rz:.3}/s",
                100.0 * (rw - tw) / tw
            );
        }
    }
    Ok(report)
}
