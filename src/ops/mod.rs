//! Every op as a forward/backward pair. Each folder holds the tape method and shape checks (`mod.rs`)
//! and the plain CPU reference kernels (`cpu.rs`); the CUDA twin sits beside them as `cuda.rs`.
pub mod binary;
pub mod gru_cell;
pub mod koopman;
pub mod layernorm;
pub mod loss;
pub mod matmul;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod unary;

/// Below this many elements a loop stays on one thread: rayon's fork/join costs more than it saves.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// One optional gradient row per batch element.
pub(crate) type RowGrad<'a, E> = Option<&'a mut [E]>;

/// Splits an optional gradient buffer into `n` rows of `width` (all `None` when there is no buffer),
/// so per-sequence backward work can run in parallel over disjoint rows.
pub(crate) fn rows_of<E>(buf: Option<&mut [E]>, n: usize, width: usize) -> Vec<RowGrad<'_, E>> {
    match buf {
        Some(d) => d.chunks_mut(width).map(Some).collect(),
        None => (0..n).map(|_| None).collect(),
    }
}
