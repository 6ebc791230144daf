//! Training: one optimiser step at a time, with gradient clipping, a schedule and NaN detection.
#[cfg(feature = "cuda")]
mod cuda_step;
mod trainer;

pub use trainer::{StepStats, TrainConfig, Trainer};
