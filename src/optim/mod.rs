//! Optimisers and their helpers: Adam/AdamW, global-norm gradient clipping, learning-rate schedules.
mod adam;
mod clip;
mod schedule;

pub use adam::{Adam, AdamConfig};
pub use clip::{clip_global_norm, global_norm};
pub use schedule::Schedule;
