//! Image observations kept with a dataset: one `height × width × channels` u8 frame per row, in
//! HWC order (NumPy's and the pixel-based DMC agents' layout).

use super::error::DataError;

/// Row `i` is the frame of `observations[i]`. The frame of an episode's final
/// `next_observations` row is not kept: within an episode it is the next row's frame, and only
/// the state after the last action has none (one frame per row keeps the file at half the size).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frames {
    /// N × height × width × channels.
    pub data: Vec<u8>,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Frames {
    /// Bytes per frame.
    pub fn frame_len(&self) -> usize {
        self.height
            .saturating_mul(self.width)
            .saturating_mul(self.channels)
    }

    /// Number of frames (0 when the frame size is 0).
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.frame_len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frame `i` (empty if out of range).
    pub fn frame(&self, i: usize) -> &[u8] {
        let len = self.frame_len();
        let start = i.saturating_mul(len);
        self.data
            .get(start..start.saturating_add(len))
            .unwrap_or(&[])
    }

    /// Checks that there are exactly `n` non-empty frames; `source`/`key` label the error.
    pub fn check(&self, n: usize, source: &str, key: &str) -> Result<(), DataError> {
        let len = self.frame_len();
        if len == 0 || n.checked_mul(len) != Some(self.data.len()) {
            return Err(DataError::InconsistentLength {
                file: source.to_string(),
                key: key.to_string(),
                expected: format!(
                    "{n} non-empty frames × {}×{}×{} = {} bytes",
                    self.height,
                    self.width,
                    self.channels,
                    n.saturating_mul(len)
                ),
                found: self.data.len(),
            });
        }
        Ok(())
    }
}
