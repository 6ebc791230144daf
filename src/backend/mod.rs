//! Compute backends: where a tape's buffers live and how they are moved, cleared and added.
//!
//! [`Backend`] is the one device abstraction. [`Cpu`] keeps buffers in host `Vec`s; [`Cuda`]
//! (feature `cuda`) keeps them on the GPU. Every op adds its own kernel trait on top of
//! `Backend` (`ops::<op>::…Kernel`), implemented once per device in the op's `cpu.rs` and
//! `cuda.rs`, so the tape, gradients, pool, trainer step and predictor are written once.
//!
//! The `cuda` feature is decided here and nowhere else: without it [`cuda`] is a stub with the
//! same entry points, [`with_backend!`] has no CUDA arm and [`all_backends_trait!`] asks for the
//! CPU only.
pub mod cpu;

#[cfg(feature = "cuda")]
pub mod cuda;

#[cfg(not(feature = "cuda"))]
#[path = "cuda_stub.rs"]
pub mod cuda;

mod device;
mod pool;

pub use cpu::Cpu;
pub use cuda::Cuda;
pub(crate) use device::unknown_device;
pub use device::Device;
pub use pool::Pool;

use crate::tensor::Real;
use crate::Result;

/// A device's buffers and the few operations every layer above needs on them. Kernels proper
/// (matmul, activations, the Koopman scan, …) are per-op traits on top of this one.
pub trait Backend: Clone + Send + Sync + 'static {
    /// The element type (f32; the CPU also runs f64 for gradient checks).
    type E: Real;
    /// A buffer of `E` on this device.
    type Buf: Send + Sync + 'static;

    /// `"cpu"`, `"cuda"`.
    fn name(&self) -> &'static str;
    /// A buffer of `n` elements with unspecified contents (every caller overwrites it).
    fn alloc(&self, n: usize) -> Result<Self::Buf>;
    /// Elements the buffer can hold without reallocating.
    fn capacity(buf: &Self::Buf) -> usize;
    /// Makes a pooled buffer of capacity ≥ `n` present `n` elements (the CPU's `Vec` length).
    fn fit(_buf: &mut Self::Buf, _n: usize) {}
    /// Sets the first `n` elements to zero.
    fn fill_zero(&self, buf: &mut Self::Buf, n: usize) -> Result<()>;
    /// Host → device: the first `src.len()` elements of `dst`.
    fn upload(&self, src: &[Self::E], dst: &mut Self::Buf) -> Result<()>;
    /// Device → host: the first `dst.len()` elements of `src` (synchronises).
    fn download(&self, src: &Self::Buf, dst: &mut [Self::E]) -> Result<()>;
    /// dst[..n] = src[..n].
    fn copy(&self, src: &Self::Buf, dst: &mut Self::Buf, n: usize) -> Result<()> {
        self.copy_range(src, 0, dst, 0, n)
    }
    /// dst[d..d + n] = src[s..s + n] (gathering scalars into one buffer for a single read-back).
    fn copy_range(
        &self,
        src: &Self::Buf,
        s: usize,
        dst: &mut Self::Buf,
        d: usize,
        n: usize,
    ) -> Result<()>;
    /// dst[..n] += src[..n] (a gradient reaching a value along a second path).
    fn add_assign(&self, dst: &mut Self::Buf, src: &Self::Buf, n: usize) -> Result<()>;
    /// dst[..n] = src[..n], or += with `acc` (a gradient written fresh or accumulated).
    fn copy_or_add(&self, src: &Self::Buf, dst: &mut Self::Buf, n: usize, acc: bool) -> Result<()> {
        if acc {
            self.add_assign(dst, src, n)
        } else {
            self.copy(src, dst, n)
        }
    }
}

/// Runs `$body` with `$b` bound to the backend of `$device` (a [`Device`]): the one place a
/// device value becomes a backend type, so generic code (the trainer step, the predictor) is
/// instantiated once per compiled-in backend.
#[macro_export]
macro_rules! with_backend {
    ($device:expr, |$b:ident| $body:expr) => {
        match $device {
            $crate::backend::Device::Cpu => {
                let $b = $crate::backend::Cpu::<f32>::default();
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::backend::Device::Cuda(dev) => {
                let $b = $crate::backend::Cuda::new(dev);
                $body
            }
            #[cfg(not(feature = "cuda"))]
            $crate::backend::Device::Cuda(never) => match *never {},
        }
    };
}

/// Declares `trait $name` = `$per<B>` for every compiled-in backend B (plus `$extra` bounds), with
/// the blanket impl: e.g. a model usable on every device as one trait object.
#[macro_export]
macro_rules! all_backends_trait {
    ($(#[$m:meta])* $vis:vis trait $name:ident: $per:ident $(+ $extra:path)*) => {
        #[cfg(feature = "cuda")]
        $(#[$m])*
        $vis trait $name:
            $per<$crate::backend::Cpu> + $per<$crate::backend::Cuda> $(+ $extra)* {}
        #[cfg(feature = "cuda")]
        impl<T: ?Sized + $per<$crate::backend::Cpu> + $per<$crate::backend::Cuda> $(+ $extra)*>
            $name for T {}
        #[cfg(not(feature = "cuda"))]
        $(#[$m])*
        $vis trait $name: $per<$crate::backend::Cpu> $(+ $extra)* {}
        #[cfg(not(feature = "cuda"))]
        impl<T: ?Sized + $per<$crate::backend::Cpu> $(+ $extra)*> $name for T {}
    };
}
