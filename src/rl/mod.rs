//! Reinforcement-learning pieces that sit above the models: the replay buffer (uniform or
//! prioritized), the TD-MPC agents that train from it, their runner, the image augmentation of
//! pixel agents, and [`rliable`], the aggregate metrics and bootstrap intervals that results are
//! reported with.
mod agent_state;
pub mod augment;
mod obs_store;
mod observation;
mod replay;
pub mod rliable;
pub mod run;
pub mod sac;
mod sum_tree;
pub mod tdmpc;

pub use agent_state::{AgentState, Learned};
pub use obs_store::ObsStore;
pub use observation::check_observation;
pub use replay::{ReplayBatch, ReplayBuffer, ReplayConfig, ReplaySnapshot, Sampling};
pub use sum_tree::SumTree;
