//! Synthetic systems with known Koopman eigenvalues, for tests and the first demo; random windows for
//! speed measurements.
mod oscillator;
mod random_batch;

pub use oscillator::Oscillator;
