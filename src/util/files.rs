//! Files in and out, checked before any work starts.
//!
//! - Inputs must be regular files (a symlink is followed): a FIFO, device, socket or directory is an
//!   error, never a blocking open or an endless read, and a read never goes past the size the file
//!   had when it was opened.
//! - Outputs are written atomically: a uniquely named temporary file in the target's folder
//!   (`tempfile`), fsync, then `persist` (a rename) onto the target, so two writers never share a
//!   temporary name and readers see the old file or the complete new one. A symlink at the output
//!   path is followed: its target is replaced atomically and the link is kept. A directory, FIFO,
//!   device or socket at the output path is an error, and so is an output that is the same file
//!   (same device and inode) as one of the command's inputs.
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// "a directory", "a FIFO", … for a file that is not a regular file.
fn describe(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

fn not_regular(meta: &Metadata, role: &str) -> io::Error {
    invalid(format!(
        "is {}; {role} must be a regular file",
        describe(meta)
    ))
}

/// Opens an input for reading after checking that it is a regular file (without blocking on a
/// FIFO); returns the file and its size in bytes.
pub fn open_input(path: &Path) -> io::Result<(File, u64)> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta, "an input"));
    }
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        // Should the path be swapped for a FIFO after the check, the open still does not block.
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta, "an input"));
    }
    Ok((file, meta.len()))
}

/// Reads a whole input file (see [`open_input`]), never more than its size at open.
pub fn read_input(path: &Path) -> io::Result<Vec<u8>> {
    let (file, len) = open_input(path)?;
    let size =
        usize::try_from(len).map_err(|_| invalid(format!("{len} bytes do not fit in memory")))?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("reading it needs {} of memory", human_bytes(len)),
        )
    })?;
    file.take(len).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "the file shrank while being read ({} of {len} bytes)",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// (device, inode) of an existing file, following symlinks.
fn identity(path: &Path) -> Option<(u64, u64)> {
    let meta = fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Whether `a` and `b` name the same existing file (same device and inode, so also through a hard
/// link, a symlink or `./`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((identity(a), identity(b)), (Some(x), Some(y)) if x == y)
}

/// The file an output path writes to: the path itself, or the target of a symlink (followed to the
/// end; a dangling link is an error).
pub fn output_target(path: &Path) -> io::Result<PathBuf> {
    if path.file_name().is_none() {
        return Err(invalid(
            "names a folder, not a file; give a file path such as out/model.safetensors",
        ));
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            invalid(format!(
                "is a symbolic link whose target cannot be resolved ({e}); outputs through a link \
                 replace its target, which must exist"
            ))
        }),
        Ok(_) => Ok(path.to_path_buf()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(e),
    }
}

/// The folder an output file is written in ("." for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks an output path before any work: what is there now (nothing, or a regular file, through
/// any symlink), that it is none of `inputs`, and that its folder exists and takes a new file.
/// Returns the file that will be written (the symlink's target for a link).
pub fn check_output(path: &Path, inputs: &[&Path]) -> io::Result<PathBuf> {
    let target = output_target(path)?;
    if let Ok(meta) = fs::metadata(&target) {
        if !meta.is_file() {
            return Err(not_regular(&meta, "an output"));
        }
        if let Some(input) = inputs.iter().find(|i| same_file(&target, i)) {
            return Err(invalid(format!(
                "is the same file as the input {}; writing it would destroy that input",
                input.display()
            )));
        }
    }
    let dir = parent_dir(&target);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) => {
            return Err(invalid(format!(
                "its folder {} is {}",
                dir.display(),
                describe(&m)
            )))
        }
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("its folder {} cannot be used: {e}", dir.display()),
            ))
        }
    }
    // Writable? Create (and remove) a temporary file where the real one will go.
    temp_in(dir, &target).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create a file in its folder {}: {e}", dir.display()),
        )
    })?;
    Ok(target)
}

fn temp_in(dir: &Path, target: &Path) -> io::Result<tempfile::NamedTempFile> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // tempfile's default is 0600; a replaced file keeps its mode, a new one gets the usual
        // 0666 less the umask, as `File::create` would give.
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(target).map_or(0o666, |m| m.permissions().mode() & 0o7777);
        b.permissions(fs::Permissions::from_mode(mode));
    }
    b.tempfile_in(dir)
}

/// Writes `path` atomically: `fill` writes a uniquely named temporary file in the target's folder
/// and returns it; it is synced and renamed onto the target. On any failure (or a panic) the
/// temporary file is removed. `io_err(step, e)` turns an I/O failure into the caller's error.
pub fn write_atomically<E>(
    path: &Path,
    fill: impl FnOnce(File) -> Result<File, E>,
    io_err: impl Fn(&str, io::Error) -> E,
) -> Result<(), E> {
    let target = output_target(path).map_err(|e| io_err("path", e))?;
    if let Ok(meta) = fs::metadata(&target) {
        if !meta.is_file() {
            return Err(io_err("path", not_regular(&meta, "an output")));
        }
    }
    let dir = parent_dir(&target);
    let (file, tmp) = temp_in(dir, &target)
        .map_err(|e| io_err("temporary file", e))?
        .into_parts();
    let file = fill(file)?;
    file.sync_all().map_err(|e| io_err("temporary file", e))?;
    drop(file);
    tmp.persist(&target)
        .map_err(|e| io_err("rename", e.error))?;
    // Persist the rename itself; not every platform can open a directory, so best effort.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
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

/// `1.5 GB`-style size for messages.
pub fn human_bytes(n: u64) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Physical memory of this machine (`MemTotal`), if it can be read.
pub fn total_memory() -> Option<u64> {
    let info = fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Refuses work whose memory estimate (`bytes`, `None` for an overflow) exceeds this machine's
/// memory, saying how much is needed. `what` names the work and the arguments that size it.
pub fn check_memory(what: &str, bytes: Option<u64>) -> Result<(), String> {
    let total = total_memory();
    match (bytes, total) {
        (None, _) => Err(format!(
            "{what} would need more memory than a 64-bit machine can address"
        )),
        (Some(b), Some(t)) if b > t => Err(format!(
            "{what} needs about {} of memory; this machine has {}",
            human_bytes(b),
            human_bytes(t)
        )),
        _ => Ok(()),
    }
}
