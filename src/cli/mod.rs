//! The `koopman` command line: one file per subcommand, each with its clap arguments and `run`,
//! plus the pieces `bench` is built from (host, peak_rss, planner_latency, train_speed).
pub mod bench;
pub mod collect;
pub mod compare;
pub mod demo;
pub mod eval;
pub mod host;
pub mod inspect;
pub mod oscillator;
pub mod peak_rss;
pub mod planner_latency;
pub mod train;
pub mod train_speed;

use crate::backend::Device;
use crate::Result;
use std::path::Path;

/// Resolves `--device` and prints the one line saying which device runs and why.
pub fn device(flag: &str) -> Result<Device> {
    let (d, line) = Device::select(flag)?;
    eprintln!("{line}");
    Ok(d)
}

/// Applies `--precision fp32|tf32|bf16` to the device's matmuls. The CPU computes in FP32 only.
pub fn precision(device: Device, flag: &str) -> Result<()> {
    if device.set_precision(flag)? {
        eprintln!("precision: {flag} matmuls (FP32 accumulation)");
    }
    Ok(())
}

/// For commands whose work runs on the CPU only (environment stepping, evaluation): validates
/// `--device` and says so; an explicit `--device cuda` is an error rather than a silent fallback.
pub fn cpu_only(flag: &str, command: &str) -> Result<()> {
    match flag {
        "cpu" => eprintln!("device: cpu (requested)"),
        "auto" => eprintln!("device: cpu (`{command}` runs on the CPU)"),
        "cuda" => {
            return Err(crate::Error::Device(format!(
                "--device cuda: `{command}` runs on the CPU only; use --device cpu or auto"
            )))
        }
        other => return Err(crate::backend::unknown_device(other)),
    }
    Ok(())
}

/// Writes JSON atomically, naming the file on failure.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::Error::Invalid(format!("{}: {e}", path.display())))?;
    crate::util::atomic::write_bytes(path, text.as_bytes()).map_err(|e| crate::Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}
