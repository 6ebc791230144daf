//! An offline RL dataset in D4RL's flat layout: row `i` is the transition
//! `(observations[i], actions[i], rewards[i], next_observations[i])`, and episodes are runs of
//! rows closed by `terminals | timeouts`.

use std::ops::Range;

use super::error::DataError;
use super::frames::Frames;

/// Row-major transition arrays with D4RL key names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    /// N × obs_dim.
    pub observations: Vec<f32>,
    /// N × act_dim.
    pub actions: Vec<f32>,
    /// N.
    pub rewards: Vec<f32>,
    /// N × obs_dim, when the source has it (D4RL v2 files do).
    pub next_observations: Option<Vec<f32>>,
    /// N; the episode ended in a terminal state (e.g. fell over).
    pub terminals: Vec<bool>,
    /// N; the episode was cut by a time limit.
    pub timeouts: Vec<bool>,
    /// N frames, the image of each observation, when collected with pixels.
    pub pixels: Option<Frames>,
    pub obs_dim: usize,
    pub act_dim: usize,
}

impl Dataset {
    /// Number of transitions (rows). Taken from `rewards`, the one array without a feature axis.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that every array has `len()` rows and holds only finite values.
    /// `source` names the file (or origin) in the error.
    pub fn validate(&self, source: &str) -> Result<(), DataError> {
        let n = self.len();
        if n == 0 {
            return Err(DataError::Empty {
                file: source.to_string(),
                key: "rewards".to_string(),
            });
        }
        if self.obs_dim == 0 {
            return Err(DataError::WrongShape {
                file: source.to_string(),
                key: "observations".to_string(),
                expected: "(N, obs_dim) with obs_dim > 0".to_string(),
                found: vec![n, 0],
            });
        }
        let check_len = |key: &str, found: usize, width: usize| {
            // Overflow here means absurd dims; report it as a length mismatch, not a panic.
            match n.checked_mul(width) {
                Some(expected) if expected == found => Ok(()),
                _ => Err(DataError::InconsistentLength {
                    file: source.to_string(),
                    key: key.to_string(),
                    expected: format!("{n} rows × {width} = {} values", n.saturating_mul(width)),
                    found,
                }),
            }
        };
        check_len("observations", self.observations.len(), self.obs_dim)?;
        check_len("actions", self.actions.len(), self.act_dim)?;
        if let Some(next) = &self.next_observations {
            check_len("next_observations", next.len(), self.obs_dim)?;
        }
        check_len("terminals", self.terminals.len(), 1)?;
        check_len("timeouts", self.timeouts.len(), 1)?;
        if let Some(pixels) = &self.pixels {
            pixels.check(n, source, "pixels")?;
        }

        check_finite(source, "observations", &self.observations, self.obs_dim)?;
        check_finite(source, "actions", &self.actions, self.act_dim)?;
        check_finite(source, "rewards", &self.rewards, 1)?;
        if let Some(next) = &self.next_observations {
            check_finite(source, "next_observations", next, self.obs_dim)?;
        }
        Ok(())
    }

    /// Whether row `i` closes an episode: a terminal, a timeout, or the last row (a dataset may
    /// stop mid-episode, and nothing follows it).
    pub fn ends_episode(&self, i: usize) -> bool {
        i + 1 == self.len()
            || self.terminals.get(i).copied().unwrap_or(false)
            || self.timeouts.get(i).copied().unwrap_or(false)
    }

    /// Episodes as row ranges, in file order; empty for an empty dataset.
    pub fn episodes(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        for i in 0..self.len() {
            if self.ends_episode(i) {
                out.push(start..i + 1);
                start = i + 1;
            }
        }
        out
    }

    /// Observation row `i` (empty if out of range).
    pub fn observation(&self, i: usize) -> &[f32] {
        row(&self.observations, i, self.obs_dim)
    }

    /// Action row `i` (empty if out of range).
    pub fn action(&self, i: usize) -> &[f32] {
        row(&self.actions, i, self.act_dim)
    }
}

fn row(data: &[f32], i: usize, width: usize) -> &[f32] {
    let start = i.saturating_mul(width);
    data.get(start..start.saturating_add(width)).unwrap_or(&[])
}

fn check_finite(source: &str, key: &str, data: &[f32], width: usize) -> Result<(), DataError> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let width = width.max(1);
            Err(DataError::NonFinite {
                file: source.to_string(),
                key: key.to_string(),
                row: i / width,
                col: i % width,
                value: data[i],
            })
        }
    }
}
