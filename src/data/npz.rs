//! Compressed `.npz` (a zip of `.npy` members, as `np.savez_compressed` writes) with D4RL key
//! names. The project's own on-disk format: pure Rust both ways and openable from numpy.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::Path;

use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::atomic::write_atomically;
use super::dataset::Dataset;
use super::error::DataError;
use super::frames::Frames;
use super::layout::{
    check_scalar_rows, row_width, ACTIONS, NEXT_OBSERVATIONS, OBSERVATIONS, PIXELS, REWARDS,
    TERMINALS, TIMEOUTS,
};
use super::npy::NpyArray;

/// An open archive plus the name used in error messages.
struct Npz {
    file: String,
    zip: ZipArchive<File>,
    /// The archive's size: no member can honestly decompress to more than ~1032× it.
    file_len: u64,
}

/// Deflate's best ratio is about 1032:1; a member declaring more is damaged or a zip bomb.
const MAX_RATIO: u64 = 1100;

impl Npz {
    fn open(path: &Path) -> Result<Self, DataError> {
        let file = path.display().to_string();
        let (handle, file_len) =
            crate::util::files::open_input(path).map_err(|e| DataError::Io {
                file: file.clone(),
                field: "open".to_string(),
                message: e.to_string(),
            })?;
        let zip = ZipArchive::new(handle).map_err(|e| DataError::Corrupt {
            file: file.clone(),
            field: "zip central directory".to_string(),
            message: e.to_string(),
        })?;
        Ok(Npz {
            file,
            zip,
            file_len,
        })
    }

    /// The shape of `key` from its `.npy` header alone (the data is not decompressed), or `None`
    /// if absent.
    fn shape(&mut self, key: &str) -> Result<Option<Vec<usize>>, DataError> {
        let corrupt = |message: String| DataError::Corrupt {
            file: self.file.clone(),
            field: key.to_string(),
            message,
        };
        let entry = match self.zip.by_name(&format!("{key}.npy")) {
            Ok(entry) => entry,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(corrupt(e.to_string())),
        };
        // Magic, version and header length come first; headers are small (numpy pads to 64).
        let mut prefix = Vec::new();
        entry
            .take(64 * 1024)
            .read_to_end(&mut prefix)
            .map_err(|e| corrupt(e.to_string()))?;
        NpyArray::peek_shape(&prefix, &self.file, key).map(Some)
    }

    /// The array stored under `key` (member `key.npy`), or `None` if absent.
    fn get(&mut self, key: &str) -> Result<Option<NpyArray>, DataError> {
        let corrupt = |message: String| DataError::Corrupt {
            file: self.file.clone(),
            field: key.to_string(),
            message,
        };
        let mut entry = match self.zip.by_name(&format!("{key}.npy")) {
            Ok(entry) => entry,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(corrupt(e.to_string())),
        };
        let declared = entry.size();
        let limit = self.file_len.saturating_mul(MAX_RATIO).max(1 << 20);
        if declared > limit {
            return Err(corrupt(format!(
                "the member declares {declared} bytes uncompressed, more than a {}-byte archive \
                 can hold",
                self.file_len
            )));
        }
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(declared as usize)
            .map_err(|e| corrupt(format!("{declared} bytes do not fit in memory: {e}")))?;
        // The zip reader checks the CRC at the end, so a damaged member fails here.
        // One byte past the declared size, so the reader reaches its end (where the CRC is
        // checked) and a member inflating past its declaration is caught.
        (&mut entry)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(e.to_string()))?;
        if bytes.len() as u64 > declared {
            return Err(corrupt(format!(
                "the member inflates past its declared {declared} bytes"
            )));
        }
        NpyArray::from_npy_bytes(&bytes, &self.file, key).map(Some)
    }

    fn require(&mut self, key: &str) -> Result<NpyArray, DataError> {
        self.get(key)?.ok_or_else(|| DataError::MissingKey {
            file: self.file.clone(),
            key: key.to_string(),
        })
    }
}

/// Reads a D4RL-keyed `.npz`. Does not [`Dataset::validate`]; [`super::load`] does.
pub fn read(path: &Path) -> Result<Dataset, DataError> {
    read_with(path, true)
}

