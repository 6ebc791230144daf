//! Reinforcement-learning pieces that sit above the models: the replay buffer (uniform or
//! prioritized) that TD-MPC-style agents train from, and [`rliable`], the aggregate metrics and
//! bootstrap intervals that results are reported with.
mod replay;
pub mod rliable;
mod sum_tree;

pub use replay::{ReplayBatch, ReplayBuffer, ReplayConfig, Sampling};
pub use sum_tree::SumTree;
