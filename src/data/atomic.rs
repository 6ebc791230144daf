//! Atomic writes for dataset files, with failures reported as `DataError` naming the file.
use std::fs::File;
use std::path::Path;

use super::error::DataError;
use crate::util::files as atomic;

/// See [`atomic::write_atomically`].
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(File) -> Result<File, DataError>,
) -> Result<(), DataError> {
    let file = path.display().to_string();
    atomic::write_atomically(path, fill, |field, e| DataError::Io {
        file: file.clone(),
        field: field.to_string(),
        message: e.to_string(),
    })
}
