//! What the host-side launchers share. Each op's launchers live in the op's own `cuda.rs`
//! (`src/ops/<op>/cuda.rs`, `src/optim/cuda.rs`) in the llm.c style: one function per kernel (or
//! per forward/backward op), taking the device, output buffers first, then inputs and sizes, and
//! checking that every buffer is large enough and every size fits the kernels' `int`, so a shape
//! bug is an `Err`, never an out-of-bounds GPU access. Launches are asynchronous on the device
//! stream.
//!
//! Here stay the pieces several ops use and the backend itself needs:
//! - the size and launch-shape helpers below ([`int`], [`need`], [`grid_1d`], [`one_block`],
//!   [`warp_rows`], [`row_chunks`], [`broadcast`], [`grid_y`], [`opt`], [`opt_mut`]);
//! - [`gemm`]: the row-major GEMM on cuBLAS (matmul, and the device's GEMM precision);
//! - [`reduce`]: the deterministic two-pass column sums (matmul, binary, reduce and the Koopman
//!   ops' batch reductions);
//! - [`elementwise`]: the buffer-level `+=` and `*=` the backend and the reductions need.
//!
//! Kernel launchers take many buffers by nature (llm.c does the same), hence the lint allowance.
#![allow(clippy::too_many_arguments)]

pub mod elementwise;
pub mod gemm;
pub mod reduce;

use super::error::{CudaError, Result};
use super::kernels::{KernelIn, KernelOut};
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Threads per block for 1-D grid-stride kernels.
pub(crate) const BLOCK_1D: u32 = 256;

/// `n` as the kernels' `int`.
pub(crate) fn int(n: usize, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| CudaError(format!("{what} = {n} does not fit in i32")))
}

/// Errors unless `s` holds at least `n` floats.
pub(crate) fn need(s: &CudaSlice<f32>, n: usize, what: &str) -> Result<()> {
    if s.len() < n {
        return Err(CudaError(format!(
            "{what}: buffer has {} floats, needs {n}",
            s.len()
        )));
    }
    Ok(())
}

/// 1-D launch covering `n` items with grid-stride kernels (n > 0).
pub(crate) fn grid_1d(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(BLOCK_1D as usize).clamp(1, 1 << 20) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK_1D, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// One block of `threads` (a multiple of 32) for single-block reductions.
pub(crate) fn one_block(threads: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (1, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Warp-per-row launch (the row kernels of `reduce.cu`, `softmax.cu`, `layernorm.cu`): blocks of [`BLOCK_1D`] threads, one warp per
/// row, enough blocks to cover `rows` (rows > 0).
pub(crate) fn warp_rows(rows: usize) -> LaunchConfig {
    let warps = (BLOCK_1D / 32) as usize;
    LaunchConfig {
        grid_dim: (rows.div_ceil(warps) as u32, 1, 1),
        block_dim: (BLOCK_1D, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Checks a broadcast shape: an operand of `nb` elements repeated `n / nb` times (`nb` divides
/// `n`).
pub(crate) fn broadcast(n: usize, nb: usize) -> Result<()> {
    if n > 0 && (nb == 0 || !n.is_multiple_of(nb)) {
        return Err(CudaError(format!(
            "broadcast operand of {nb} elements does not tile {n}"
        )));
    }
    Ok(())
}

/// Checks that `n` blocks fit the grid's y (or z) dimension, at most 65535.
pub(crate) fn grid_y(n: usize, what: &str) -> Result<()> {
    if n > 65_535 {
        return Err(CudaError(format!(
            "{what} {n} exceeds the grid's 65535 limit"
        )));
    }
    Ok(())
}

/// Rows per chunk for two-pass column sums: at least `min_rows`, more when needed to keep the
/// chunk count within the grid's y limit (65535). Returns (rows per chunk, chunks).
pub(crate) fn row_chunks(rows: usize, min_rows: usize) -> (usize, usize) {
    let per = min_rows.max(rows.div_ceil(65_535));
    (per, rows.div_ceil(per).max(1))
}

/// An optional output buffer as a generated launcher's NULLABLE argument (`None`: nullptr).
pub(crate) fn opt_mut(b: Option<&mut CudaSlice<f32>>) -> Option<&mut dyn KernelOut<f32>> {
    b.map(|b| b as &mut dyn KernelOut<f32>)
}

/// An optional input buffer as a generated launcher's NULLABLE argument (`None`: nullptr).
pub(crate) fn opt(b: Option<&CudaSlice<f32>>) -> Option<&dyn KernelIn<f32>> {
    b.map(|b| b as &dyn KernelIn<f32>)
}
