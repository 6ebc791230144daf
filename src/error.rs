//! One error type for the library. Messages name what was wrong and where (file, field, step);
//! wrapped I/O and dataset errors stay reachable through `source()`.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A shape that does not fit the operation or the model (usually from user-supplied data).
    #[error("shape error: {0}")]
    Shape(String),
    /// A NaN or infinity where a finite value was required.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// An invalid setting or argument.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A device problem (CUDA missing, kernel compile failure, ...).
    #[error("device: {0}")]
    Device(String),
    /// A file that could not be opened, read or written; `path` names it.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A dataset problem; the message names the file and the field.
    #[error("{0}")]
    Data(#[from] crate::data::DataError),
}

impl Error {
    /// An I/O failure on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// The same error with `prefix: ` before its message; the kind (and its label) is kept, so a
    /// wrapped message does not read "invalid: … invalid: …".
    pub fn context(self, prefix: impl std::fmt::Display) -> Self {
        match self {
            Error::Shape(m) => Error::Shape(format!("{prefix}: {m}")),
            Error::NonFinite(m) => Error::NonFinite(format!("{prefix}: {m}")),
            Error::Invalid(m) => Error::Invalid(format!("{prefix}: {m}")),
            Error::Device(m) => Error::Device(format!("{prefix}: {m}")),
            other => Error::Invalid(format!("{prefix}: {other}")),
        }
    }
}

impl From<crate::backend::cuda::CudaError> for Error {
    fn from(e: crate::backend::cuda::CudaError) -> Self {
        Error::Device(e.0)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Builds an `Error::Shape` with a formatted message.
#[macro_export]
macro_rules! shape_err {
    ($($t:tt)*) => { $crate::Error::Shape(format!($($t)*)) };
}
