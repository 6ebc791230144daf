//! Scratch buffers for launchers (block partial sums, bf16 operand casts), kept by the device
//! across calls: a warm training step or planner call allocates no device memory. A buffer goes
//! back to the device's free list when its [`Scratch`] guard drops (launches are stream-ordered,
//! so the next user's kernels run after this one's).
use super::device::CudaDevice;
use super::error::Result;
use cudarc::driver::{CudaSlice, DeviceRepr, ValidAsZeroBits};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Free buffers by exact length, one list per element type.
#[derive(Default)]
pub struct ScratchPool {
    f32s: Mutex<HashMap<usize, Vec<CudaSlice<f32>>>>,
    u16s: Mutex<HashMap<usize, Vec<CudaSlice<u16>>>>,
}

/// The element types scratch comes in, each with its free list.
pub trait ScratchElem: DeviceRepr + ValidAsZeroBits + Sized {
    fn list(pool: &ScratchPool) -> &Mutex<HashMap<usize, Vec<CudaSlice<Self>>>>;
}
impl ScratchElem for f32 {
    fn list(pool: &ScratchPool) -> &Mutex<HashMap<usize, Vec<CudaSlice<f32>>>> {
        &pool.f32s
    }
}
impl ScratchElem for u16 {
    fn list(pool: &ScratchPool) -> &Mutex<HashMap<usize, Vec<CudaSlice<u16>>>> {
        &pool.u16s
    }
}

/// A pooled device buffer; derefs to the slice and returns it to the pool on drop.
pub struct Scratch<'d, T: ScratchElem> {
    dev: &'d CudaDevice,
    buf: Option<CudaSlice<T>>,
}

impl<T: ScratchElem> Deref for Scratch<'_, T> {
    type Target = CudaSlice<T>;
    fn deref(&self) -> &CudaSlice<T> {
        self.buf.as_ref().expect("present until drop")
    }
}
impl<T: ScratchElem> DerefMut for Scratch<'_, T> {
    fn deref_mut(&mut self) -> &mut CudaSlice<T> {
        self.buf.as_mut().expect("present until drop")
    }
}
impl<T: ScratchElem> Drop for Scratch<'_, T> {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            if let Ok(mut m) = T::list(self.dev.scratch_pool()).lock() {
                m.entry(b.len()).or_default().push(b);
            }
        }
    }
}

impl CudaDevice {
    /// A scratch buffer of `n` elements (at least 1) with unspecified contents.
    pub fn scratch<T: ScratchElem>(&self, n: usize) -> Result<Scratch<'_, T>> {
        let n = n.max(1);
        let reused = T::list(self.scratch_pool())
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(&n).and_then(|v| v.pop()));
        let buf = match reused {
            Some(b) => b,
            // SAFETY: scratch users write what they read (partials are written by their pass,
            // casts write every element); `scratch_zeroed` clears.
            None => unsafe { self.stream().alloc::<T>(n) }?,
        };
        Ok(Scratch {
            dev: self,
            buf: Some(buf),
        })
    }
    /// A zero-filled scratch buffer of `n` elements.
    pub fn scratch_zeroed<T: ScratchElem>(&self, n: usize) -> Result<Scratch<'_, T>> {
        let mut s = self.scratch(n)?;
        self.stream().memset_zeros(&mut *s)?;
        Ok(s)
    }
}
