//! Training throughput: full gradient updates (forward, backward, clipping, Adam) per second on random
//! batches, the quantity of the paper's Table 3.
use super::peak_rss;
use crate::autodiff::OpProfile;
use crate::backend::Device;
use crate::data::Batch;
use crate::models::{build_default, ModelKind};
use crate::train::{TrainConfig, Trainer};
use crate::util::stats::Summary;
use crate::{Error, Result};
use serde_json::Value;
use std::time::{Duration, Instant};

/// halfcheetah's state and action sizes, as in the paper's speed comparison.
pub const OBS_DIM: usize = 17;
pub const ACT_DIM: usize = 6;

/// Sequence lengths of Table 3 and the paper's A100 iterations/s (Mondal et al., ICLR 2024, App. F).
pub const PAPER_LENGTHS: [usize; 5] = [10, 50, 100, 200, 500];
const PAPER_A100: [(ModelKind, [f64; 5]); 4] = [
    (ModelKind::Mlp, [478.00, 115.54, 55.85, 28.02, 11.20]),
    (
        ModelKind::Transformer,
        [418.00, 120.20, 73.34, 34.48, 14.92],
    ),
    (ModelKind::Gru, [420.00, 101.20, 42.02, 17.40, 8.91]),
    (ModelKind::Koopman, [565.43, 160.76, 86.49, 59.65, 24.56]),
];

/// The paper's A100 iterations/s for this model and length, where Table 3 has one.
pub fn paper_its(kind: ModelKind, seq_len: usize) -> Option<f64> {
    let col = PAPER_LENGTHS.iter().position(|&t| t == seq_len)?;
    PAPER_A100
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, row)| row[col])
}

/// One measured (model, length) point; `secs` are seconds per iteration.
#[derive(Clone, Debug)]
pub struct TrainPoint {
    pub kind: ModelKind,
    pub seq_len: usize,
    pub batch: usize,
    pub params: usize,
    pub warmup: usize,
    pub secs: Summary,
    /// Peak resident memory during this point (model, warm-up and timed steps), where measurable.
    pub peak_rss_bytes: Option<u64>,
    /// Per-op times of the timed steps, when asked for (CPU steps only).
    pub profile: Option<OpProfile>,
}

/// How a point is timed.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Timed steps; the median is reported.
    pub iters: usize,
    /// Untimed steps first (buffer pools fill, caches warm).
    pub warmup: usize,
    /// Also time every op of the timed steps (CPU; adds two clock reads per op).
    pub profile: bool,
}

impl TrainPoint {
    pub fn its_median(&self) -> f64 {
        1.0 / self.secs.median
    }
    /// The slow tail in it/s is the fast tail's reciprocal: p10 of it/s = 1 / p90 of seconds.
    pub fn its_p10(&self) -> f64 {
        1.0 / self.secs.p90
    }
    pub fn its_p90(&self) -> f64 {
        1.0 / self.secs.p10
    }

    pub fn to_json(&self) -> Value {
        let paper = paper_its(self.kind, self.seq_len);
        Value::from_iter([
            ("model", Value::from(self.kind.name())),
            ("seq_len", self.seq_len.into()),
            ("batch", self.batch.into()),
            ("params", self.params.into()),
            ("warmup", self.warmup.into()),
            ("iters", self.secs.n.into()),
            ("its_median", self.its_median().into()),
            ("its_p10", self.its_p10().into()),
            ("its_p90", self.its_p90().into()),
            ("secs_median", self.secs.median.into()),
            ("secs_min", self.secs.min.into()),
            ("secs_max", self.secs.max.into()),
            (
                "peak_rss_mb",
                self.peak_rss_bytes
                    .map_or(Value::Null, |b| Value::from(b as f64 / 1e6)),
            ),
            ("paper_a100_its", paper.map_or(Value::Null, Value::from)),
            (
                "profile",
                self.profile
                    .as_ref()
                    .map_or(Value::Null, |p| profile_json(p, self.secs.n)),
            ),
        ])
    }
}

