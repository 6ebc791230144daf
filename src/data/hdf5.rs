//! Reader for D4RL-layout `.hdf5` files (root datasets, gzip-chunked, bools as one-byte
//! enums), through the pure-Rust `hdf5-reader`, so no C HDF5 library is needed to build or run.

use std::path::Path;

use hdf5_reader::{Datatype, Hdf5File};

use super::dataset::Dataset;
use super::error::DataError;
use super::layout::{
    check_scalar_rows, row_width, ACTIONS, NEXT_OBSERVATIONS, OBSERVATIONS, REWARDS, TERMINALS,
    TIMEOUTS,
};
use super::npy::bytes_to_bool;

/// An open file, the name of its root datasets, and the label for errors.
struct H5 {
    file: String,
    h5: Hdf5File,
    root_groups: Vec<String>,
    root_datasets: Vec<String>,
    file_len: usize,
}

impl H5 {
    fn open(path: &Path) -> Result<Self, DataError> {
        let file = path.display().to_string();
        let io = |e: std::io::Error| DataError::Io {
            file: file.clone(),
            field: "open".to_string(),
            message: e.to_string(),
        };
        // The signature first (at 0, 512, 1024, … for a file with a user block), so a file that
        // is not HDF5 at all is refused before it is read.
        let (mut handle, len) = crate::util::files::open_input(path).map_err(io)?;
        signature_offset(&mut handle, len)
            .map_err(io)?
            .ok_or_else(|| DataError::Corrupt {
                file: file.clone(),
                field: "signature".to_string(),
                message: "not an HDF5 file (no HDF5 signature at byte 0, 512, 1024, …)".to_string(),
            })?;
        drop(handle);
        // Read into memory instead of mmap: a file shrinking under a mapping would be SIGBUS,
        // not an error, and every array is read in full anyway. Never past the size at open.
        let bytes = crate::util::files::read_input(path).map_err(io)?;
        let file_len = bytes.len();
        let corrupt = |field: &str, e: hdf5_reader::error::Error| DataError::Corrupt {
            file: file.clone(),
            field: field.to_string(),
            message: e.to_string(),
        };
        let h5 = Hdf5File::from_vec(bytes).map_err(|e| corrupt("superblock", e))?;
        // libhdf5 refuses a file shorter than the end-of-file address in its superblock; do the
        // same, since a cut that only loses trailing blocks could otherwise read "successfully".
        // The stored end-of-file address is absolute (libhdf5 writes the relative end plus the
        // base address), so a file with a user block (base address 512, …) compares it as is.
        let sb = h5.superblock();
        let eof = sb.eof_address;
        if eof > file_len as u64 {
            return Err(DataError::Corrupt {
                file: file.clone(),
                field: "superblock end-of-file address".to_string(),
                message: format!("file is truncated: {file_len} bytes, superblock says {eof}"),
            });
        }
        let root = h5.root_group().map_err(|e| corrupt("root group", e))?;
        let (root_groups, root_datasets) =
            root.member_names().map_err(|e| corrupt("root group", e))?;
        Ok(H5 {
            file,
            h5,
            root_groups,
            root_datasets,
            file_len,
        })
    }

    fn corrupt(&self, key: &str, e: hdf5_reader::error::Error) -> DataError {
        DataError::Corrupt {
            file: self.file.clone(),
            field: key.to_string(),
            message: e.to_string(),
        }
    }

