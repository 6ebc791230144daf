//! Can CUDA be used in this process, and if not, why. Nothing here panics: cudarc panics when a
//! dynamically loaded library or symbol is missing, so every probe first checks that the library
//! opens and then runs under `catch_unwind`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

/// `Ok(())` when the driver, NVRTC and cuBLAS libraries load and at least one GPU is visible;
/// otherwise a short human reason. Probed once per process.
pub fn cuda_status() -> Result<(), String> {
    static STATUS: OnceLock<Result<(), String>> = OnceLock::new();
    STATUS.get_or_init(|| guarded(probe_cuda)).clone()
}

/// Whether libnvrtc loads and answers (enough to compile kernels; no GPU needed).
pub fn nvrtc_available() -> bool {
    nvrtc_version().is_some()
}

/// The loaded NVRTC's (major, minor) version, or `None` when it cannot be loaded.
pub fn nvrtc_version() -> Option<(i32, i32)> {
    // SAFETY: is_culib_present only tries to dlopen the candidate library names.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return None;
    }
    guarded(|| {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: nvrtcVersion writes two ints through valid pointers.
        let rc = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        if rc == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
            Ok((major, minor))
        } else {
            Err(format!("nvrtcVersion failed: {rc:?}"))
        }
    })
    .ok()
}

fn probe_cuda() -> Result<(), String> {
    // SAFETY (all three): is_culib_present only tries to dlopen the candidate library names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("libcuda not found: no NVIDIA driver on this machine".to_string());
    }
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(
            "libnvrtc not found on LD_LIBRARY_PATH (CUDA 13 NVRTC: the toolkit's lib64, \
                    or pip package nvidia-cuda-nvrtc)"
                .to_string(),
        );
    }
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Err(
            "libcublas not found on LD_LIBRARY_PATH (CUDA 13 cuBLAS: the toolkit's lib64, \
                    or pip package nvidia-cublas)"
                .to_string(),
        );
    }
    match cudarc::driver::CudaContext::device_count() {
        Ok(n) if n > 0 => Ok(()),
        Ok(_) => Err("no CUDA device".to_string()),
        Err(e) => Err(format!("no CUDA device ({e:?})")),
    }
}

/// Runs `f`, turning a panic (e.g. a symbol missing from an older library) into `Err`.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(format!("CUDA library probe failed: {msg}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_never_panics_and_is_stable() {
        let a = cuda_status();
        assert_eq!(a, cuda_status());
        if let Err(reason) = a {
            assert!(!reason.is_empty());
        }
        let _ = nvrtc_available();
    }
}
