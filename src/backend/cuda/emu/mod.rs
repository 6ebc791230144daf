//! The emulated CUDA device: the real `kernels/**/*.cu` sources compiled for the CPU (by `build.rs`
//! with the `cc` crate, on the runtime in `tools/cuemu/runtime.h`) and run with CUDA launch
//! semantics: grid, block, `__shared__` per block, `__syncthreads`, warp shuffles, and the
//! driver's launch limits (at most 1024 threads a block, ...).
//!
//! Every CUDA thread of a block is a user-mode fiber; blocks run on the calling thread and a small
//! persistent pool (`KOOPMAN_EMU_THREADS`, default: cores - 1). See `tools/cuemu/runtime.h`.
//!
//! [`kernels`] holds one safe function per kernel, generated from the same parsed signatures as
//! the cudarc launchers in [`super::kernels`], with the same module tree
//! (`kernels/koopman/scan.cu`'s `scan_fwd` is [`kernels::koopman::scan::scan_fwd`]). Each takes an
//! [`EmuLaunch`] and then the kernel's arguments in the kernel's order:
//!
//! | C parameter | Rust argument |
//! |---|---|
//! | `float* p` | `&mut [f32]` |
//! | `const float* p` | `&[f32]` |
//! | `unsigned short* p` | `&mut [u16]` (bf16 bits) |
//! | `NULLABLE const float* p` | `Option<&[f32]>` (`None` passes a null pointer) |
//! | `int n` | `i32` |
//! | `float s` | `f32` |
//!
//! Each slice is copied into a buffer with guard zones of NaN on both sides before the launch:
//! a kernel that reads past a slice reads NaN (so results go wrong visibly), and one that writes
//! past it is reported as [`EmuError::OutOfBounds`]. Written slices are copied back afterwards.
//!
//! Without a C++ compiler at build time the crate still builds; every function then returns
//! [`EmuError::NotBuilt`] and [`available`] is false.
//!
//! ```
//! use koopman::backend::cuda::emu::{self, kernels::unary::relu_fwd, EmuLaunch};
//! let x = [-1.0f32, 2.0, -3.0, 4.0];
//! let mut y = [0.0f32; 4];
//! // extern "C" __global__ void relu_fwd(float* y, const float* x, int n)
//! match relu_fwd(EmuLaunch::linear(1, 32), &mut y, &x, 4) {
//!     Ok(()) => assert_eq!(y, [0.0, 2.0, 0.0, 4.0]),
//!     Err(e) => assert!(!emu::available(), "{e}"),
//! }
//! ```

pub mod driver;

use std::fmt;

/// A launch configuration: grid and block dimensions (x, y, z) and dynamic shared memory bytes.
/// The same layout as the C `EmuLaunch` of `tools/cuemu/runtime.h`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmuLaunch {
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub shared_bytes: u32,
}

impl EmuLaunch {
    /// `grid` blocks of `block` threads, both 3-D, no dynamic shared memory.
    pub fn new(grid: (u32, u32, u32), block: (u32, u32, u32)) -> Self {
        EmuLaunch {
            grid: [grid.0, grid.1, grid.2],
            block: [block.0, block.1, block.2],
            shared_bytes: 0,
        }
    }

    /// A 1-D launch of `blocks` blocks of `threads` threads.
    pub fn linear(blocks: u32, threads: u32) -> Self {
        Self::new((blocks, 1, 1), (threads, 1, 1))
    }
}

impl From<cudarc::driver::LaunchConfig> for EmuLaunch {
    fn from(c: cudarc::driver::LaunchConfig) -> Self {
        EmuLaunch {
            grid: [c.grid_dim.0, c.grid_dim.1, c.grid_dim.2],
            block: [c.block_dim.0, c.block_dim.1, c.block_dim.2],
            shared_bytes: c.shared_mem_bytes,
        }
    }
}

/// Why an emulated launch failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmuError {
    /// The crate was built without the emulator (no working C++ compiler, or `KOOPMAN_NO_EMU`).
    NotBuilt,
    /// The launch was refused (a shape the driver would refuse) or failed (a warp split between a
    /// shuffle and `__syncthreads`).
    Launch {
        kernel: &'static str,
        message: String,
    },
    /// The kernel wrote past the start or the end of a slice argument.
    OutOfBounds {
        kernel: &'static str,
        arg: &'static str,
    },
}

impl fmt::Display for EmuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmuError::NotBuilt => write!(
                f,
                "emulated CUDA device not built: no C++ compiler at build time (or KOOPMAN_NO_EMU set)"
            ),
            EmuError::Launch { kernel, message } => write!(f, "emulated launch of `{kernel}`: {message}"),
            EmuError::OutOfBounds { kernel, arg } => write!(
                f,
                "emulated launch of `{kernel}` wrote outside its argument `{arg}`"
            ),
        }
    }
}

