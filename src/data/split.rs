//! Train/test split by whole episodes, so no test transition's episode was seen in training.

use std::ops::Range;

use super::dataset::Dataset;
use crate::util::rng::Rng;

/// The default share of episodes used for training.
pub const TRAIN_FRACTION: f64 = 0.8;

/// Episode row ranges of each side, each sorted by start row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<Range<usize>>,
    pub test: Vec<Range<usize>>,
}

/// An 80:20 split of `ds`'s episodes, deterministic for `seed`.
pub fn train_test_split(ds: &Dataset, seed: u64) -> Split {
    split_episodes(&ds.episodes(), TRAIN_FRACTION, seed)
}

/// Shuffles episodes with `seed` and gives `round(n · (1 − train_fraction))` to test. With two
/// or more episodes each side gets at least one, so both losses are always defined.
pub fn split_episodes(episodes: &[Range<usize>], train_fraction: f64, seed: u64) -> Split {
    let n = episodes.len();
    let test_share = (1.0 - train_fraction).clamp(0.0, 1.0);
    let mut n_test = (n as f64 * test_share).round() as usize;
    if n >= 2 {
        n_test = n_test.clamp(1, n - 1);
    } else {
        n_test = 0;
    }
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);
    let (test_idx, train_idx) = order.split_at(n_test);
    let pick = |idx: &[usize]| {
        let mut v: Vec<Range<usize>> = idx.iter().map(|&i| episodes[i].clone()).collect();
        v.sort_by_key(|r| r.start);
        v
    };
    Split {
        train: pick(train_idx),
        test: pick(test_idx),
    }
}
