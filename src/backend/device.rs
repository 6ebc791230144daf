//! Device selection for commands (`--device auto|cpu|cuda`), with one line saying which runs and why.
use super::cuda::CudaDevice;
use crate::{Error, Result};

#[derive(Clone, Copy)]
pub enum Device {
    Cpu,
    /// The process-wide GPU (compiled kernels, stream, cuBLAS handle).
    Cuda(&'static CudaDevice),
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for Device {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// The error for a `--device` value that is not auto, cpu or cuda.
pub(crate) fn unknown_device(flag: &str) -> Error {
    Error::Invalid(format!(
        "unknown device '{flag}' (known: auto, cpu, cuda, emu)"
    ))
}

impl Device {
    pub fn name(&self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda(_) => "cuda",
        }
    }

    /// Resolves the `--device` flag. Returns the device and the line to print on stderr.
    /// `auto` takes the GPU when the driver, NVRTC and cuBLAS load and a device exists, else the
    /// CPU with the reason; `cuda` is an error, not a silent fallback, when CUDA cannot be used.
    pub fn select(flag: &str) -> Result<(Device, String)> {
        match flag {
            "cpu" => Ok((Device::Cpu, "device: cpu (requested)".into())),
            "auto" => match CudaDevice::get() {
                Ok(dev) => Ok((Device::Cuda(dev), Self::cuda_line(dev, "found"))),
                Err(reason) => Ok((
                    Device::Cpu,
                    format!("device: cpu (CUDA: {reason}; using the CPU)"),
                )),
            },
            "cuda" => match CudaDevice::get() {
                Ok(dev) => Ok((Device::Cuda(dev), Self::cuda_line(dev, "requested"))),
                Err(reason) => Err(Error::Device(format!("--device cuda: {reason}"))),
            },
            // The CUDA code path on the CPU (the emulated device): slow, for trying and testing
            // the CUDA backend without a GPU.
            "emu" => match CudaDevice::emulated() {
                Ok(dev) => Ok((Device::Cuda(dev), Self::cuda_line(dev, "emulated"))),
                Err(reason) => Err(Error::Device(format!("--device emu: {reason}"))),
            },
            other => Err(unknown_device(other)),
        }
    }

    #[cfg(feature = "cuda")]
    fn cuda_line(dev: &CudaDevice, why: &str) -> String {
        format!("device: cuda ({why}: {})", dev.describe())
    }
    #[cfg(not(feature = "cuda"))]
    fn cuda_line(dev: &CudaDevice, _: &str) -> String {
        match *dev {}
    }

    /// "cpu", or "cuda <GPU name> <arch>".
    pub fn label(&self) -> String {
        match self {
            Device::Cpu => "cpu".into(),
            #[cfg(feature = "cuda")]
            Device::Cuda(d) => format!("cuda {} {}", d.name(), d.arch()),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(d) => match **d {},
        }
    }

    /// Sets the arithmetic of every later matmul from `--precision fp32|tf32|bf16`. The CPU
    /// computes in FP32 only. Returns whether a reduced precision is on.
    pub fn set_precision(&self, flag: &str) -> Result<bool> {
        match self {
            Device::Cpu if flag == "fp32" => Ok(false),
            Device::Cpu => Err(Error::Invalid(format!(
                "--precision {flag} needs the CUDA device (the CPU computes in fp32)"
            ))),
            #[cfg(feature = "cuda")]
            Device::Cuda(dev) => {
                use super::cuda::launch::gemm::GemmPrecision;
                dev.set_precision(GemmPrecision::parse(flag)?)?;
                Ok(flag != "fp32")
            }
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(d) => match **d {},
        }
    }
}
