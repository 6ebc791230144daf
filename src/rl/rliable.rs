//! Reliable aggregate metrics for RL results, after Agarwal et al., "Deep Reinforcement Learning at
//! the Edge of the Statistical Precipice" (NeurIPS 2021) and its library `rliable`
//! (`rliable/metrics.py`, `rliable/library.py`).
//!
//! Scores are normalised (e.g. DMC return / 1000) and given per task: `scores[j]` holds the runs
//! (seeds) of task `j`. Tasks may have different numbers of runs. With the same number of runs `N`
//! on every task this is rliable's `N × M` score matrix and every metric equals rliable's.
//!
//! Degenerate input never panics: a metric of no scores (no task, or a task without runs where the
//! metric needs one) is NaN, and so is a bootstrap of zero replicates.
//!
//! Bootstrap replicates are drawn in fixed chunks of [`CHUNK`] replicates, chunk `c` from its own
//! [`Rng`] stream seeded from `(seed, c)`, and run in parallel with rayon: the result for a seed is
//! the same whatever the number of threads.
use crate::util::rng::Rng;
use rayon::prelude::*;
use std::cmp::Ordering;

/// Replicates per independently seeded chunk of a bootstrap (the unit of parallel work).
pub const CHUNK: usize = 256;

/// Confidence level of the intervals: 95%, two-tailed (percentiles 2.5 and 97.5).
pub const CONFIDENCE: f64 = 0.95;

/// The optimality gap's threshold γ: scores above it count as γ.
pub const GAMMA: f64 = 1.0;

/// All scores, task after task.
fn flat(scores: &[Vec<f64>]) -> Vec<f64> {
    scores.iter().flatten().copied().collect()
}

fn cmp(a: &f64, b: &f64) -> Ordering {
    a.total_cmp(b)
}

/// Mean of a slice; NaN when empty.
fn mean_of(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Interquartile mean: `scipy.stats.trim_mean(scores, 0.25, axis=None)` as in rliable's
/// `aggregate_iqm`. All scores are pooled (every run of every task), sorted, `k = ⌊0.25·n⌋` are
/// dropped from each end and the remaining `n − 2k` are averaged.
pub fn iqm(scores: &[Vec<f64>]) -> f64 {
    let mut v = flat(scores);
    trim_mean_25(&mut v)
}

/// The 25%-trimmed mean of `v` (reordered in place), by selection rather than a full sort.
fn trim_mean_25(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let k = n / 4;
    let keep = n - 2 * k;
    if k == 0 {
        return mean_of(v);
    }
    // v[k] is the (k+1)-th smallest; the kept ones are it and the keep − 1 smallest after it.
    let (_, mid, right) = v.select_nth_unstable_by(k, cmp);
    let mut sum = *mid;
    if keep > 1 {
        let (low, nth, _) = right.select_nth_unstable_by(keep - 2, cmp);
        sum += low.iter().sum::<f64>() + *nth;
    }
    sum / keep as f64
}

/// Optimality gap with γ = [`GAMMA`] = 1: `γ − mean(min(scores, γ))` over all scores pooled, as
/// rliable's `aggregate_optimality_gap`. Lower is better.
pub fn optimality_gap(scores: &[Vec<f64>]) -> f64 {
    let v = flat(scores);
    if v.is_empty() {
        return f64::NAN;
    }
    GAMMA - v.iter().map(|&s| s.min(GAMMA)).sum::<f64>() / v.len() as f64
}

/// Per-task means (NaN for a task without runs).
pub fn task_means(scores: &[Vec<f64>]) -> Vec<f64> {
    scores.iter().map(|t| mean_of(t)).collect()
}

/// Mean: the mean over tasks of the per-task mean scores (rliable's `aggregate_mean`).
pub fn mean(scores: &[Vec<f64>]) -> f64 {
    mean_of(&task_means(scores))
}

/// Median: the median over tasks of the per-task mean scores (rliable's `aggregate_median`); the
/// average of the two middle ones for an even number of tasks, as `np.median`.
pub fn median(scores: &[Vec<f64>]) -> f64 {
    let mut m = task_means(scores);
    let n = m.len();
    if n == 0 {
        return f64::NAN;
    }
    m.sort_unstable_by(cmp);
    if n % 2 == 1 {
        m[n / 2]
    } else {
        0.5 * (m[n / 2 - 1] + m[n / 2])
    }
}

/// Probability of improvement `P(X > Y)` (rliable's `probability_of_improvement`): on each task,
/// the Mann–Whitney statistic `U / (n_x·n_y)`, i.e. the fraction of run pairs `(x, y)` with
/// `x > y`, a tie counting ½; averaged over tasks. Identical score sets give exactly 0.5, and
/// `P(X > Y) + P(Y > X) = 1`. `x` and `y` must list the same tasks in the same order; otherwise, or
/// with a task without runs, the result is NaN.
pub fn probability_of_improvement(x: &[Vec<f64>], y: &[Vec<f64>]) -> f64 {
    if x.len() != y.len() || x.is_empty() {
        return f64::NAN;
    }
    let mut total = 0.0;
    for (xs, ys) in x.iter().zip(y) {
        if xs.is_empty() || ys.is_empty() {
            return f64::NAN;
        }
        let mut u = 0.0;
        for &a in xs {
            for &b in ys {
                u += match a.partial_cmp(&b) {
                    Some(Ordering::Greater) => 1.0,
                    Some(Ordering::Equal) => 0.5,
                    _ => 0.0,
                };
            }
        }
        total += u / (xs.len() * ys.len()) as f64;
    }
    total / x.len() as f64
}

/// Fraction of runs with a score above `tau` (rliable's run-score distribution, all scores
/// pooled): one point of a performance profile.
pub fn run_score_fraction(scores: &[Vec<f64>], tau: f64) -> f64 {
    let n: usize = scores.iter().map(Vec::len).sum();
    if n == 0 {
        return f64::NAN;
    }
    scores.iter().flatten().filter(|&&s| s > tau).count() as f64 / n as f64
}

/// The `q`-th percentile (`0 ≤ q ≤ 100`) of `values` with linear interpolation between closest
/// ranks: `np.percentile(values, q)` (method "linear", NumPy's default). For sorted `v` of length
/// `n` it is `v[i] + (v[i+1] − v[i])·f` with `i + f = q/100·(n − 1)`. NaN for no values.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_unstable_by(cmp);
    percentile_sorted(&v, q)
}

