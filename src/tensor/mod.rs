//! The tensor: a shape and a dense row-major buffer.
//!
//! Complex tensors use one layout everywhere: **planar within the last axis**. A vector of m complex
//! numbers is 2m reals `[Re_0 .. Re_{m-1}, Im_0 .. Im_{m-1}]`, so an encoder's 2m outputs are the latent
//! directly and the real/imaginary halves are contiguous for SIMD (and coalesced on a GPU).
mod init;
mod real;
mod shape;

pub use init::Init;
pub use real::Real;
pub use shape::{Shape, MAX_RANK};

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<E = f32> {
    pub shape: Shape,
    pub data: Vec<E>,
}

impl<E: Real> Tensor<E> {
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        Tensor {
            data: vec![E::zero(); shape.numel()],
            shape,
        }
    }
    pub fn full(shape: impl Into<Shape>, v: E) -> Self {
        let shape = shape.into();
        Tensor {
            data: vec![v; shape.numel()],
            shape,
        }
    }
    /// Checked constructor for data that comes from users: a wrong length is an error, not a panic.
    pub fn from_vec(shape: impl Into<Shape>, data: Vec<E>) -> crate::Result<Self> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return Err(crate::Error::Shape(format!(
                "tensor of shape {shape:?} needs {} values, got {}",
                shape.numel(),
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }
    pub fn scalar(v: E) -> Self {
        Tensor {
            shape: Shape::new(&[]),
            data: vec![v],
        }
    }
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }
    pub fn numel(&self) -> usize {
        self.data.len()
    }
    /// Converts the element type (f32 <-> f64), used by gradient checks.
    pub fn cast<F: Real>(&self) -> Tensor<F> {
        Tensor {
            shape: self.shape,
            data: self.data.iter().map(|&x| F::of(x.f64())).collect(),
        }
    }
}
