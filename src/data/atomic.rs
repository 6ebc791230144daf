//! Atomic file replacement: write `path.tmp` beside the target, fsync, rename. A reader sees
//! the old file or the complete new one, and a failed write leaves no partial file behind.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::error::DataError;

/// Removes the temporary file unless the write got as far as the rename (also on panic).
struct TmpGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// `path` with `.tmp` appended to its file name (same directory, so the rename stays on one
/// file system and is atomic).
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Creates `path.tmp`, hands it to `fill` (which returns it once written), then syncs and
/// renames it onto `path`.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(File) -> Result<File, DataError>,
) -> Result<(), DataError> {
    let file_label = path.display().to_string();
    let io = |field: &str, e: std::io::Error| DataError::Io {
        file: file_label.clone(),
        field: field.to_string(),
        message: e.to_string(),
    };
    if path.file_name().is_none() {
        return Err(DataError::Io {
            file: file_label.clone(),
            field: "file name".to_string(),
            message: "the path has no file name".to_string(),
        });
    }
    let tmp = tmp_path(path);
    let file = File::create(&tmp).map_err(|e| io("temporary file", e))?;
    let mut guard = TmpGuard {
        path: tmp.clone(),
        armed: true,
    };
    let file = fill(file)?;
    file.sync_all().map_err(|e| io("temporary file", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io("rename", e))?;
    guard.armed = false;
    // Persist the rename itself; not every platform can open a directory, so best effort.
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
