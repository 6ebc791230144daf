//! A run's curves: one row per training episode and per evaluation, written as CSV (and the
//! learning-curve PNG) after every episode, atomically.
use crate::util::files;
use crate::util::plot::{self, Chart, Kind, Series};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainRow {
    pub episode: u64,
    pub env_step: u64,
    pub episode_return: f64,
    pub updates: u64,
    pub consistency: f64,
    pub reward: f64,
    pub value: f64,
    pub policy: f64,
    pub grad_norm: f64,
    /// Wall-clock seconds since the run started (resumed runs continue the count).
    pub seconds: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    pub env_step: u64,
    pub return_mean: f64,
    pub return_std: f64,
    pub episodes: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    pub train: Vec<TrainRow>,
    pub eval: Vec<EvalRow>,
}

impl Curves {
    pub fn train_csv(&self) -> String {
        let mut s = String::from(
            "episode,env_step,episode_return,updates,consistency,reward,value,policy,grad_norm,seconds\n",
        );
        for r in &self.train {
            let _ = writeln!(
                s,
                "{},{},{:.3},{},{:.6},{:.6},{:.6},{:.6},{:.4},{:.1}",
                r.episode,
                r.env_step,
                r.episode_return,
                r.updates,
                r.consistency,
                r.reward,
                r.value,
                r.policy,
                r.grad_norm,
                r.seconds
            );
        }
        s
    }

    /// `env_step,return_mean,return_std,episodes`: the format `koopman rl report` reads.
    pub fn eval_csv(&self) -> String {
        let mut s = String::from("env_step,return_mean,return_std,episodes\n");
        for r in &self.eval {
            let _ = writeln!(
                s,
                "{},{:.3},{:.3},{}",
                r.env_step, r.return_mean, r.return_std, r.episodes
            );
        }
        s
    }

    /// Writes `train.csv`, `eval.csv` and `curve.png` into `dir`.
    pub fn write(&self, dir: &Path, title: &str) -> Result<()> {
        for (name, text) in [
            ("train.csv", self.train_csv()),
            ("eval.csv", self.eval_csv()),
        ] {
            let p = dir.join(name);
            files::write_bytes(&p, text.as_bytes()).map_err(|e| Error::io(&p, e))?;
        }
        let train: Vec<(f64, f64)> = self
            .train
            .iter()
            .map(|r| (r.env_step as f64, r.episode_return))
            .collect();
        let eval: Vec<(f64, f64)> = self
            .eval
            .iter()
            .map(|r| (r.env_step as f64, r.return_mean))
            .collect();
        let series = [
            Series {
                name: "training episode",
                points: &train,
            },
            Series {
                name: "evaluation (mean)",
                points: &eval,
            },
        ];
        let chart = Chart {
            title,
            x_label: "environment steps",
            y_label: "episode return",
            log_y: false,
            kind: Kind::Lines,
        };
        let p = dir.join("curve.png");
        plot::write_png(&p, &chart, &series, None).map_err(|e| Error::io(&p, e))
    }
}
