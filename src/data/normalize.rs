//! Per-dimension state standardisation and reward scaling, fitted on the training episodes
//! only so test statistics never leak into training.

use std::ops::Range;

use super::batch::Batch;
use super::dataset::Dataset;
use super::error::DataError;

/// Smallest standard deviation used, so constant dimensions do not divide by zero.
pub const STD_FLOOR: f32 = 1e-6;

/// `s' = (s − mean) / std` per state dimension; `r' = r / reward_std` (rewards are only
/// scaled: shifting them would change which behaviour a planner prefers under termination).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalizer {
    pub obs_mean: Vec<f32>,
    pub obs_std: Vec<f32>,
    pub reward_std: f32,
}

impl Normalizer {
    /// Statistics over the observation rows and rewards of `episodes` (population std, in f64).
    pub fn fit(ds: &Dataset, episodes: &[Range<usize>]) -> Result<Self, DataError> {
        let d = ds.obs_dim;
        let rows: Vec<usize> = episodes
            .iter()
            .flat_map(|r| r.clone())
            .filter(|&i| i < ds.len() && ds.observation(i).len() == d)
            .collect();
        if rows.is_empty() || d == 0 {
            return Err(DataError::Empty {
                file: "<normalizer fit>".to_string(),
                key: "episodes".to_string(),
            });
        }
        let n = rows.len() as f64;
        let mut mean = vec![0f64; d];
        let mut r_mean = 0f64;
        for &i in &rows {
            for (m, &x) in mean.iter_mut().zip(ds.observation(i)) {
                *m += f64::from(x);
            }
            r_mean += f64::from(ds.rewards[i]);
        }
        mean.iter_mut().for_each(|m| *m /= n);
        r_mean /= n;
        let mut var = vec![0f64; d];
        let mut r_var = 0f64;
        for &i in &rows {
            for ((v, &x), m) in var.iter_mut().zip(ds.observation(i)).zip(&mean) {
                *v += (f64::from(x) - m).powi(2);
            }
            r_var += (f64::from(ds.rewards[i]) - r_mean).powi(2);
        }
        let std = |v: f64| ((v / n).sqrt() as f32).max(STD_FLOOR);
        Ok(Normalizer {
            obs_mean: mean.iter().map(|&m| m as f32).collect(),
            obs_std: var.iter().map(|&v| std(v)).collect(),
            reward_std: std(r_var),
        })
    }

    /// The identity transform for `obs_dim` dimensions.
    pub fn identity(obs_dim: usize) -> Self {
        Normalizer {
            obs_mean: vec![0.0; obs_dim],
            obs_std: vec![1.0; obs_dim],
            reward_std: 1.0,
        }
    }

    /// Standardises row-major states in place (any number of rows).
    pub fn normalize_states(&self, states: &mut [f32]) {
        self.map_states(states, |x, m, s| (x - m) / s);
    }

    /// Inverse of [`Normalizer::normalize_states`].
    pub fn denormalize_states(&self, states: &mut [f32]) {
        self.map_states(states, |x, m, s| x * s + m);
    }

    pub fn normalize_rewards(&self, rewards: &mut [f32]) {
        rewards.iter_mut().for_each(|r| *r /= self.reward_std);
    }

    pub fn denormalize_rewards(&self, rewards: &mut [f32]) {
        rewards.iter_mut().for_each(|r| *r *= self.reward_std);
    }

    /// Normalises a batch's states and rewards (actions are left as stored: D4RL actions are
    /// already in [-1, 1]).
    pub fn apply(&self, batch: &mut Batch) {
        self.normalize_states(&mut batch.states);
        self.normalize_rewards(&mut batch.rewards);
    }

    /// Inverse of [`Normalizer::apply`].
    pub fn invert(&self, batch: &mut Batch) {
        self.denormalize_states(&mut batch.states);
        self.denormalize_rewards(&mut batch.rewards);
    }

    fn map_states(&self, states: &mut [f32], f: impl Fn(f32, f32, f32) -> f32) {
        let d = self.obs_mean.len().min(self.obs_std.len());
        if d == 0 {
            return;
        }
        for row in states.chunks_mut(d) {
            for ((x, &m), &s) in row.iter_mut().zip(&self.obs_mean).zip(&self.obs_std) {
                *x = f(*x, m, s);
            }
        }
    }
}
