//! D4RL key names and the shape rules both file readers share.

use super::error::DataError;

pub const OBSERVATIONS: &str = "observations";
pub const ACTIONS: &str = "actions";
pub const REWARDS: &str = "rewards";
pub const NEXT_OBSERVATIONS: &str = "next_observations";
pub const TERMINALS: &str = "terminals";
pub const TIMEOUTS: &str = "timeouts";
/// Not a D4RL key: u8 frames `(N, height, width, channels)` of `observations`.
pub const PIXELS: &str = "pixels";

/// Feature width of a per-row array: `(N, d)` gives `d`, `(N,)` gives 1.
pub fn row_width(file: &str, key: &str, shape: &[usize]) -> Result<usize, DataError> {
    match shape {
        [_] => Ok(1),
        [_, d] if *d > 0 => Ok(*d),
        _ => Err(DataError::WrongShape {
            file: file.to_string(),
            key: key.to_string(),
            expected: "(N, dim) with dim > 0".to_string(),
            found: shape.to_vec(),
        }),
    }
}

/// A per-row scalar array must be `(N,)` or `(N, 1)`.
pub fn check_scalar_rows(file: &str, key: &str, shape: &[usize]) -> Result<(), DataError> {
    match shape {
        [_] | [_, 1] => Ok(()),
        _ => Err(DataError::WrongShape {
            file: file.to_string(),
            key: key.to_string(),
            expected: "(N,)".to_string(),
            found: shape.to_vec(),
        }),
    }
}
