//! Training throughput: full gradient updates (forward, backward, clipping, Adam) per second on random
//! batches, the quantity of the paper's Table 3.
use super::peak_rss;
use crate::backend::Device;
use crate::data::Batch;
use crate::models::{build_default, ModelKind};
use crate::train::{TrainConfig, Trainer};
use crate::util::json::{num, obj};
use crate::util::stats::Summary;
use crate::{Error, Result};
use serde_json::Value;
use std::time::Instant;

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
        obj([
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
                    .map_or(Value::Null, |b| num(b as f64 / 1e6)),
            ),
            ("paper_a100_its", paper.map_or(Value::Null, num)),
        ])
    }
}

/// Builds the default model, runs `warmup` untimed steps (first-step allocations, page faults), then
/// times `iters` steps one by one.
pub fn measure(
    kind: ModelKind,
    seq_len: usize,
    batch: usize,
    iters: usize,
    warmup: usize,
    seed: u64,
    device: Device,
) -> Result<TrainPoint> {
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
    let mut secs = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        trainer.step(&b)?;
        secs.push(start.elapsed().as_secs_f64());
    }
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
        assert!(measure(ModelKind::Mlp, 0, 4, 1, 0, 0, Device::Cpu).is_err());
        assert!(measure(ModelKind::Mlp, 4, 4, 0, 0, 0, Device::Cpu).is_err());
    }
}
