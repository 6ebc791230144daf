//! Per-step prediction error charts (state or reward MSE against the prediction step), shared by
//! `compare` (every model) and `eval` (one checkpoint).
use crate::util::plot::{self, Chart, Kind, Series};
use crate::{Error, Result};
use std::path::Path;

/// Which per-step error a chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    State,
    Reward,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::State => "state",
            Metric::Reward => "reward",
        }
    }
}

/// Per-step error curves, one line per model (the legend names it), log-scale; PNG or SVG by the
/// path's extension.
pub fn plot_curves(path: &Path, metric: Metric, curves: &[(&str, &[f64])]) -> Result<()> {
    let pts: Vec<Vec<(f64, f64)>> = curves
        .iter()
        .map(|(_, c)| {
            c.iter()
                .enumerate()
                .map(|(k, &v)| ((k + 1) as f64, v))
                .collect()
        })
        .collect();
    let series: Vec<Series> = curves
        .iter()
        .zip(&pts)
        .map(|((n, _), p)| Series { name: n, points: p })
        .collect();
    let title = format!("open-loop {} prediction error", metric.name());
    let y_label = format!("{} MSE (normalised)", metric.name());
    let chart = Chart {
        title: &title,
        x_label: "prediction step",
        y_label: &y_label,
        log_y: true,
        kind: Kind::Lines,
    };
    let svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if svg {
        plot::write_svg(path, &chart, &series, None)
    } else {
        plot::write_png(path, &chart, &series, None)
    }
    .map_err(|e| Error::io(path, e))
}