/// [`read`] without the `pixels` member, which is left compressed on disk: state-based training
/// needs none of it, and a million 84×84 RGB frames are 21 GB in memory.
pub fn read_states(path: &Path) -> Result<Dataset, DataError> {
    read_with(path, false)
}

pub(crate) fn read_with(path: &Path, with_pixels: bool) -> Result<Dataset, DataError> {
    let mut npz = Npz::open(path)?;
    let file = npz.file.clone();

    // Every key's row count agrees before any array is decompressed.
    let rows = match npz.shape(OBSERVATIONS)? {
        Some(shape) => shape.first().copied(),
        None => None,
    };
    if let Some(rows) = rows {
        for key in [ACTIONS, REWARDS, TERMINALS, TIMEOUTS, NEXT_OBSERVATIONS] {
            if let Some(found) = npz.shape(key)?.and_then(|s| s.first().copied()) {
                if found != rows {
                    return Err(DataError::InconsistentLength {
                        file: file.clone(),
                        key: key.to_string(),
                        expected: format!("{rows} rows, as `{OBSERVATIONS}`"),
                        found,
                    });
                }
            }
        }
    }

    let obs = npz.require(OBSERVATIONS)?;
    let obs_dim = row_width(&file, OBSERVATIONS, &obs.shape)?;
    let actions = npz.require(ACTIONS)?;
    let act_dim = row_width(&file, ACTIONS, &actions.shape)?;
    let rewards = npz.require(REWARDS)?;
    check_scalar_rows(&file, REWARDS, &rewards.shape)?;
    let terminals = npz.require(TERMINALS)?;
    check_scalar_rows(&file, TERMINALS, &terminals.shape)?;
    let timeouts = npz.require(TIMEOUTS)?;
    check_scalar_rows(&file, TIMEOUTS, &timeouts.shape)?;
    let next_observations = match npz.get(NEXT_OBSERVATIONS)? {
        Some(next) => {
            row_width(&file, NEXT_OBSERVATIONS, &next.shape)?;
            Some(next.to_f32(&file, NEXT_OBSERVATIONS)?)
        }
        None => None,
    };
    let pixels = match with_pixels.then(|| npz.get(PIXELS)).transpose()?.flatten() {
        Some(p) => Some(frames(&file, p)?),
        None => None,
    };

    Ok(Dataset {
        observations: obs.to_f32(&file, OBSERVATIONS)?,
        actions: actions.to_f32(&file, ACTIONS)?,
        rewards: rewards.to_f32(&file, REWARDS)?,
        next_observations,
        terminals: terminals.to_bool(&file, TERMINALS)?,
        timeouts: timeouts.to_bool(&file, TIMEOUTS)?,
        pixels,
        obs_dim,
        act_dim,
    })
}

/// A `(N, height, width, channels)` uint8 array as frames.
fn frames(file: &str, arr: NpyArray) -> Result<Frames, DataError> {
    let [_, height, width, channels] = arr.shape[..] else {
        return Err(DataError::WrongShape {
            file: file.to_string(),
            key: PIXELS.to_string(),
            expected: "(N, height, width, channels)".to_string(),
            found: arr.shape,
        });
    };
    Ok(Frames {
        data: arr.into_u8(file, PIXELS)?,
        height,
        width,
        channels,
    })
}

/// Every member of an `.npz`, keyed by name without `.npy`, in archive order. For keys beyond
/// the D4RL core (e.g. `infos/qpos`).
pub fn read_arrays(path: &Path) -> Result<Vec<(String, NpyArray)>, DataError> {
    let mut npz = Npz::open(path)?;
    let keys: Vec<String> = npz
        .zip
        .file_names()
        .filter_map(|n| n.strip_suffix(".npy"))
        .map(str::to_string)
        .collect();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(arr) = npz.get(&key)? {
            out.push((key, arr));
        }
    }
    Ok(out)
}

