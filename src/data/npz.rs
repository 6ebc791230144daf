//! Compressed `.npz` (a zip of `.npy` members, as `np.savez_compressed` writes) with D4RL key
//! names. The project's own on-disk format: pure Rust both ways and openable from numpy.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
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
}

impl Npz {
    fn open(path: &Path) -> Result<Self, DataError> {
        let file = path.display().to_string();
        let handle = File::open(path).map_err(|e| DataError::Io {
            file: file.clone(),
            field: "open".to_string(),
            message: e.to_string(),
        })?;
        let zip = ZipArchive::new(handle).map_err(|e| DataError::Corrupt {
            file: file.clone(),
            field: "zip central directory".to_string(),
            message: e.to_string(),
        })?;
        Ok(Npz { file, zip })
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
        let mut bytes = Vec::new();
        // The zip reader checks the CRC at the end, so a damaged member fails here.
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(e.to_string()))?;
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
        let mut zip = ZipWriter::new(BufWriter::new(file));
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
        let buffered = zip
            .finish()
            .map_err(|e| fail("zip central directory", e.to_string()))?;
        buffered
            .into_inner()
            .map_err(|e| fail("zip central directory", e.error().to_string()))
    })
}
