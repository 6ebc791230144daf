//! Reinforcement-learning pieces that sit above the models: the replay buffer (uniform or
//! prioritized) and the TD-MPC agents that train from it.
mod replay;
pub mod run;
mod sum_tree;
pub mod tdmpc;

pub use replay::{ReplayBatch, ReplayBuffer, ReplayConfig, ReplaySnapshot, Sampling};
pub use sum_tree::SumTree;
