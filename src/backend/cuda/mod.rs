//! CUDA backend through cudarc with dynamic loading: libcuda, libnvrtc and libcublas are opened at
//! run time, so building needs no toolkit and a machine without them still runs (on the CPU).
//!
//! - [`backend`]: the [`crate::backend::Backend`] implementation (device buffers);
//! - [`detect`]: can CUDA be used here, and if not, why (never panics);
//! - [`compile`]: NVRTC compilation of the embedded `kernels/**/*.cu` sources;
//! - [`device`]: the process-wide device (context, stream, cuBLAS, loaded kernels);
//! - [`kernels`]: the typed launch functions `build.rs` generates, one per kernel;
//! - [`launch`]: what the launchers share (size checks, launch shapes), the row-major GEMM on
//!   cuBLAS, the deterministic column sums and the backend's own `+=`/`*=`; each op's launchers
//!   live beside it, in `src/ops/<op>/cuda.rs` (and `src/optim/cuda.rs`);
//! - [`error`]: the backend's error type;
//! - [`emu`]: the emulated CUDA device: the kernels compiled for the CPU, and the CUDA driver and
//!   cuBLAS subset that lets cudarc run on it (`KOOPMAN_CUDA=emu`, `--device emu`).

pub mod backend;
pub mod compile;
pub mod detect;
pub mod device;
pub mod emu;
pub mod error;
pub mod kernels;
pub mod launch;
pub mod scratch;

pub use backend::{Cuda, DevBuf};
pub use detect::{cuda_status, nvrtc_available};
pub use device::CudaDevice;
pub use error::{CudaError, Result};