    /// Shape and dtype of root dataset `key`, or `None` if absent. A group, or a link that does not
    /// resolve to a dataset here (an external link), under that name is an error that says so,
    /// not a "missing key".
    fn dataset(&self, key: &str) -> Result<Option<hdf5_reader::Dataset>, DataError> {
        if self.root_groups.iter().any(|n| n == key) {
            return Err(DataError::Corrupt {
                file: self.file.clone(),
                field: key.to_string(),
                message: "is a group, but a D4RL key must be a dataset at the file's root"
                    .to_string(),
            });
        }
        if self.root_datasets.iter().any(|n| n == key) {
            return self
                .h5
                .dataset(key)
                .map(Some)
                .map_err(|e| self.corrupt(key, e));
        }
        // Not listed as a group or a dataset: absent, or a link we cannot follow.
        match self.h5.dataset(key) {
            Ok(ds) => Ok(Some(ds)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(DataError::Corrupt {
                file: self.file.clone(),
                field: key.to_string(),
                message: format!(
                    "is a link that does not resolve to a dataset in this file ({e}); external \
                     links are not followed: copy the data into the file"
                ),
            }),
        }
    }

    fn require(&self, key: &str) -> Result<hdf5_reader::Dataset, DataError> {
        self.dataset(key)?.ok_or_else(|| DataError::MissingKey {
            file: self.file.clone(),
            key: key.to_string(),
        })
    }

    fn shape(&self, key: &str, ds: &hdf5_reader::Dataset) -> Result<Vec<usize>, DataError> {
        ds.shape()
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<_, _>>()
            .map_err(|_| DataError::Corrupt {
                file: self.file.clone(),
                field: key.to_string(),
                message: format!("shape {:?} does not fit in memory", ds.shape()),
            })
    }

    /// Element count of `key`, refused when a damaged header claims more data than the file
    /// could hold even at deflate's best ratio (about 1000:1), so we never try a huge allocation.
    fn numel(&self, key: &str, ds: &hdf5_reader::Dataset) -> Result<usize, DataError> {
        let shape = self.shape(key, ds)?;
        let n = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let limit = self.file_len.saturating_mul(1100).max(1 << 24);
        match n {
            Some(n) if n.saturating_mul(8) <= limit => Ok(n),
            _ => Err(DataError::Corrupt {
                file: self.file.clone(),
                field: key.to_string(),
                message: format!(
                    "shape {shape:?} is too large for a {}-byte file",
                    self.file_len
                ),
            }),
        }
    }

    /// Float values: f32 as stored, f64 narrowed (the model trains in f32).
    fn floats(&self, key: &str, ds: &hdf5_reader::Dataset) -> Result<Vec<f32>, DataError> {
        let n = self.numel(key, ds)?;
        match ds.dtype() {
            Datatype::FloatingPoint { size: 4, .. } => {
                let mut out = vec![0f32; n];
                ds.read_into(&mut out).map_err(|e| self.corrupt(key, e))?;
                Ok(out)
            }
            Datatype::FloatingPoint { size: 8, .. } => {
                let mut out = vec![0f64; n];
                ds.read_into(&mut out).map_err(|e| self.corrupt(key, e))?;
                Ok(out.into_iter().map(|v| v as f32).collect())
            }
            other => Err(self.wrong_dtype(key, "float32 or float64", other)),
        }
    }

    /// Booleans. h5py stores `bool` as an enum over int8 {FALSE=0, TRUE=1}, which the typed
    /// reads reject, so take the raw bytes; plain one-byte integers holding 0/1 pass too.
    fn bools(&self, key: &str, ds: &hdf5_reader::Dataset) -> Result<Vec<bool>, DataError> {
        let one_byte_int = |t: &Datatype| matches!(t, Datatype::FixedPoint { size: 1, .. });
        let ok = match ds.dtype() {
            Datatype::Enum { base, .. } => one_byte_int(base),
            t => one_byte_int(t),
        };
        if !ok {
            return Err(self.wrong_dtype(key, "bool (one-byte enum)", ds.dtype()));
        }
        self.numel(key, ds)?;
        let raw = ds.read_raw_bytes().map_err(|e| self.corrupt(key, e))?;
        bytes_to_bool(&raw, &self.file, key)
    }

    fn wrong_dtype(&self, key: &str, expected: &str, found: &Datatype) -> DataError {
        DataError::WrongDtype {
            file: self.file.clone(),
            key: key.to_string(),
            expected: expected.to_string(),
            found: describe(found),
        }
    }
}

/// Whether `e` (under any path context) says the object does not exist.
fn not_found(e: &hdf5_reader::error::Error) -> bool {
    use hdf5_reader::error::Error as E;
    match e {
        E::DatasetNotFound(_) | E::GroupNotFound(_) => true,
        E::Context { source, .. } => not_found(source),
        _ => false,
    }
}

/// Where the HDF5 signature sits: byte 0, or after a user block at 512, 1024, 2048, …
fn signature_offset(f: &mut std::fs::File, len: u64) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];
    let mut at = 0u64;
    while at.saturating_add(8) <= len {
        let mut buf = [0u8; 8];
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut buf)?;
        if buf == SIGNATURE {
            return Ok(Some(at));
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    Ok(None)
}

