//! The `koopman` command line: one file per subcommand, each with its clap arguments and `run`,
//! plus the pieces `bench` is built from (host, peak_rss, planner_latency, train_speed).
pub mod bench;
pub mod collect;
pub mod compare;
pub mod concat;
pub mod conv2d_speed;
pub mod curves;
pub mod demo;
pub mod eval;
pub mod host;
pub mod inspect;
pub mod koopman_flags;
pub mod oscillator;
pub mod peak_rss;
pub mod planner_latency;
pub mod rl;
pub mod tdmpc_plan;
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

/// The `--precision` values.
pub const PRECISIONS: [&str; 3] = ["fp32", "tf32", "bf16"];

/// Checks the `--precision` name alone (before any device is looked at).
pub fn precision_name(flag: &str) -> Result<()> {
    if PRECISIONS.contains(&flag) {
        Ok(())
    } else {
        Err(crate::Error::Invalid(format!(
            "unknown --precision '{flag}' (known: fp32, tf32, bf16)"
        )))
    }
}

/// Checks an input file before any work: it exists and is a regular file (not a FIFO, device or
/// directory). `flag` names the argument in the message.
pub fn input(flag: &str, path: &Path) -> Result<()> {
    crate::util::files::open_input(path)
        .map(|_| ())
        .map_err(|e| crate::Error::Invalid(format!("{flag} {}: {e}", path.display())))
}

/// Checks an output path before any work (see [`crate::util::files::check_output`]): not a
/// directory, FIFO or device, not one of `inputs`, in an existing writable folder.
pub fn output(flag: &str, path: &Path, inputs: &[&Path]) -> Result<()> {
    crate::util::files::check_output(path, inputs)
        .map(|_| ())
        .map_err(|e| crate::Error::Invalid(format!("{flag} {}: {e}", path.display())))
}

/// Creates an output folder (and its parents) and checks that it takes new files.
pub fn output_dir(flag: &str, dir: &Path) -> Result<()> {
    let fail = |e: std::io::Error| crate::Error::Invalid(format!("{flag} {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    crate::util::files::check_output(&dir.join(".koopman-write-check"), &[])
        .map(|_| ())
        .map_err(fail)
}

/// A size argument that must be at least 1.
pub fn at_least_one(flag: &str, v: usize, what: &str) -> Result<()> {
    if v == 0 {
        Err(crate::Error::Invalid(format!(
            "{flag} 0: {what}; use {flag} 1 or more"
        )))
    } else {
        Ok(())
    }
}

/// Applies `--precision fp32|tf32|bf16` to the device's matmuls. The CPU computes in FP32 only.
pub fn precision(device: Device, flag: &str) -> Result<()> {
    precision_name(flag)?;
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
        "cuda" | "emu" => {
            return Err(crate::Error::Device(format!(
                "--device {flag}: `{command}` runs on the CPU only; use --device cpu or auto"
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
    crate::util::files::write_bytes(path, text.as_bytes()).map_err(|e| crate::Error::io(path, e))
}
