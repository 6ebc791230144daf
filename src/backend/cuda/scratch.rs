//! Scratch buffers for launchers (block partial sums, bf16 operand casts), kept across calls: a
//! warm training step or planner call allocates no device memory. A buffer goes back to the free
//! list when its [`Scratch`] guard drops (launches are stream-ordered, so the next user's kernels
//! run after this one's). The free lists are per OS thread: threads sharing the device (parallel
//! tests, planner threads) never take each other's buffers, so each one's reuse is deterministic,
//! and no lock is taken.
use super::device::CudaDevice;
use super::error::Result;
use cudarc::driver::{CudaSlice, DeviceRepr, ValidAsZeroBits};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::thread::LocalKey;

/// Free buffers by exact length.
type FreeList<T> = RefCell<HashMap<usize, Vec<CudaSlice<T>>>>;

thread_local! {
    static F32S: FreeList<f32> = RefCell::default();
    static U16S: FreeList<u16> = RefCell::default();
}

/// The element types scratch comes in, each with its (per-thread) free list.
pub trait ScratchElem: DeviceRepr + ValidAsZeroBits + Sized + 'static {
    fn list() -> &'static LocalKey<FreeList<Self>>;
}
impl ScratchElem for f32 {
    fn list() -> &'static LocalKey<FreeList<f32>> {
        &F32S
    }
}
impl ScratchElem for u16 {
    fn list() -> &'static LocalKey<FreeList<u16>> {
        &U16S
    }
}

/// A pooled device buffer; derefs to the slice and returns it to the pool on drop.
pub struct Scratch<'d, T: ScratchElem> {
    /// Tied to the device the buffer belongs to.
    _dev: std::marker::PhantomData<&'d CudaDevice>,
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
            // At thread exit the list may already be gone: then the buffer is simply freed.
            let _ = T::list().try_with(|m| m.borrow_mut().entry(b.len()).or_default().push(b));
        }
    }
}

impl CudaDevice {
    /// A scratch buffer of `n` elements (at least 1) with unspecified contents.
    pub fn scratch<T: ScratchElem>(&self, n: usize) -> Result<Scratch<'_, T>> {
        let n = n.max(1);
        let reused = T::list()
            .try_with(|m| m.borrow_mut().get_mut(&n).and_then(|v| v.pop()))
            .ok()
            .flatten();
        let buf = match reused {
            Some(b) => b,
            // SAFETY: scratch users write what they read (partials are written by their pass,
            // casts write every element); `scratch_zeroed` clears.
            None => unsafe { self.stream().alloc::<T>(n) }?,
        };
        Ok(Scratch {
            _dev: std::marker::PhantomData,
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