fn percentile_sorted(v: &[f64], q: f64) -> f64 {
    let n = v.len();
    if n == 0 || q.is_nan() {
        return f64::NAN;
    }
    let pos = (q / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = (pos.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = pos - lo as f64;
    let (a, b) = (v[lo], v[hi]);
    // NumPy's `_lerp`: exact at both ends of the interval.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// The 95% percentile interval `np.percentile(values, [2.5, 97.5])` (as `arch`'s
/// `conf_int(method="percentile")`).
pub fn percentile_interval(values: &[f64]) -> (f64, f64) {
    let mut v = values.to_vec();
    v.sort_unstable_by(cmp);
    let tail = 50.0 * (1.0 - CONFIDENCE);
    (
        percentile_sorted(&v, tail),
        percentile_sorted(&v, 100.0 - tail),
    )
}

/// A chunk's RNG seed from the bootstrap seed and the chunk index (SplitMix64's finaliser on
/// both, so neighbouring seeds and chunks give unrelated streams).
fn stream_seed(seed: u64, chunk: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(mix(seed) ^ chunk)
}

/// Bootstrap replicates of a vector statistic of `dim` values, row-major `reps × dim`.
///
/// Each replicate resamples every score set independently and stratified by task: cell `(i, j)`
/// (run `i` of task `j`) becomes `scores[j][r]` with `r` uniform over the runs of task `j`, drawn
/// independently per cell (rliable's `StratifiedBootstrap` with `task_bootstrap=False`; with two
/// score sets, its `StratifiedIndependentBootstrap`). `stat` gets the resampled sets and writes the
/// replicate's `dim` values.
pub fn bootstrap_replicates<F>(
    sets: &[&[Vec<f64>]],
    reps: usize,
    seed: u64,
    dim: usize,
    stat: F,
) -> Vec<f64>
where
    F: Fn(&[Vec<Vec<f64>>], &mut [f64]) + Sync,
{
    let chunks = reps.div_ceil(CHUNK);
    let parts: Vec<Vec<f64>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut rng = Rng::new(stream_seed(seed, c as u64));
            let mut buf: Vec<Vec<Vec<f64>>> = sets
                .iter()
                .map(|s| s.iter().map(|t| vec![0.0; t.len()]).collect())
                .collect();
            let n = CHUNK.min(reps - c * CHUNK);
            let mut out = vec![0.0; n * dim];
            for row in out.chunks_mut(dim.max(1)).take(n) {
                for (set, b) in sets.iter().zip(buf.iter_mut()) {
                    for (task, bt) in set.iter().zip(b.iter_mut()) {
                        for v in bt.iter_mut() {
                            *v = task[rng.below(task.len())];
                        }
                    }
                }
                stat(&buf, row);
            }
            out
        })
        .collect();
    parts.concat()
}

/// Per-column 95% percentile intervals of `reps × dim` replicates.
fn column_intervals(reps: &[f64], dim: usize) -> Vec<(f64, f64)> {
    if dim == 0 {
        return Vec::new();
    }
    (0..dim)
        .into_par_iter()
        .map(|d| {
            let col: Vec<f64> = reps.iter().skip(d).step_by(dim).copied().collect();
            percentile_interval(&col)
        })
        .collect()
}

/// 95% stratified-bootstrap percentile interval `(lo, hi)` of `metric` (rliable's
/// `get_interval_estimates`): `reps` replicates, each resampling runs within every task (see
/// [`bootstrap_replicates`]), then `np.percentile(replicates, [2.5, 97.5])`. rliable's README uses
/// 50,000 replicates. Deterministic for a seed.
pub fn stratified_bootstrap_ci<F>(
    scores: &[Vec<f64>],
    metric: F,
    reps: usize,
    seed: u64,
) -> (f64, f64)
where
    F: Fn(&[Vec<f64>]) -> f64 + Sync,
{
    let r = bootstrap_replicates(&[scores], reps, seed, 1, |s, out| out[0] = metric(&s[0]));
    percentile_interval(&r)
}

/// As [`stratified_bootstrap_ci`] for a statistic of two score sets (e.g.
/// [`probability_of_improvement`]), each resampled independently within every task.
pub fn stratified_bootstrap_ci_pair<F>(
    x: &[Vec<f64>],
    y: &[Vec<f64>],
    metric: F,
    reps: usize,
    seed: u64,
) -> (f64, f64)
where
    F: Fn(&[Vec<f64>], &[Vec<f64>]) -> f64 + Sync,
{
    let r = bootstrap_replicates(&[x, y], reps, seed, 1, |s, out| {
        out[0] = metric(&s[0], &s[1])
    });
    percentile_interval(&r)
}

/// A point estimate with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub value: f64,
    /// `[lo, hi]`, percentiles 2.5 and 97.5 of the bootstrap replicates.
    pub ci: [f64; 2],
}

