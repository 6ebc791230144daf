//! Small shared utilities.
pub mod atomic;
mod font5x7;
pub mod json;
pub mod numpy_rng;
pub mod plot;
pub mod rng;
pub mod simd;
pub mod stats;
