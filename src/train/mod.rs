//! Training: one optimiser step at a time, with gradient clipping, a schedule and NaN detection.
mod trainer;

pub use trainer::{StepStats, TrainConfig, Trainer};