/// Every profile row, slowest first, in milliseconds per step.
fn profile_json(p: &OpProfile, steps: usize) -> Value {
    let rows = p.rows().into_iter().map(|r| {
        Value::from_iter([
            ("phase", r.phase.name().into()),
            ("op", r.op.into()),
            ("shape", r.shape.into()),
            ("calls_per_step", (r.calls / steps.max(1) as u64).into()),
            (
                "ms_per_step",
                Value::from(r.time.as_secs_f64() * 1e3 / steps.max(1) as f64),
            ),
        ])
    });
    Value::Array(rows.collect())
}

/// Builds the default model, runs `warmup` untimed steps (first-step allocations, page faults), then
/// times `iters` steps one by one.
pub fn measure(
    kind: ModelKind,
    seq_len: usize,
    batch: usize,
    timing: Timing,
    seed: u64,
    device: Device,
) -> Result<TrainPoint> {
    let Timing {
        iters,
        warmup,
        profile,
    } = timing;
    if seq_len == 0 || batch == 0 || iters == 0 {
        return Err(Error::Invalid(format!(
            "bench needs seq_len, batch and iters ≥ 1 (got {seq_len}, {batch}, {iters})"
        )));
    }
    let measured_rss = peak_rss::reset();
    let model = build_default(kind, OBS_DIM, ACT_DIM, seed);
    let params = model.params().count();
    let mut trainer = Trainer::new(model, TrainConfig::default()).to_device(device)?;
    let data = Batch::random(batch, seq_len, OBS_DIM, ACT_DIM, seed.wrapping_add(1));
    let b = data.view();
    for _ in 0..warmup {
        trainer.step(&b)?;
    }
    trainer.set_profiling(profile);
    let mut secs = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        trainer.step(&b)?;
        secs.push(start.elapsed().as_secs_f64());
    }
    let profile = trainer.profile().filter(|p| p.total() > Duration::ZERO);
    let secs = Summary::of(&secs)
        .ok_or_else(|| Error::Invalid("no valid timings were recorded".into()))?;
    Ok(TrainPoint {
        kind,
        seq_len,
        batch,
        params,
        warmup,
        secs,
        peak_rss_bytes: measured_rss.then(peak_rss::peak_bytes).flatten(),
        profile: profile.cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_row_lookup() {
        assert_eq!(paper_its(ModelKind::Koopman, 100), Some(86.49));
        assert_eq!(paper_its(ModelKind::Gru, 500), Some(8.91));
        assert_eq!(paper_its(ModelKind::Mlp, 7), None);
    }

    #[test]
    fn zero_sizes_are_errors() {
        let timing = |iters| Timing {
            iters,
            warmup: 0,
            profile: false,
        };
        assert!(measure(ModelKind::Mlp, 0, 4, timing(1), 0, Device::Cpu).is_err());
        assert!(measure(ModelKind::Mlp, 4, 4, timing(0), 0, Device::Cpu).is_err());
    }

    /// The per-op rows of a profiled step cover the step: forward, backward and update rows, and
    /// their sum is most of the measured wall time.
    #[test]
    fn profile_accounts_for_the_step() {
        let timing = Timing {
            iters: 3,
            warmup: 1,
            profile: true,
        };
        let p = measure(ModelKind::Koopman, 6, 8, timing, 0, Device::Cpu).unwrap();
        let prof = p.profile.expect("a CPU step is profiled");
        let rows = prof.rows();
        for phase in ["fwd", "bwd", "update"] {
            assert!(rows.iter().any(|r| r.phase.name() == phase), "{phase}");
        }
        assert!(rows.iter().any(|r| r.op == "scan"));
        let per_step = prof.total().as_secs_f64() / 3.0;
        assert!(
            per_step <= p.secs.max * 1.01,
            "{per_step} vs {}",
            p.secs.max
        );
        assert!(per_step >= 0.5 * p.secs.min, "{per_step} vs {}", p.secs.min);
    }
}
