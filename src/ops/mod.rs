//! Every op as a forward/backward pair, one folder per op: `mod.rs` holds the tape method, the
//! shape checks, the op's kernel trait and its backward rule; `cpu.rs` and `cuda.rs` implement the
//! kernel trait for each backend. `docs/adding-an-op.md` is the checklist for a new op.
pub mod binary;
pub mod conv2d;
pub mod gru_cell;
pub mod koopman;
pub mod l2norm;
pub mod layernorm;
pub mod loss;
pub mod matmul;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod unary;

pub use crate::backend::cpu::PAR_MIN;

/// A gradient output and whether to add into it (`true`) or overwrite it (`false`).
pub type GradOut<'a, B> = Option<(&'a mut <B as crate::backend::Backend>::Buf, bool)>;

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

/// Every op's kernels: what a backend must implement to run the models.
pub trait Engine:
    binary::BinaryKernel
    + conv2d::Conv2dKernel
    + gru_cell::GruCellKernel
    + koopman::cconv::CconvKernel
    + koopman::cmul::CmulKernel
    + koopman::scan::ScanKernel
    + koopman::vandermonde::VandermondeKernel
    + koopman::zoh::ZohKernel
    + l2norm::L2NormKernel
    + layernorm::LayerNormKernel
    + loss::LossKernel
    + matmul::MatmulKernel
    + reduce::ReduceKernel
    + shape::ShapeKernel
    + softmax::SoftmaxKernel
    + unary::UnaryKernel
{
}

impl<B> Engine for B where
    B: binary::BinaryKernel
        + conv2d::Conv2dKernel
        + gru_cell::GruCellKernel
        + koopman::cconv::CconvKernel
        + koopman::cmul::CmulKernel
        + koopman::scan::ScanKernel
        + koopman::vandermonde::VandermondeKernel
        + koopman::zoh::ZohKernel
        + l2norm::L2NormKernel
        + layernorm::LayerNormKernel
        + loss::LossKernel
        + matmul::MatmulKernel
        + reduce::ReduceKernel
        + shape::ShapeKernel
        + softmax::SoftmaxKernel
        + unary::UnaryKernel
{
}
