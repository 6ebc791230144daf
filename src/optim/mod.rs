//! Optimisers and their helpers: Adam/AdamW, global-norm gradient clipping, learning-rate schedules,
//! and their per-backend kernels ([`OptimKernel`]) for the training step.
mod adam;
mod clip;
mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod ema;
mod kernel;
mod schedule;

pub use adam::{Adam, AdamConfig};
pub use clip::{clip_global_norm, global_norm};
pub use ema::{ema, EmaScratch};
pub use kernel::OptimKernel;
pub use schedule::Schedule;
