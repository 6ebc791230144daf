//! Compute backends. The CUDA backend exists only with the `cuda` feature; without it a stub with
//! the same entry points reports why CUDA is unavailable, so callers need no `cfg`.

#[cfg(feature = "cuda")]
pub mod cuda;

#[cfg(not(feature = "cuda"))]
#[path = "cuda_stub.rs"]
pub mod cuda;

mod device;
pub(crate) use device::unknown_device;
pub use device::Device;
