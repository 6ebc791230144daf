//! NVRTC compilation of the embedded kernel sources. NVRTC gets no headers, so each source is
//! compiled as `PRELUDE + source`. Fast math stays off so results match the CPU reference.

use crate::kernels;
use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions, Ptx};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Compiles every `kernels/**/*.cu` file for `arch` (e.g. `"sm_90"`), in parallel, returning
/// `(path below kernels/ without .cu, e.g. "koopman/scan", PTX)` in `kernels::ALL` order. The error names the file and carries NVRTC's log.
pub fn compile_all(arch: &'static str) -> Result<Vec<(String, Ptx)>, String> {
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
            let (stem, ptx) = job
                .join()
                .map_err(|_| "NVRTC compile thread panicked".to_string())?;
            out.push((stem.to_string(), ptx?));
        }
        Ok(out)
    })
}

/// Compiles one kernel file (`stem`, its path below `kernels/` without `.cu`, is used in messages
/// only).
pub fn compile_one(stem: &str, src: &str, arch: &'static str) -> Result<Ptx, String> {
    let opts = CompileOptions {
        arch: Some(arch),
        name: Some(format!("{stem}.cu")),
        // Line info costs nothing at run time and lets profilers map SASS back to source.
        options: vec!["--generate-line-info".to_string()],
        ..Default::default()
    };
    let source = format!("{}\n{}", kernels::PRELUDE, src);
    match catch_unwind(AssertUnwindSafe(|| compile_ptx_with_opts(source, opts))) {
        Ok(Ok(ptx)) => Ok(ptx),
        Ok(Err(CompileError::CompileError { nvrtc, log, .. })) => Err(format!(
            "NVRTC failed on {stem}.cu for {arch} ({nvrtc:?}):\n{}",
            log.to_string_lossy()
        )),
        Ok(Err(e)) => Err(format!("NVRTC failed on {stem}.cu for {arch}: {e:?}")),
        Err(_) => Err(format!("NVRTC panicked on {stem}.cu for {arch}")),
    }
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
