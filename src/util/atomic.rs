//! Atomic file replacement: write `path.tmp` beside the target, fsync, rename. Readers see the old
//! file or the complete new one; a failed write (or a panic) removes the temporary file, so nothing
//! half-written is ever left behind.
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Removes the temporary file unless the write got as far as the rename.
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

/// `path` with `.tmp` appended (same directory, so the rename stays on one file system).
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Creates `path.tmp`, hands it to `fill` (which returns it once written), then syncs and renames it
/// onto `path`. `io_err(step, e)` turns an I/O failure into the caller's error type.
pub fn write_atomically<E>(
    path: &Path,
    fill: impl FnOnce(File) -> Result<File, E>,
    io_err: impl Fn(&str, io::Error) -> E,
) -> Result<(), E> {
    if path.file_name().is_none() {
        return Err(io_err(
            "file name",
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        ));
    }
    let tmp = tmp_path(path);
    let file = File::create(&tmp).map_err(|e| io_err("temporary file", e))?;
    let mut guard = TmpGuard {
        path: tmp.clone(),
        armed: true,
    };
    let file = fill(file)?;
    file.sync_all().map_err(|e| io_err("temporary file", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io_err("rename", e))?;
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

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically(
        path,
        |mut f| {
            f.write_all(bytes)?;
            Ok(f)
        },
        |_, e| e,
    )
}