/// A short dtype name for messages (the full `Debug` form is noisy).
fn describe(t: &Datatype) -> String {
    match t {
        Datatype::FloatingPoint { size, .. } => format!("float{}", u32::from(*size) * 8),
        Datatype::FixedPoint { size, signed, .. } => {
            format!(
                "{}int{}",
                if *signed { "" } else { "u" },
                u32::from(*size) * 8
            )
        }
        Datatype::Enum { base, .. } => format!("enum over {}", describe(base)),
        Datatype::String { .. } | Datatype::VarLen { .. } => "string".to_string(),
        Datatype::Compound { .. } => "compound".to_string(),
        Datatype::Array { base, dims } => format!("array {dims:?} of {}", describe(base)),
        Datatype::Opaque { .. } => "opaque".to_string(),
        Datatype::Reference { .. } => "reference".to_string(),
        Datatype::Bitfield { size, .. } => format!("bitfield{}", u32::from(*size) * 8),
    }
}

/// Reads the D4RL core keys of an `.hdf5`/`.h5` file; other keys (`infos/*`, `metadata/*`)
/// are ignored. Does not [`Dataset::validate`]; [`super::load`] does.
pub fn read(path: &Path) -> Result<Dataset, DataError> {
    let h5 = H5::open(path)?;
    let file = h5.file.clone();

    let obs = h5.require(OBSERVATIONS)?;
    let obs_dim = row_width(&file, OBSERVATIONS, &h5.shape(OBSERVATIONS, &obs)?)?;
    let actions = h5.require(ACTIONS)?;
    let act_dim = row_width(&file, ACTIONS, &h5.shape(ACTIONS, &actions)?)?;
    let rewards = h5.require(REWARDS)?;
    check_scalar_rows(&file, REWARDS, &h5.shape(REWARDS, &rewards)?)?;
    let terminals = h5.require(TERMINALS)?;
    check_scalar_rows(&file, TERMINALS, &h5.shape(TERMINALS, &terminals)?)?;
    let timeouts = h5.require(TIMEOUTS)?;
    check_scalar_rows(&file, TIMEOUTS, &h5.shape(TIMEOUTS, &timeouts)?)?;
    let next = h5.dataset(NEXT_OBSERVATIONS)?;
    // Every key's row count agrees before any values are read: a header declaring 250M rows in
    // unwritten chunks is refused here, not after gigabytes of zeros.
    let rows = h5.shape(OBSERVATIONS, &obs)?[0];
    let mut keys = vec![
        (ACTIONS, &actions),
        (REWARDS, &rewards),
        (TERMINALS, &terminals),
        (TIMEOUTS, &timeouts),
    ];
    if let Some(n) = &next {
        row_width(&file, NEXT_OBSERVATIONS, &h5.shape(NEXT_OBSERVATIONS, n)?)?;
        keys.push((NEXT_OBSERVATIONS, n));
    }
    for (key, ds) in keys {
        let found = h5.shape(key, ds)?[0];
        if found != rows {
            return Err(DataError::InconsistentLength {
                file: file.clone(),
                key: key.to_string(),
                expected: format!("{rows} rows, as `{OBSERVATIONS}`"),
                found,
            });
        }
    }
    let next_observations = match next {
        Some(next) => Some(h5.floats(NEXT_OBSERVATIONS, &next)?),
        None => None,
    };

    Ok(Dataset {
        observations: h5.floats(OBSERVATIONS, &obs)?,
        actions: h5.floats(ACTIONS, &actions)?,
        rewards: h5.floats(REWARDS, &rewards)?,
        next_observations,
        terminals: h5.bools(TERMINALS, &terminals)?,
        timeouts: h5.bools(TIMEOUTS, &timeouts)?,
        pixels: None,
        obs_dim,
        act_dim,
    })
}
