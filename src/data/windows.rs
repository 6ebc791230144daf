//! Training windows of `horizon + 1` consecutive states that stay inside one episode.
//!
//! Window at start row `s` with horizon `T`: states `s_k = observations[s + k]` for `k < T`,
//! actions and rewards from rows `s..s+T`. The last state `s_T` is
//! `next_observations[s + T - 1]` when the dataset has them, otherwise `observations[s + T]`.
//! So an episode of `L` rows supports `T ≤ L` with next observations and `T ≤ L - 1` without;
//! using the stored next state lets windows reach the episode's final transition.

use std::ops::Range;

use super::batch::Batch;
use super::dataset::Dataset;
use super::error::DataError;
use crate::util::rng::Rng;

/// Label used in errors when the dataset's file is not known.
const IN_MEMORY: &str = "<in-memory dataset>";

/// All valid windows of one horizon over a set of episodes (e.g. one side of a split).
#[derive(Debug, Clone)]
pub struct WindowSampler<'a> {
    ds: &'a Dataset,
    horizon: usize,
    /// Per usable episode: (first start row, number of starts).
    spans: Vec<(usize, usize)>,
    /// `cum[k]` = windows in episodes before `k`; lets window ids map to rows by bisection
    /// without storing one start per window.
    cum: Vec<usize>,
    total: usize,
}

impl<'a> WindowSampler<'a> {
    /// Windows of `horizon` steps within `episodes` (row ranges, e.g. from a [`super::Split`]).
    /// Errors name an in-memory source; see [`WindowSampler::with_source`].
    pub fn new(
        ds: &'a Dataset,
        episodes: &[Range<usize>],
        horizon: usize,
    ) -> Result<Self, DataError> {
        Self::with_source(ds, episodes, horizon, IN_MEMORY)
    }

    /// As [`WindowSampler::new`], with `source` (the dataset's file) named in errors.
    pub fn with_source(
        ds: &'a Dataset,
        episodes: &[Range<usize>],
        horizon: usize,
        source: &str,
    ) -> Result<Self, DataError> {
        // Checked once here so the hot sampling path can index without bounds surprises.
        ds.validate(source)?;
        let bad = |message: String| DataError::BadEpisodes {
            file: source.to_string(),
            message,
        };
        if episodes.is_empty() {
            return Err(DataError::Empty {
                file: source.to_string(),
                key: "episodes".to_string(),
            });
        }
        let extra_state = usize::from(ds.next_observations.is_some());
        let mut spans = Vec::new();
        let mut cum = Vec::new();
        let mut total = 0usize;
        let mut longest = 0usize;
        for ep in episodes {
            if ep.start >= ep.end || ep.end > ds.len() {
                return Err(bad(format!(
                    "range {ep:?} is empty or outside 0..{}",
                    ds.len()
                )));
            }
            if let Some(i) = (ep.start..ep.end - 1).find(|&i| ds.ends_episode(i)) {
                return Err(bad(format!(
                    "range {ep:?} crosses the episode end at row {i}"
                )));
            }
            let states = ep.len() + extra_state;
            longest = longest.max(states - 1);
            if states > horizon {
                let count = states - horizon;
                spans.push((ep.start, count));
                cum.push(total);
                total += count;
            }
        }
        if total == 0 {
            return Err(DataError::HorizonTooLong {
                file: source.to_string(),
                horizon,
                longest,
            });
        }
        Ok(WindowSampler {
            ds,
            horizon,
            spans,
            cum,
            total,
        })
    }

    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Number of distinct windows.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Start row of window `i` (windows ordered by episode, then start), if `i < len()`.
    pub fn start(&self, i: usize) -> Option<usize> {
        if i >= self.total {
            return None;
        }
        let k = self.cum.partition_point(|&c| c <= i).checked_sub(1)?;
        let (first, _) = self.spans.get(k)?;
        Some(first + (i - self.cum[k]))
    }

    /// Every start row, in window order.
    pub fn all_starts(&self) -> Vec<usize> {
        self.spans
            .iter()
            .flat_map(|&(first, count)| first..first + count)
            .collect()
    }

    /// Window `i` as a batch of one, for deterministic evaluation.
    pub fn nth(&self, i: usize) -> Option<Batch> {
        self.gather(&[i])
    }

    /// Windows with the given ids (`0..len()`) as one batch; `None` if any id is out of range.
    pub fn gather(&self, ids: &[usize]) -> Option<Batch> {
        let mut batch = self.empty_batch(ids.len());
        for &i in ids {
            let start = self.start(i)?;
            self.push_window(&mut batch, start);
        }
        Some(batch)
    }

    /// `b` windows drawn uniformly (with replacement) over all windows; deterministic given
    /// `rng`'s state, which advances by `b` draws.
    pub fn sample(&self, b: usize, rng: &mut Rng) -> Batch {
        let mut batch = self.empty_batch(b);
        for _ in 0..b {
            // `below(total)` < total, so `start` always succeeds; `if let` keeps it panic-free.
            if let Some(start) = self.start(rng.below(self.total)) {
                self.push_window(&mut batch, start);
            }
        }
        batch
    }

    fn empty_batch(&self, capacity: usize) -> Batch {
        Batch::with_capacity(capacity, self.horizon, self.ds.obs_dim, self.ds.act_dim)
    }

    fn push_window(&self, batch: &mut Batch, start: usize) {
        let ds = self.ds;
        let t = self.horizon;
        for k in 0..t {
            batch.states.extend_from_slice(ds.observation(start + k));
        }
        match &ds.next_observations {
            Some(next) if t > 0 => {
                let at = (start + t - 1) * ds.obs_dim;
                batch
                    .states
                    .extend_from_slice(next.get(at..at + ds.obs_dim).unwrap_or(&[]));
            }
            _ => batch.states.extend_from_slice(ds.observation(start + t)),
        }
        for k in 0..t {
            batch.actions.extend_from_slice(ds.action(start + k));
        }
        batch
            .rewards
            .extend_from_slice(ds.rewards.get(start..start + t).unwrap_or(&[]));
        batch.b += 1;
    }
}
