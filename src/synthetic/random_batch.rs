//! Random training windows of any size, for speed measurements: the step time does not depend on the
//! data, so standard-normal states, actions and rewards stand in for a real replay buffer.
use crate::models::SeqBatch;
use crate::util::rng::Rng;

/// Owned storage behind a [`SeqBatch`]: states [B, T+1, d_s], actions [B, T, d_a], rewards [B, T].
#[derive(Clone, Debug)]
pub struct RandomBatch {
    pub b: usize,
    pub t: usize,
    pub obs_dim: usize,
    pub act_dim: usize,
    pub states: Vec<f32>,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
}

impl RandomBatch {
    pub fn new(b: usize, t: usize, obs_dim: usize, act_dim: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut draw = |n: usize| (0..n).map(|_| rng.normal() as f32).collect::<Vec<f32>>();
        let states = draw(b * (t + 1) * obs_dim);
        let actions = draw(b * t * act_dim);
        let rewards = draw(b * t);
        RandomBatch {
            b,
            t,
            obs_dim,
            act_dim,
            states,
            actions,
            rewards,
        }
    }

    pub fn batch(&self) -> SeqBatch<'_> {
        SeqBatch {
            b: self.b,
            t: self.t,
            obs_dim: self.obs_dim,
            act_dim: self.act_dim,
            states: &self.states,
            actions: &self.actions,
            rewards: &self.rewards,
        }
    }
}
