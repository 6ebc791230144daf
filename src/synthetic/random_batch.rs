//! Random training windows of any size, for speed measurements: the step time does not depend on the
//! data, so standard-normal states, actions and rewards stand in for a real replay buffer.
use crate::data::Batch;
use crate::util::rng::Rng;

impl Batch {
    /// States [B, T+1, d_s], actions [B, T, d_a] and rewards [B, T], all standard normal.
    pub fn random(b: usize, t: usize, obs_dim: usize, act_dim: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut draw = |n: usize| (0..n).map(|_| rng.normal() as f32).collect::<Vec<f32>>();
        let states = draw(b * (t + 1) * obs_dim);
        let actions = draw(b * t * act_dim);
        let rewards = draw(b * t);
        Batch {
            b,
            t,
            obs_dim,
            act_dim,
            states,
            actions,
            rewards,
        }
    }
}