impl std::error::Error for EmuError {}

/// Whether the emulator was compiled into this build.
pub fn available() -> bool {
    cfg!(koopman_emu)
}

/// `Ok` if the emulator can run kernels here, else why not (for a device line or a skip message).
pub fn status() -> Result<(), EmuError> {
    if available() {
        Ok(())
    } else {
        Err(EmuError::NotBuilt)
    }
}

/// Runs the runtime's self-test (`tools/cuemu/runtime_selftest.h`: every warp-shuffle variant,
/// threads that return before a barrier, 3-D blocks and grids, the warp-split error); `Err` names
/// the number of failures and the first one.
pub fn self_test() -> Result<(), EmuError> {
    #[cfg(koopman_emu)]
    {
        extern "C" {
            fn koopman_emu_selftest(msg: *mut std::ffi::c_char, cap: i32) -> i32;
        }
        let mut msg = [0 as std::ffi::c_char; 256];
        // SAFETY: the runtime writes at most `cap` bytes, NUL-terminated, into `msg`.
        let fails = unsafe { koopman_emu_selftest(msg.as_mut_ptr(), msg.len() as i32) };
        if fails == 0 {
            return Ok(());
        }
        // SAFETY: NUL-terminated by snprintf above.
        let first = unsafe { std::ffi::CStr::from_ptr(msg.as_ptr()) };
        Err(EmuError::Launch {
            kernel: "runtime self-test",
            message: format!("{fails} failures, the first: {}", first.to_string_lossy()),
        })
    }
    #[cfg(not(koopman_emu))]
    Err(EmuError::NotBuilt)
}

/// Elements of guard zone on each side of a slice argument.
const GUARD: usize = 64;

/// Element types of slice arguments, with the bit pattern that fills the guard zones.
trait Guarded: Copy {
    /// A NaN with a recognisable payload (a bf16 NaN for `u16`).
    const SENTINEL: Self;
    fn same_bits(self, other: Self) -> bool;
}

impl Guarded for f32 {
    const SENTINEL: f32 = f32::from_bits(0x7fa5_a5a5);
    fn same_bits(self, other: f32) -> bool {
        self.to_bits() == other.to_bits()
    }
}

impl Guarded for u16 {
    const SENTINEL: u16 = 0x7fa5;
    fn same_bits(self, other: u16) -> bool {
        self == other
    }
}

/// A copy of a slice argument between two guard zones.
#[allow(dead_code)] // unused when the emulator is not built
struct Padded<T: Guarded> {
    buf: Vec<T>,
}

#[allow(dead_code)]
impl<T: Guarded> Padded<T> {
    fn new(data: &[T]) -> Self {
        let mut buf = vec![T::SENTINEL; data.len() + 2 * GUARD];
        buf[GUARD..GUARD + data.len()].copy_from_slice(data);
        Padded { buf }
    }

    fn as_ptr(&self) -> *const T {
        self.buf[GUARD..].as_ptr()
    }

    fn as_mut_ptr(&mut self) -> *mut T {
        self.buf[GUARD..].as_mut_ptr()
    }

    /// `Err` if the kernel wrote into a guard zone.
    fn check(&self, kernel: &'static str, arg: &'static str) -> Result<(), EmuError> {
        let n = self.buf.len() - 2 * GUARD;
        let intact = |z: &[T]| z.iter().all(|v| v.same_bits(T::SENTINEL));
        if intact(&self.buf[..GUARD]) && intact(&self.buf[GUARD + n..]) {
            Ok(())
        } else {
            Err(EmuError::OutOfBounds { kernel, arg })
        }
    }

    fn copy_to(&self, dst: &mut [T]) {
        dst.copy_from_slice(&self.buf[GUARD..GUARD + dst.len()]);
    }
}

#[cfg(koopman_emu)]
extern "C" {
    fn koopman_emu_last_error() -> *const std::ffi::c_char;
}

/// Maps an entry point's return code to a result (the message is the runtime's, per thread).
#[allow(dead_code)]
fn launch_result(kernel: &'static str, rc: i32) -> Result<(), EmuError> {
    if rc == 0 {
        return Ok(());
    }
    #[cfg(koopman_emu)]
    // SAFETY: the runtime returns a pointer to its thread-local NUL-terminated message, valid
    // until the next launch on this thread.
    let message = unsafe { std::ffi::CStr::from_ptr(koopman_emu_last_error()) }
        .to_string_lossy()
        .into_owned();
    #[cfg(not(koopman_emu))]
    let message = format!("error {rc}");
    Err(EmuError::Launch { kernel, message })
}

/// One safe function per kernel, generated by `build.rs` (see the module docs).
pub mod kernels {
    #[allow(unused_imports)]
    use super::{launch_result, EmuError, EmuLaunch, Padded};
    include!(concat!(env!("OUT_DIR"), "/emu_launchers.rs"));
}
