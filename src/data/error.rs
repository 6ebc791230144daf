//! The one error type of the data module. Every variant carries the file (or, for in-memory
//! data, a source label) and the field it concerns, so a message alone locates the problem.

use std::fmt;

/// What went wrong while loading, checking, writing or sampling a dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    /// The file could not be opened, read or written.
    Io {
        file: String,
        field: String,
        message: String,
    },
    /// A required key is absent.
    MissingKey { file: String, key: String },
    /// A key holds an element type the dataset cannot use.
    WrongDtype {
        file: String,
        key: String,
        expected: String,
        found: String,
    },
    /// A key has the wrong number of dimensions or a zero-width feature axis.
    WrongShape {
        file: String,
        key: String,
        expected: String,
        found: Vec<usize>,
    },
    /// A key's row count (or value count) disagrees with the dataset's length.
    InconsistentLength {
        file: String,
        key: String,
        expected: String,
        found: usize,
    },
    /// A NaN or infinity; `row` is the first bad row.
    NonFinite {
        file: String,
        key: String,
        row: usize,
        col: usize,
        value: f32,
    },
    /// The dataset has no transitions (or the given episodes hold none).
    Empty { file: String, key: String },
    /// A truncated or otherwise unreadable file (or a feature of the format we do not read), or a
    /// value outside its type's range.
    Corrupt {
        file: String,
        field: String,
        message: String,
    },
    /// Episode ranges that are out of bounds or cross an episode end.
    BadEpisodes { file: String, message: String },
    /// No episode is long enough for a window of `horizon` steps.
    HorizonTooLong {
        file: String,
        horizon: usize,
        longest: usize,
    },
    /// The extension names no supported format.
    UnknownExtension { file: String, extension: String },
}

impl DataError {
    /// The file (or source label) the error concerns.
    pub fn file(&self) -> &str {
        match self {
            DataError::Io { file, .. }
            | DataError::MissingKey { file, .. }
            | DataError::WrongDtype { file, .. }
            | DataError::WrongShape { file, .. }
            | DataError::InconsistentLength { file, .. }
            | DataError::NonFinite { file, .. }
            | DataError::Empty { file, .. }
            | DataError::Corrupt { file, .. }
            | DataError::BadEpisodes { file, .. }
            | DataError::HorizonTooLong { file, .. }
            | DataError::UnknownExtension { file, .. } => file,
        }
    }

    /// The same error attributed to another file, for callers that know where in-memory data
    /// came from (e.g. a sampler built on a dataset loaded from disk).
    pub fn with_file(mut self, name: &str) -> Self {
        match &mut self {
            DataError::Io { file, .. }
            | DataError::MissingKey { file, .. }
            | DataError::WrongDtype { file, .. }
            | DataError::WrongShape { file, .. }
            | DataError::InconsistentLength { file, .. }
            | DataError::NonFinite { file, .. }
            | DataError::Empty { file, .. }
            | DataError::Corrupt { file, .. }
            | DataError::BadEpisodes { file, .. }
            | DataError::HorizonTooLong { file, .. }
            | DataError::UnknownExtension { file, .. } => *file = name.to_string(),
        }
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io {
                file,
                field,
                message,
            } => write!(f, "{file}: I/O error on `{field}`: {message}"),
            DataError::MissingKey { file, key } => write!(f, "{file}: missing key `{key}`"),
            DataError::WrongDtype {
                file,
                key,
                expected,
                found,
            } => write!(
                f,
                "{file}: key `{key}` has dtype {found}, expected {expected}"
            ),
            DataError::WrongShape {
                file,
                key,
                expected,
                found,
            } => write!(
                f,
                "{file}: key `{key}` has shape {found:?}, expected {expected}"
            ),
            DataError::InconsistentLength {
                file,
                key,
                expected,
                found,
            } => write!(
                f,
                "{file}: key `{key}` has {found}, expected {expected} (inconsistent lengths)"
            ),
            DataError::NonFinite {
                file,
                key,
                row,
                col,
                value,
            } => write!(
                f,
                "{file}: key `{key}` holds {value} (not finite) at row {row}, column {col}"
            ),
            DataError::Empty { file, key } => {
                write!(f, "{file}: empty dataset (key `{key}` has no rows)")
            }
            DataError::Corrupt {
                file,
                field,
                message,
            } => write!(
                f,
                "{file}: truncated, corrupt or unsupported data at `{field}`: {message}"
            ),
            DataError::BadEpisodes { file, message } => {
                write!(f, "{file}: bad `episodes`: {message}")
            }
            DataError::HorizonTooLong {
                file,
                horizon,
                longest,
            } => write!(
                f,
                "{file}: `horizon` {horizon} is longer than every episode (longest allows {longest})"
            ),
            DataError::UnknownExtension { file, extension } => write!(
                f,
                "{file}: unknown `extension` {extension:?} (expected .npz, .hdf5 or .h5)"
            ),
        }
    }
}

impl std::error::Error for DataError {}
