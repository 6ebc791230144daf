//! The replay buffer's observation storage: f32 values, or bytes for pixel observations (a stack
//! of RGB frames, integers 0–255), which take a quarter of the memory and of the checkpoint.
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub enum ObsStore {
    F32(Vec<f32>),
    /// Pixel values; every stored observation was checked to hold integers in 0..=255.
    U8(Vec<u8>),
}

impl Default for ObsStore {
    fn default() -> Self {
        ObsStore::F32(Vec::new())
    }
}

impl ObsStore {
    /// `len` zeros, as bytes when `bytes`.
    pub fn zeros(len: usize, bytes: bool) -> Self {
        if bytes {
            ObsStore::U8(vec![0; len])
        } else {
            ObsStore::F32(vec![0.0; len])
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ObsStore::F32(v) => v.len(),
            ObsStore::U8(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_bytes(&self) -> bool {
        matches!(self, ObsStore::U8(_))
    }

    /// Checks that `values` can be stored: finite, and for bytes integers in 0..=255. `what`
    /// names them in the error.
    pub fn check(&self, values: &[f32], what: &str) -> Result<()> {
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite(format!(
                "{what}: value {i} is {}",
                values[i]
            )));
        }
        if self.is_bytes() {
            let bad = |x: &f32| !(0.0..=255.0).contains(x) || x.fract() != 0.0;
            if let Some(i) = values.iter().position(bad) {
                return Err(Error::Invalid(format!(
                    "{what}: value {i} is {}, pixel observations hold integers 0–255",
                    values[i]
                )));
            }
        }
        Ok(())
    }

    /// Writes `src` at `at` (values already [`ObsStore::check`]ed).
    pub fn write(&mut self, at: usize, src: &[f32]) {
        match self {
            ObsStore::F32(v) => v[at..at + src.len()].copy_from_slice(src),
            ObsStore::U8(v) => v[at..at + src.len()]
                .iter_mut()
                .zip(src)
                .for_each(|(d, &s)| *d = s as u8),
        }
    }

    /// Reads `dst.len()` values from `at`.
    pub fn read(&self, at: usize, dst: &mut [f32]) {
        let n = dst.len();
        match self {
            ObsStore::F32(v) => dst.copy_from_slice(&v[at..at + n]),
            ObsStore::U8(v) => dst
                .iter_mut()
                .zip(&v[at..at + n])
                .for_each(|(d, &s)| *d = s as f32),
        }
    }

    /// Appends `n` values from `at` to `dst`.
    pub fn extend_into(&self, at: usize, n: usize, dst: &mut Vec<f32>) {
        let start = dst.len();
        dst.resize(start + n, 0.0);
        self.read(at, &mut dst[start..]);
    }
}