/// Writes a validated dataset as compressed `.npz` (bools as `|b1`, frames as `|u1`),
/// atomically.
pub fn write(path: &Path, ds: &Dataset) -> Result<(), DataError> {
    ds.validate(&path.display().to_string())?;
    let n = ds.len();
    let mut arrays = vec![
        (
            OBSERVATIONS,
            NpyArray::from_f32(vec![n, ds.obs_dim], &ds.observations),
        ),
        (
            ACTIONS,
            NpyArray::from_f32(vec![n, ds.act_dim], &ds.actions),
        ),
        (REWARDS, NpyArray::from_f32(vec![n], &ds.rewards)),
    ];
    if let Some(next) = &ds.next_observations {
        arrays.push((
            NEXT_OBSERVATIONS,
            NpyArray::from_f32(vec![n, ds.obs_dim], next),
        ));
    }
    arrays.push((TERMINALS, NpyArray::from_bool(vec![n], &ds.terminals)));
    arrays.push((TIMEOUTS, NpyArray::from_bool(vec![n], &ds.timeouts)));
    if let Some(p) = &ds.pixels {
        let shape = vec![n, p.height, p.width, p.channels];
        arrays.push((PIXELS, NpyArray::from_u8(shape, &p.data)));
    }
    write_arrays(path, &arrays)
}

/// Writes arbitrary arrays as a deflate-compressed `.npz`, atomically. Checks nothing about
/// their content, so it can also produce deliberately malformed files for tests.
pub fn write_arrays(path: &Path, arrays: &[(&str, NpyArray)]) -> Result<(), DataError> {
    let file_label = path.display().to_string();
    write_atomically(path, |file| {
        let fail = |key: &str, message: String| DataError::Io {
            file: file_label.clone(),
            field: key.to_string(),
            message,
        };
        let mut zip = ZipWriter::new(BufWriter::new(Latch::new(file)));
        for (key, arr) in arrays {
            let bytes = arr.to_npy_bytes();
            // Zip64 only when a member can pass 4 GiB, which also keeps small files standard.
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .large_file(bytes.len() as u64 >= u32::MAX as u64 - (1 << 20));
            zip.start_file(format!("{key}.npy"), options)
                .map_err(|e| fail(key, e.to_string()))?;
            zip.write_all(&bytes)
                .map_err(|e| fail(key, e.to_string()))?;
        }
        finish_zip(zip).map_err(|e| fail("zip central directory", e))
    })
}

/// Closes an archive written through a [`Latch`] and hands back the file.
fn finish_zip(zip: ZipWriter<BufWriter<Latch>>) -> Result<File, String> {
    let buffered = zip.finish().map_err(|e| e.to_string())?;
    let latch = buffered.into_inner().map_err(|e| e.error().to_string())?;
    latch.into_file().map_err(|e| e.to_string())
}

/// A file writer that, after its first failure (a full disk), reports that failure once and then
/// accepts and discards everything: the archive writer's `Drop` then has nothing to complain
/// about on stderr, and the caller reports the one error, naming the file.
struct Latch {
    file: File,
    failed: bool,
}

impl Latch {
    fn new(file: File) -> Self {
        Latch {
            file,
            failed: false,
        }
    }

    fn into_file(self) -> std::io::Result<File> {
        if self.failed {
            Err(std::io::Error::other("an earlier write failed"))
        } else {
            Ok(self.file)
        }
    }
}

impl Write for Latch {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failed {
            return Ok(buf.len());
        }
        self.file.write(buf).inspect_err(|_| self.failed = true)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed {
            return Ok(());
        }
        self.file.flush().inspect_err(|_| self.failed = true)
    }
}

