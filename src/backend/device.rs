//! Device selection for commands (`--device auto|cpu|cuda`), with one line saying which runs and why.
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Cpu,
}

impl Device {
    /// Resolves the `--device` flag. Returns the device and the line to print on stderr.
    ///
    /// The CUDA kernels, their launchers and parity tests exist (`backend::cuda`), but the tape does
    /// not dispatch ops to them yet, so training and evaluation run on the CPU; `cuda` says so
    /// instead of pretending.
    pub fn select(flag: &str) -> Result<(Device, String)> {
        match flag {
            "cpu" => Ok((Device::Cpu, "device: cpu (requested)".into())),
            "auto" => {
                let why = match super::cuda::cuda_status() {
                    Ok(()) => "CUDA found, but model ops are not dispatched to CUDA yet".to_string(),
                    Err(reason) => format!("CUDA: {reason}"),
                };
                Ok((Device::Cpu, format!("device: cpu ({why}; using the CPU)")))
            }
            "cuda" => match super::cuda::cuda_status() {
                Ok(()) => Err(Error::Device(
                    "--device cuda: a GPU is present, but model ops are not dispatched to CUDA yet; use --device cpu or auto"
                        .into(),
                )),
                Err(reason) => Err(Error::Device(format!("--device cuda: {reason}"))),
            },
            other => Err(Error::Invalid(format!("unknown device '{other}' (known: auto, cpu, cuda)"))),
        }
    }
}
