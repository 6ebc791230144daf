//! The one error type of the data module. Every variant carries the file (or, for in-memory
//! data, a source label) and the field it concerns, so a message alone locates the problem.

/// What went wrong while loading, checking, writing or sampling a dataset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened, read or written.
    #[error("{file}: I/O error on `{field}`: {message}")]
    Io {
        file: String,
        field: String,
        message: String,
    },
    /// A required key is absent.
    #[error("{file}: missing key `{key}`")]
    MissingKey { file: String, key: String },
    /// A key holds an element type the dataset cannot use.
    #[error("{file}: key `{key}` has dtype {found}, expected {expected}")]
    WrongDtype {
        file: String,
        key: String,
        expected: String,
        found: String,
    },
    /// A key has the wrong number of dimensions or a zero-width feature axis.
    #[error("{file}: key `{key}` has shape {found:?}, expected {expected}")]
    WrongShape {
        file: String,
        key: String,
        expected: String,
        found: Vec<usize>,
    },
    /// A key's row count (or value count) disagrees with the dataset's length.
    #[error("{file}: key `{key}` has {found}, expected {expected} (inconsistent lengths)")]
    InconsistentLength {
        file: String,
        key: String,
        expected: String,
        found: usize,
    },
    /// A NaN or infinity; `row` is the first bad row.
    #[error("{file}: key `{key}` holds {value} (not finite) at row {row}, column {col}")]
    NonFinite {
        file: String,
        key: String,
        row: usize,
        col: usize,
        value: f32,
    },
    /// The dataset has no transitions (or the given episodes hold none).
    #[error("{file}: empty dataset (key `{key}` has no rows)")]
    Empty { file: String, key: String },
    /// A truncated or otherwise unreadable file (or a feature of the format we do not read), or a
    /// value outside its type's range.
    #[error("{file}: truncated, corrupt or unsupported data at `{field}`: {message}")]
    Corrupt {
        file: String,
        field: String,
        message: String,
    },
    /// Episode ranges that are out of bounds or cross an episode end.
    #[error("{file}: bad `episodes`: {message}")]
    BadEpisodes { file: String, message: String },
    /// No episode is long enough for a window of `horizon` steps.
    #[error("{file}: `horizon` {horizon} is longer than every episode (longest allows {longest})")]
    HorizonTooLong {
        file: String,
        horizon: usize,
        longest: usize,
    },
    /// The extension names no supported format.
    #[error("{file}: unknown `extension` {extension:?} (expected .npz, .hdf5 or .h5)")]
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
