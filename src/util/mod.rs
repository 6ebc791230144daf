//! Small shared utilities.
pub mod files;
pub mod numpy_default_rng;
pub mod numpy_random_state;
pub mod plot;
pub mod rng;
pub mod simd;
pub mod stats;
