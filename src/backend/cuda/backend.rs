//! The CUDA backend: buffers are device allocations of f32 on the process-wide device's stream.
use super::launch::elementwise::add_assign;
use super::CudaDevice;
use crate::backend::Backend;
use crate::Result;
use cudarc::driver::CudaSlice;

/// A device buffer of f32.
pub type DevBuf = CudaSlice<f32>;

#[derive(Clone, Copy)]
pub struct Cuda {
    dev: &'static CudaDevice,
}

impl Cuda {
    pub fn new(dev: &'static CudaDevice) -> Self {
        Cuda { dev }
    }
    /// The device every launch of this backend goes to.
    pub fn dev(&self) -> &'static CudaDevice {
        self.dev
    }
}

impl Backend for Cuda {
    type E = f32;
    type Buf = DevBuf;

    fn name(&self) -> &'static str {
        "cuda"
    }
    fn alloc(&self, n: usize) -> Result<DevBuf> {
        // SAFETY: every user overwrites the buffer before reading it (launchers write their
        // outputs fully; `fill_zero` clears it).
        Ok(unsafe { self.dev.stream().alloc::<f32>(n.max(1)) }?)
    }
    fn capacity(buf: &DevBuf) -> usize {
        buf.len()
    }
    fn fill_zero(&self, buf: &mut DevBuf, n: usize) -> Result<()> {
        if n > 0 {
            self.dev.stream().memset_zeros(&mut buf.slice_mut(0..n))?;
        }
        Ok(())
    }
    fn upload(&self, src: &[f32], dst: &mut DevBuf) -> Result<()> {
        if !src.is_empty() {
            let n = src.len();
            self.dev
                .stream()
                .memcpy_htod(src, &mut dst.slice_mut(0..n))?;
        }
        Ok(())
    }
    fn download(&self, src: &DevBuf, dst: &mut [f32]) -> Result<()> {
        if !dst.is_empty() {
            let n = dst.len();
            self.dev.stream().memcpy_dtoh(&src.slice(0..n), dst)?;
        }
        Ok(self.dev.synchronize()?)
    }
    fn copy_range(
        &self,
        src: &DevBuf,
        s: usize,
        dst: &mut DevBuf,
        d: usize,
        n: usize,
    ) -> Result<()> {
        if n > 0 {
            self.dev
                .stream()
                .memcpy_dtod(&src.slice(s..s + n), &mut dst.slice_mut(d..d + n))?;
        }
        Ok(())
    }
    fn add_assign(&self, dst: &mut DevBuf, src: &DevBuf, n: usize) -> Result<()> {
        Ok(add_assign(self.dev, dst, src, n)?)
    }
}

impl Cuda {
    /// A gradient output for a kernel that accumulates into every output it is given: cleared
    /// first when it is to be overwritten (`acc` false), or, when absent, a throwaway buffer of
    /// `n` held in `tmp` (kept only for the length of the call; a cold path: the models need
    /// every gradient these kernels write).
    pub(crate) fn grad_out<'a>(
        &self,
        out: Option<(&'a mut DevBuf, bool)>,
        n: usize,
        tmp: &'a mut Option<DevBuf>,
    ) -> Result<&'a mut DevBuf> {
        match out {
            Some((d, acc)) => {
                if !acc {
                    self.fill_zero(d, n)?;
                }
                Ok(d)
            }
            None => Ok(tmp.insert(self.alloc(n)?)),
        }
    }
}
