//! NVRTC compilation of the embedded kernel sources. NVRTC gets no headers, so each source is
//! compiled as `PRELUDE + source`. Fast math stays off so results match the CPU reference.
//!
//! For a real architecture (`sm_XX`) the module is loaded as CUBIN (`nvrtcGetCUBIN`): machine code
//! for the device, which any driver that supports the device loads. PTX is only the fallback (and
//! the form for a virtual `compute_XX` target): PTX from an NVRTC newer than the driver fails to
//! load with `CUDA_ERROR_UNSUPPORTED_PTX_VERSION`.

use crate::kernels;
use cudarc::nvrtc::{result, sys, Ptx};
use std::ffi::{CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A compiled kernel file, as the driver will load it.
pub struct Compiled {
    pub image: Ptx,
    /// `"CUBIN"` or `"PTX"`.
    pub kind: &'static str,
}

/// Compiles every `kernels/**/*.cu` file for `arch` (e.g. `"sm_90"`), in parallel, returning
/// `(path below kernels/ without .cu, e.g. "koopman/scan", image)` in `kernels::ALL` order. The
/// error names the file and carries NVRTC's log.
pub fn compile_all(arch: &'static str) -> Result<Vec<(String, Compiled)>, String> {
    if !super::nvrtc_available() {
        return Err("libnvrtc not found on LD_LIBRARY_PATH".to_string());
    }
    std::thread::scope(|s| {
        let jobs: Vec<_> = kernels::ALL
            .iter()
            .map(|&(stem, src)| s.spawn(move || (stem, compile_one(stem, src, arch))))
            .collect();
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let (stem, image) = job
                .join()
                .map_err(|_| "NVRTC compile thread panicked".to_string())?;
            out.push((stem.to_string(), image?));
        }
        Ok(out)
    })
}

/// Compiles one kernel file (`stem`, its path below `kernels/` without `.cu`, is used in messages
/// only): CUBIN for a real `sm_XX`, else PTX.
pub fn compile_one(stem: &str, src: &str, arch: &'static str) -> Result<Compiled, String> {
    let source = format!("{}\n{}", kernels::PRELUDE, src);
    catch_unwind(AssertUnwindSafe(|| nvrtc(stem, &source, arch)))
        .unwrap_or_else(|_| Err(format!("NVRTC panicked on {stem}.cu for {arch}")))
}

fn nvrtc(stem: &str, source: &str, arch: &'static str) -> Result<Compiled, String> {
    let fail = |what: &str, e: &dyn std::fmt::Debug| {
        format!("NVRTC {what} failed on {stem}.cu for {arch}: {e:?}")
    };
    let src = CString::new(source).map_err(|e| fail("source", &e))?;
    let name = CString::new(format!("{stem}.cu")).map_err(|e| fail("name", &e))?;
    let prog = result::create_program(&src, Some(&name)).map_err(|e| fail("create", &e))?;
    // Line info costs nothing at run time and lets profilers map SASS back to source.
    let options = [
        format!("--gpu-architecture={arch}"),
        "--generate-line-info".to_string(),
    ];
    // SAFETY: `prog` is a live program; it is destroyed below on every path.
    let out = unsafe {
        match result::compile_program(prog, &options) {
            Err(e) => {
                let log = result::get_program_log(prog)
                    .map(|l| CStr::from_ptr(l.as_ptr()).to_string_lossy().into_owned())
                    .unwrap_or_default();
                Err(format!(
                    "NVRTC failed on {stem}.cu for {arch} ({e:?}):\n{log}"
                ))
            }
            Ok(()) => match cubin(prog) {
                Some(bin) if arch.starts_with("sm_") => Ok(Compiled {
                    image: Ptx::from_binary(bin),
                    kind: "CUBIN",
                }),
                _ => result::get_ptx(prog)
                    .map(|p| Compiled {
                        image: Ptx::from_src(
                            CStr::from_ptr(p.as_ptr()).to_string_lossy().into_owned(),
                        ),
                        kind: "PTX",
                    })
                    .map_err(|e| fail("get PTX", &e)),
            },
        }
    };
    // SAFETY: created above, destroyed once.
    let _ = unsafe { result::destroy_program(prog) };
    out
}

/// The CUBIN of a compiled program, when NVRTC made one (a real `sm_XX` target).
///
/// # Safety
/// `prog` must be a successfully compiled program.
unsafe fn cubin(prog: sys::nvrtcProgram) -> Option<Vec<u8>> {
    let mut size = 0usize;
    if sys::nvrtcGetCUBINSize(prog, &mut size) != sys::nvrtcResult::NVRTC_SUCCESS || size == 0 {
        return None;
    }
    let mut buf = vec![0u8; size];
    let ok = sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr().cast()) == sys::nvrtcResult::NVRTC_SUCCESS;
    ok.then_some(buf)
}

/// Names of the `extern "C" __global__ void NAME(` kernels in `src` (the same scan as build.rs).
pub fn kernel_names(src: &'static str) -> Vec<&'static str> {
    const KEY: &str = "__global__ void ";
    src.match_indices(KEY)
        .filter_map(|(i, _)| {
            let rest = &src[i + KEY.len()..];
            rest.find('(').map(|end| rest[..end].trim())
        })
        .collect()
}

/// NVRTC's `--gpu-architecture` value for a compute capability, e.g. (9, 0) -> `"sm_90"`.
pub fn arch_for(major: i32, minor: i32) -> &'static str {
    match (major, minor) {
        (7, 5) => "sm_75",
        (8, 0) => "sm_80",
        (8, 6) => "sm_86",
        (8, 7) => "sm_87",
        (8, 9) => "sm_89",
        (9, 0) => "sm_90",
        (10, 0) => "sm_100",
        (10, 3) => "sm_103",
        (11, 0) => "sm_110",
        (12, 0) => "sm_120",
        (12, 1) => "sm_121",
        // Unknown (newer) parts: leak one small string per process rather than guess.
        _ => Box::leak(format!("sm_{major}{minor}").into_boxed_str()),
    }
}
