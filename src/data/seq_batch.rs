//! A borrowed view of a batch of training windows.
use crate::{Error, Result};

/// Layout: states [B, T+1, d_s] (s₀..s_T), actions [B, T, d_a] (a₀..a_{T−1}), rewards [B, T].
#[derive(Clone, Copy, Debug)]
pub struct SeqBatch<'a> {
    pub b: usize,
    pub t: usize,
    pub obs_dim: usize,
    pub act_dim: usize,
    pub states: &'a [f32],
    pub actions: &'a [f32],
    pub rewards: &'a [f32],
}

impl SeqBatch<'_> {
    /// Checks sizes against the model's dimensions; a mismatch is an error naming the field.
    pub fn check(&self, obs_dim: usize, act_dim: usize) -> Result<()> {
        let err = |field: &str, got: usize, want: usize| {
            Err(Error::Shape(format!(
                "batch field '{field}' has {got} values, expected {want}"
            )))
        };
        if self.obs_dim != obs_dim || self.act_dim != act_dim {
            return Err(Error::Shape(format!(
                "batch has obs_dim {} and act_dim {}, the model expects {obs_dim} and {act_dim}",
                self.obs_dim, self.act_dim
            )));
        }
        if self.t == 0 || self.b == 0 {
            return Err(Error::Shape("batch is empty (B = 0 or T = 0)".into()));
        }
        let (b, t) = (self.b, self.t);
        if self.states.len() != b * (t + 1) * obs_dim {
            return err("states", self.states.len(), b * (t + 1) * obs_dim);
        }
        if self.actions.len() != b * t * act_dim {
            return err("actions", self.actions.len(), b * t * act_dim);
        }
        if self.rewards.len() != b * t {
            return err("rewards", self.rewards.len(), b * t);
        }
        Ok(())
    }
    /// s₀ of every window: [B, d_s].
    pub fn first_states(&self) -> Vec<f32> {
        let (t1, d) = (self.t + 1, self.obs_dim);
        (0..self.b)
            .flat_map(|i| self.states[i * t1 * d..i * t1 * d + d].iter().copied())
            .collect()
    }
    /// s₁..s_T of every window: [B, T, d_s].
    pub fn next_states(&self) -> Vec<f32> {
        let (t1, d) = (self.t + 1, self.obs_dim);
        (0..self.b)
            .flat_map(|i| {
                self.states[(i * t1 + 1) * d..(i + 1) * t1 * d]
                    .iter()
                    .copied()
            })
            .collect()
    }
}
