//! Device helpers shared by the GPU parity files: the skip-or-device gate and buffer transfers.

use crate::skip;
use cudarc::driver::CudaSlice;
use koopman::backend::cuda::CudaDevice;

/// Default relative tolerance of the parity checks.
pub const RTOL: f64 = 1e-4;

/// The device, or `None` after printing `SKIP: <reason>` (a failure instead under REQUIRE_CUDA=1).
pub fn device() -> Option<&'static CudaDevice> {
    // The GPU, or the emulated device under KOOPMAN_CUDA=emu (CudaDevice::get decides).
    let reason = match CudaDevice::get() {
        Ok(dev) => return Some(dev),
        Err(e) => e.0,
    };
    if std::env::var("REQUIRE_CUDA").is_ok_and(|v| v == "1") {
        panic!("REQUIRE_CUDA=1 but CUDA is unavailable: {reason}");
    }
    skip(&reason);
    None
}

pub fn up(dev: &CudaDevice, v: &[f32]) -> CudaSlice<f32> {
    dev.upload(v).expect("upload")
}

pub fn down(dev: &CudaDevice, s: &CudaSlice<f32>) -> Vec<f32> {
    dev.download(s).expect("download")
}

/// An output buffer of `n` NaNs: any element a kernel fails to write shows up in the comparison.
pub fn poisoned(dev: &CudaDevice, n: usize) -> CudaSlice<f32> {
    up(dev, &vec![f32::NAN; n])
}
