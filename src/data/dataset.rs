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

/// D4RL's mixed datasets (medium-expert is medium followed by expert): `parts`, each named by its
/// file, one after another. The last row before every seam closes an episode (a timeout where it
/// was cut mid-episode, as [`Dataset::ends_episode`] read it alone), so no episode runs across a
/// seam; the last part ends as it ended, so one part comes out unchanged.
/// `next_observations` and `pixels` are kept when every part has them, else dropped (say so to
/// the user: [`Concat::dropped`]). Observation, action and frame sizes must agree.
pub fn concat(parts: &[(&str, &Dataset)]) -> Result<Concat, DataError> {
    let Some(&(_, first)) = parts.first() else {
        return Err(DataError::Empty {
            file: "(no files)".to_string(),
            key: "rewards".to_string(),
        });
    };
    let frame = |d: &Dataset| d.pixels.as_ref().map(|p| (p.height, p.width, p.channels));
    for &(file, d) in parts {
        let mismatch = |key: &str, expected: String, found: Vec<usize>| DataError::WrongShape {
            file: file.to_string(),
            key: key.to_string(),
            expected,
            found,
        };
        let (n, first_file) = (d.len(), parts[0].0);
        if d.obs_dim != first.obs_dim {
            let want = format!("(N, {}) as in {first_file}", first.obs_dim);
            return Err(mismatch("observations", want, vec![n, d.obs_dim]));
        }
        if d.act_dim != first.act_dim {
            let want = format!("(N, {}) as in {first_file}", first.act_dim);
            return Err(mismatch("actions", want, vec![n, d.act_dim]));
        }
        if let (Some(a), Some(b)) = (frame(first), frame(d)) {
            if a != b {
                let want = format!("(N, {}, {}, {}) as in {first_file}", a.0, a.1, a.2);
                return Err(mismatch("pixels", want, vec![n, b.0, b.1, b.2]));
            }
        }
    }
    let count = |has: fn(&Dataset) -> bool| parts.iter().filter(|(_, d)| has(d)).count();
    let with_next = count(|d| d.next_observations.is_some());
    let with_pixels = count(|d| d.pixels.is_some());
    let (all_next, all_pixels) = (with_next == parts.len(), with_pixels == parts.len());
    let mut out = Dataset {
        next_observations: all_next.then(Vec::new),
        pixels: frame(first).filter(|_| all_pixels).map(|(h, w, c)| Frames {
            data: Vec::new(),
            height: h,
            width: w,
            channels: c,
        }),
        obs_dim: first.obs_dim,
        act_dim: first.act_dim,
        ..Dataset::default()
    };
    for (k, &(_, d)) in parts.iter().enumerate() {
        out.observations.extend_from_slice(&d.observations);
        out.actions.extend_from_slice(&d.actions);
        out.rewards.extend_from_slice(&d.rewards);
        out.terminals.extend_from_slice(&d.terminals);
        out.timeouts.extend_from_slice(&d.timeouts);
        if let (Some(o), Some(n)) = (out.next_observations.as_mut(), &d.next_observations) {
            o.extend_from_slice(n);
        }
        if let (Some(o), Some(p)) = (out.pixels.as_mut(), &d.pixels) {
            o.data.extend_from_slice(&p.data);
        }
        let seam = (k + 1 < parts.len())
            .then(|| out.len().checked_sub(1))
            .flatten();
        if let Some(i) = seam.filter(|&i| !out.terminals[i] && !out.timeouts[i]) {
            out.timeouts[i] = true;
        }
    }
    let dropped = [
        ("next_observations", with_next > 0 && !all_next),
        ("pixels", with_pixels > 0 && !all_pixels),
    ];
    let dropped = dropped
        .iter()
        .filter(|(_, d)| *d)
        .map(|(k, _)| *k)
        .collect();
    Ok(Concat { data: out, dropped })
}

/// What [`concat`] made.
#[derive(Debug)]
pub struct Concat {
    pub data: Dataset,
    /// Arrays that some parts lack and the result therefore has not.
    pub dropped: Vec<&'static str>,
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
