//! Training: one step for every backend (forward, backward, clipping, AdamW).
mod trainer;

pub use trainer::{StepStats, TrainConfig, Trainer};
