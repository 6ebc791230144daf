//! Stand-in for the CUDA backend when the crate is built without the `cuda` feature: the same
//! detection entry points, always answering "unavailable", so callers need no `cfg`.

const REASON: &str = "built without the `cuda` feature";

/// Always `Err`: this build has no CUDA backend.
pub fn cuda_status() -> std::result::Result<(), String> {
    Err(REASON.to_string())
}

/// Always `false`: this build cannot call NVRTC.
pub fn nvrtc_available() -> bool {
    false
}

/// The CUDA backend's error type: a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaError(pub String);

impl std::fmt::Display for CudaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CudaError {}

/// Result alias for the CUDA backend.
pub type Result<T> = std::result::Result<T, CudaError>;

/// Uninhabited: no CUDA device can exist in this build.
pub enum CudaDevice {}

impl CudaDevice {
    /// Always `Err`, with the reason.
    pub fn get() -> Result<&'static CudaDevice> {
        Err(CudaError(REASON.to_string()))
    }
    /// Always `Err`: the emulated device is part of the CUDA backend.
    pub fn emulated() -> Result<&'static CudaDevice> {
        Err(CudaError(REASON.to_string()))
    }
}

/// Uninhabited: no device buffer can exist in this build.
pub enum DevBuf {}

/// The CUDA backend's type, uninhabited here (it wraps a [`CudaDevice`], which cannot exist).
#[derive(Clone, Copy)]
pub struct Cuda {
    dev: &'static CudaDevice,
}

impl Cuda {
    pub fn new(dev: &'static CudaDevice) -> Self {
        Cuda { dev }
    }
    pub fn dev(&self) -> &'static CudaDevice {
        self.dev
    }
}

impl crate::backend::Backend for Cuda {
    type E = f32;
    type Buf = DevBuf;

    fn name(&self) -> &'static str {
        "cuda"
    }
    fn alloc(&self, _: usize) -> crate::Result<DevBuf> {
        match *self.dev {}
    }
    fn capacity(buf: &DevBuf) -> usize {
        match *buf {}
    }
    fn fill_zero(&self, buf: &mut DevBuf, _: usize) -> crate::Result<()> {
        match *buf {}
    }
    fn upload(&self, _: &[f32], dst: &mut DevBuf) -> crate::Result<()> {
        match *dst {}
    }
    fn download(&self, src: &DevBuf, _: &mut [f32]) -> crate::Result<()> {
        match *src {}
    }
    fn copy_range(
        &self,
        src: &DevBuf,
        _: usize,
        _: &mut DevBuf,
        _: usize,
        _: usize,
    ) -> crate::Result<()> {
        match *src {}
    }
    fn add_assign(&self, _: &mut DevBuf, src: &DevBuf, _: usize) -> crate::Result<()> {
        match *src {}
    }
}
