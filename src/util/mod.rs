//! Small shared utilities.
pub mod json;
pub mod rng;
pub mod stats;