/// A metric of one score set.
pub type Metric = fn(&[Vec<f64>]) -> f64;

/// The four aggregate metrics of one agent, each with its interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Aggregates {
    pub iqm: Estimate,
    pub optimality_gap: Estimate,
    pub mean: Estimate,
    pub median: Estimate,
}

/// IQM, optimality gap, mean and median with 95% stratified-bootstrap intervals from one set of
/// `reps` replicates (as rliable's `get_interval_estimates` with the four aggregate functions).
pub fn aggregates(scores: &[Vec<f64>], reps: usize, seed: u64) -> Aggregates {
    let fns: [Metric; 4] = [iqm, optimality_gap, mean, median];
    let r = bootstrap_replicates(&[scores], reps, seed, 4, |s, out| {
        for (o, f) in out.iter_mut().zip(fns) {
            *o = f(&s[0]);
        }
    });
    let ci = column_intervals(&r, 4);
    let est = |i: usize| Estimate {
        value: fns[i](scores),
        ci: [ci[i].0, ci[i].1],
    };
    Aggregates {
        iqm: est(0),
        optimality_gap: est(1),
        mean: est(2),
        median: est(3),
    }
}

/// A performance profile with its 95% band.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Profile {
    pub taus: Vec<f64>,
    /// Fraction of runs with a score above each τ.
    pub fraction: Vec<f64>,
    /// Lower and upper ends of the band at each τ.
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

/// Performance profile (rliable's `create_performance_profile` with the run-score distribution):
/// at each τ the fraction of runs scoring above τ ([`run_score_fraction`]), with 95%
/// stratified-bootstrap percentile bands from `reps` replicates (rliable uses 2,000).
pub fn performance_profile(scores: &[Vec<f64>], taus: &[f64], reps: usize, seed: u64) -> Profile {
    let fraction = taus
        .iter()
        .map(|&t| run_score_fraction(scores, t))
        .collect();
    let r = bootstrap_replicates(&[scores], reps, seed, taus.len(), |s, out| {
        for (o, &t) in out.iter_mut().zip(taus) {
            *o = run_score_fraction(&s[0], t);
        }
    });
    let (lo, hi) = column_intervals(&r, taus.len()).into_iter().unzip();
    Profile {
        taus: taus.to_vec(),
        fraction,
        lo,
        hi,
    }
}

/// `n` evenly spaced values from `a` to `b` inclusive (`np.linspace`).
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![a],
        _ => (0..n)
            .map(|i| {
                if i == n - 1 {
                    b
                } else {
                    a + (b - a) * i as f64 / (n - 1) as f64
                }
            })
            .collect(),
    }
}
