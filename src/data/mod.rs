//! Offline datasets: D4RL-layout files in, validated episodes and training windows out.
//!
//! - [`Dataset`]: flat transition arrays with D4RL key names; episodes from `terminals | timeouts`;
//!   optionally image observations ([`Frames`], `koopman collect --pixels`);
//! - [`npz`]: compressed `.npz`, read and (atomically) written, our own on-disk format;
//! - `hdf5` (feature `hdf5`, on by default): read-only import of genuine D4RL `.hdf5` files,
//!   pure Rust;
//! - [`split`]: the by-episode train/test split; [`windows`]: `T`-step windows inside episodes;
//! - [`normalize`]: state/reward statistics fitted on the train split;
//! - [`DataError`]: every failure names the file and the field.

mod atomic;
pub mod batch;
pub mod dataset;
pub mod error;
pub mod frames;
#[cfg(feature = "hdf5")]
pub mod hdf5;
mod layout;
pub mod normalize;
pub mod npy;
pub mod npz;
pub mod seq_batch;
pub mod split;
pub mod windows;

use std::path::Path;

pub use batch::Batch;
pub use dataset::Dataset;
pub use error::DataError;
pub use frames::Frames;
pub use normalize::Normalizer;
pub use seq_batch::SeqBatch;
pub use split::{split_episodes, train_test_split, Split};
pub use windows::WindowSampler;

/// Loads a dataset by extension (`.npz`, `.hdf5`, `.h5`, case-insensitive), image frames included,
/// and validates it.
pub fn load(path: &Path) -> Result<Dataset, DataError> {
    load_with(path, true)
}

/// [`load`] without image frames (`pixels` stays `None` and is never decompressed): what training
/// and evaluating a state-based model reads.
pub fn load_states(path: &Path) -> Result<Dataset, DataError> {
    load_with(path, false)
}

fn load_with(path: &Path, with_pixels: bool) -> Result<Dataset, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let ds = match ext.as_str() {
        "npz" => npz::read_with(path, with_pixels)?,
        #[cfg(feature = "hdf5")]
        "hdf5" | "h5" => hdf5::read(path)?,
        #[cfg(not(feature = "hdf5"))]
        "hdf5" | "h5" => {
            return Err(DataError::Io {
                file: path.display().to_string(),
                field: "extension".to_string(),
                message: "built without the `hdf5` feature".to_string(),
            })
        }
        _ => {
            return Err(DataError::UnknownExtension {
                file: path.display().to_string(),
                extension: ext,
            })
        }
    };
    ds.validate(&path.display().to_string())?;
    Ok(ds)
}
