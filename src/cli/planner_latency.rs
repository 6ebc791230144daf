//! Planner latency: the no-grad batched rollout a sampling planner (MPPI/CEM) runs every control step.
//! K candidate action sequences of horizon H are scored from S starting states (each replicated K
//! times) through one `Predictor`, reusing its buffer pool across calls: rewards only (what MPPI
//! scores; no state decoder) or decoded states as well.
use super::peak_rss;
use super::train_speed::{ACT_DIM, OBS_DIM};
use crate::backend::Device;
use crate::models::{build_default, ModelKind, Predictor, Query};
use crate::util::rng::Rng;
use crate::util::stats::Summary;
use crate::{Error, Result};
use serde_json::Value;
use std::time::Instant;

/// What each call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlannerOutput {
    /// Rewards [B, H]: `Predictor::rewards_into`, the state decoder skipped.
    Rewards,
    /// Decoded states [B, H, d_s] and rewards: `Predictor::predict_into`.
    States,
}

impl PlannerOutput {
    pub fn name(self) -> &'static str {
        match self {
            PlannerOutput::Rewards => "rewards",
            PlannerOutput::States => "states",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "rewards" => Ok(PlannerOutput::Rewards),
            "states" => Ok(PlannerOutput::States),
            _ => Err(Error::Invalid(format!(
                "unknown planner output '{s}' (known: rewards, states)"
            ))),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PlannerCase {
    pub kind: ModelKind,
    /// Starting states S (e.g. 1 for one agent, 64 for a vectorised set of environments).
    pub starts: usize,
    /// Candidate action sequences per starting state.
    pub candidates: usize,
    pub horizon: usize,
    /// Most sequences per `predict_into` call (0: all in one call). Bounds the rollout's memory:
    /// every intermediate of the no-grad tape lives until the call returns.
    pub chunk: usize,
    pub output: PlannerOutput,
}

impl PlannerCase {
    pub fn sequences(&self) -> usize {
        self.starts * self.candidates
    }
    fn chunk_len(&self) -> usize {
        match self.chunk {
            0 => self.sequences(),
            c => c.min(self.sequences()),
        }
    }
}

/// Latency of scoring all S·K candidates once, in seconds.
#[derive(Clone, Debug)]
pub struct PlannerPoint {
    pub case: PlannerCase,
    pub warmup: usize,
    pub secs: Summary,
    pub peak_rss_bytes: Option<u64>,
}

impl PlannerPoint {
    pub fn candidates_per_sec(&self) -> f64 {
        self.case.sequences() as f64 / self.secs.median
    }

    pub fn to_json(&self) -> Value {
        let c = &self.case;
        let ms = |s: f64| Value::from(s * 1e3);
        Value::from_iter([
            ("model", Value::from(c.kind.name())),
            ("starts", c.starts.into()),
            ("candidates", c.candidates.into()),
            ("horizon", c.horizon.into()),
            ("output", c.output.name().into()),
            ("sequences_per_call", c.chunk_len().into()),
            ("warmup", self.warmup.into()),
            ("iters", self.secs.n.into()),
            ("latency_ms_median", ms(self.secs.median)),
            ("latency_ms_p90", ms(self.secs.p90)),
            ("latency_ms_p99", ms(self.secs.p99)),
            ("latency_ms_min", ms(self.secs.min)),
            ("latency_ms_max", ms(self.secs.max)),
            ("candidates_per_s", self.candidates_per_sec().into()),
            (
                "peak_rss_mb",
                self.peak_rss_bytes
                    .map_or(Value::Null, |b| Value::from(b as f64 / 1e6)),
            ),
        ])
    }
}

pub fn measure(
    case: PlannerCase,
    iters: usize,
    warmup: usize,
    seed: u64,
    device: Device,
) -> Result<PlannerPoint> {
    if case.starts == 0 || case.candidates == 0 || case.horizon == 0 || iters == 0 {
        return Err(Error::Invalid(format!(
            "planner bench needs starts, candidates, horizon and iters ≥ 1 (got {}, {}, {}, {iters})",
            case.starts, case.candidates, case.horizon
        )));
    }
    let measured_rss = peak_rss::reset();
    let model = build_default(case.kind, OBS_DIM, ACT_DIM, seed);
    let (n, h) = (case.sequences(), case.horizon);
    let mut rng = Rng::new(seed.wrapping_add(2));
    let starts: Vec<f32> = (0..case.starts * OBS_DIM)
        .map(|_| rng.normal() as f32)
        .collect();
    // Start state s is replicated for its K candidates: rows [s·K, (s+1)·K).
    let s0: Vec<f32> = (0..n)
        .flat_map(|r| {
            let s = r / case.candidates;
            starts[s * OBS_DIM..(s + 1) * OBS_DIM].iter().copied()
        })
        .collect();
    let actions: Vec<f32> = (0..n * h * ACT_DIM)
        .map(|_| rng.range(-1.0, 1.0) as f32)
        .collect();
    let mut states = vec![0.0f32; n * h * OBS_DIM];
    let mut rewards = vec![0.0f32; n * h];
    let mut predictor = Predictor::new(model.as_ref(), device)?;
    let chunk = case.chunk_len();
    let mut score_all = |p: &mut Predictor| -> Result<()> {
        let mut lo = 0;
        while lo < n {
            let hi = (lo + chunk).min(n);
            let q = Query::new(
                &s0[lo * OBS_DIM..hi * OBS_DIM],
                &actions[lo * h * ACT_DIM..hi * h * ACT_DIM],
                hi - lo,
                h,
            );
            let r = &mut rewards[lo * h..hi * h];
            match case.output {
                PlannerOutput::Rewards => p.rewards_into(model.as_ref(), q, r)?,
                PlannerOutput::States => {
                    let st = &mut states[lo * h * OBS_DIM..hi * h * OBS_DIM];
                    p.predict_into(model.as_ref(), q, st, r)?
                }
            }
            lo = hi;
        }
        Ok(())
    };
    for _ in 0..warmup {
        score_all(&mut predictor)?;
    }
    let mut secs = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        score_all(&mut predictor)?;
        secs.push(start.elapsed().as_secs_f64());
    }
    if !rewards.iter().all(|r| r.is_finite()) {
        return Err(Error::NonFinite(
            "planner rollout produced NaN rewards".into(),
        ));
    }
    let secs = Summary::of(&secs)
        .ok_or_else(|| Error::Invalid("no valid timings were recorded".into()))?;
    Ok(PlannerPoint {
        case,
        warmup,
        secs,
        peak_rss_bytes: measured_rss.then(peak_rss::peak_bytes).flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_covers_all_sequences() {
        let case = PlannerCase {
            kind: ModelKind::Mlp,
            starts: 3,
            candidates: 5,
            horizon: 2,
            chunk: 4,
            output: PlannerOutput::States,
        };
        let p = measure(case, 2, 1, 0, Device::Cpu).unwrap();
        assert_eq!(p.secs.n, 2);
        assert!(p.candidates_per_sec() > 0.0);
        assert_eq!(PlannerCase { chunk: 0, ..case }.chunk_len(), 15);
        let rewards_only = PlannerCase {
            output: PlannerOutput::Rewards,
            ..case
        };
        assert_eq!(
            measure(rewards_only, 1, 0, 0, Device::Cpu).unwrap().secs.n,
            1
        );
    }

    #[test]
    fn zero_horizon_is_an_error() {
        let case = PlannerCase {
            kind: ModelKind::Koopman,
            starts: 1,
            candidates: 1,
            horizon: 0,
            chunk: 0,
            output: PlannerOutput::Rewards,
        };
        assert!(measure(case, 1, 0, 0, Device::Cpu).is_err());
    }
}
