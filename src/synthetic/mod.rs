//! Synthetic systems with known Koopman eigenvalues, for tests and the first demo.
mod oscillator;

pub use oscillator::{Oscillator, Windows};