impl std::io::Seek for Latch {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

/// Writes a D4RL-layout `.npz` episode by episode: each key's rows go to an anonymous spool file
/// in the output's folder as they come, so memory holds one chunk at a time however many episodes
/// there are; [`EpisodeWriter::finish`] then writes the archive atomically. The spool files
/// vanish with the writer (even on `kill -9`: they have no name).
pub struct EpisodeWriter {
    path: std::path::PathBuf,
    label: String,
    obs_dim: usize,
    act_dim: usize,
    rows: usize,
    /// (key, descr, spool) in archive order.
    spools: Vec<(&'static str, &'static str, BufWriter<File>)>,
}

impl EpisodeWriter {
    /// Checks nothing about `path` beyond its folder taking the spool files; callers check the
    /// output path itself first.
    pub fn new(path: &Path, obs_dim: usize, act_dim: usize) -> Result<Self, DataError> {
        let label = path.display().to_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let mut spools = Vec::new();
        for (key, descr) in [
            (OBSERVATIONS, "<f4"),
            (ACTIONS, "<f4"),
            (REWARDS, "<f4"),
            (NEXT_OBSERVATIONS, "<f4"),
            (TERMINALS, "|b1"),
            (TIMEOUTS, "|b1"),
        ] {
            let f = tempfile::tempfile_in(&dir).map_err(|e| DataError::Io {
                file: label.clone(),
                field: key.to_string(),
                message: format!("cannot create a spool file in {}: {e}", dir.display()),
            })?;
            spools.push((key, descr, BufWriter::new(f)));
        }
        Ok(EpisodeWriter {
            path: path.to_path_buf(),
            label,
            obs_dim,
            act_dim,
            rows: 0,
            spools,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends the transitions of `chunk` (whole episodes, with `next_observations`).
    pub fn push(&mut self, chunk: &Dataset) -> Result<(), DataError> {
        chunk.validate(&self.label)?;
        if chunk.obs_dim != self.obs_dim || chunk.act_dim != self.act_dim {
            return Err(DataError::WrongShape {
                file: self.label.clone(),
                key: OBSERVATIONS.to_string(),
                expected: format!(
                    "rows of {} observations, {} actions",
                    self.obs_dim, self.act_dim
                ),
                found: vec![chunk.obs_dim, chunk.act_dim],
            });
        }
        let Some(next) = &chunk.next_observations else {
            return Err(DataError::MissingKey {
                file: self.label.clone(),
                key: NEXT_OBSERVATIONS.to_string(),
            });
        };
        let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let bools = |v: &[bool]| v.iter().map(|&b| u8::from(b)).collect::<Vec<u8>>();
        let parts = [
            f32s(&chunk.observations),
            f32s(&chunk.actions),
            f32s(&chunk.rewards),
            f32s(next),
            bools(&chunk.terminals),
            bools(&chunk.timeouts),
        ];
        for ((key, _, spool), bytes) in self.spools.iter_mut().zip(parts) {
            spool.write_all(&bytes).map_err(|e| DataError::Io {
                file: self.label.clone(),
                field: key.to_string(),
                message: format!("spool file: {e}"),
            })?;
        }
        self.rows += chunk.len();
        Ok(())
    }

    /// Writes the archive atomically from the spool files.
    pub fn finish(self) -> Result<(), DataError> {
        let EpisodeWriter {
            path,
            label,
            obs_dim,
            act_dim,
            rows,
            spools,
        } = self;
        if rows == 0 {
            return Err(DataError::Empty {
                file: label,
                key: REWARDS.to_string(),
            });
        }
        write_atomically(&path, |file| {
            let fail = |key: &str, message: String| DataError::Io {
                file: label.clone(),
                field: key.to_string(),
                message,
            };
            let mut zip = ZipWriter::new(BufWriter::new(Latch::new(file)));
            for (key, descr, spool) in spools {
                let shape = match key {
                    OBSERVATIONS | NEXT_OBSERVATIONS => vec![rows, obs_dim],
                    ACTIONS => vec![rows, act_dim],
                    _ => vec![rows],
                };
                let header = NpyArray {
                    descr: descr.to_string(),
                    shape,
                    data: Vec::new(),
                }
                .to_npy_bytes();
                let mut spool = spool
                    .into_inner()
                    .map_err(|e| fail(key, format!("spool file: {}", e.error())))?;
                let size = spool
                    .stream_position()
                    .map_err(|e| fail(key, format!("spool file: {e}")))?;
                spool
                    .rewind()
                    .map_err(|e| fail(key, format!("spool file: {e}")))?;
                let total = size + header.len() as u64;
                let options = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Deflated)
                    .large_file(total >= u32::MAX as u64 - (1 << 20));
                zip.start_file(format!("{key}.npy"), options)
                    .map_err(|e| fail(key, e.to_string()))?;
                zip.write_all(&header)
                    .map_err(|e| fail(key, e.to_string()))?;
                std::io::copy(&mut spool, &mut zip).map_err(|e| fail(key, e.to_string()))?;
            }
            finish_zip(zip).map_err(|e| fail("zip central directory", e))
        })
    }
}
