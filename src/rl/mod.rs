//! Reinforcement-learning pieces that sit above the models: the replay buffer (uniform or
//! prioritized) that TD-MPC-style agents train from, and the image augmentation of pixel agents.
pub mod augment;
mod replay;
mod sum_tree;

pub use replay::{ReplayBatch, ReplayBuffer, ReplayConfig, Sampling};
pub use sum_tree::SumTree;
