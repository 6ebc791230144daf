//! One error type for the library. Messages name what was wrong and where (file, field, step).
use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// A shape that does not fit the operation or the model (usually from user-supplied data).
    Shape(String),
    /// A NaN or infinity where a finite value was required.
    NonFinite(String),
    /// An invalid setting or argument.
    Invalid(String),
    /// A device problem (CUDA missing, kernel compile failure, ...).
    Device(String),
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A dataset problem; the message names the file and the field.
    Data(crate::data::DataError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape(m) => write!(f, "shape error: {m}"),
            Error::NonFinite(m) => write!(f, "non-finite value: {m}"),
            Error::Invalid(m) => write!(f, "invalid: {m}"),
            Error::Device(m) => write!(f, "device: {m}"),
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::Data(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::backend::cuda::CudaError> for Error {
    fn from(e: crate::backend::cuda::CudaError) -> Self {
        Error::Device(e.0)
    }
}

impl From<crate::data::DataError> for Error {
    fn from(e: crate::data::DataError) -> Self {
        Error::Data(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Builds an `Error::Shape` with a formatted message.
#[macro_export]
macro_rules! shape_err {
    ($($t:tt)*) => { $crate::Error::Shape(format!($($t)*)) };
}
