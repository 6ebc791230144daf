//! The paper's experiments as library calls, shared by the CLI subcommands: data collection from the
//! built-in environments (scripted policies or a trained agent), a training run with validation and checkpoints, and the open-loop
//! evaluation protocol (paper §4.1).
mod agent_behaviour;
mod collect;
mod evaluate;
mod normalization;
mod train_run;

pub use agent_behaviour::{checkpoint_file, AgentBehaviour};
pub use collect::{
    collect, collect_each, collect_each_with, collect_pixels, env_dims, Behaviour, Policy, Scripted,
};
pub use evaluate::{evaluate, EvalResult};
pub use normalization::{normalizer_from_json, normalizer_to_json};
pub use train_run::{estimate_bytes, train, TrainOptions, TrainSummary, MAX_LR};
