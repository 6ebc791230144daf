//! One error type for the CUDA backend: a human-readable message. Driver, cuBLAS and NVRTC errors
//! convert into it, so launchers can use `?` on every cudarc call.

use std::fmt;

/// A CUDA backend failure, described in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaError(pub String);

/// Result alias for the CUDA backend.
pub type Result<T> = std::result::Result<T, CudaError>;

impl fmt::Display for CudaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CudaError {}

impl From<String> for CudaError {
    fn from(s: String) -> Self {
        CudaError(s)
    }
}

impl From<&str> for CudaError {
    fn from(s: &str) -> Self {
        CudaError(s.to_string())
    }
}

impl From<cudarc::driver::DriverError> for CudaError {
    fn from(e: cudarc::driver::DriverError) -> Self {
        CudaError(format!("CUDA driver: {e:?}"))
    }
}

impl From<cudarc::cublas::result::CublasError> for CudaError {
    fn from(e: cudarc::cublas::result::CublasError) -> Self {
        CudaError(format!("cuBLAS: {e:?}"))
    }
}

impl From<cudarc::driver::DriverError> for crate::Error {
    fn from(e: cudarc::driver::DriverError) -> Self {
        crate::Error::Device(format!("CUDA driver: {e:?}"))
    }
}
