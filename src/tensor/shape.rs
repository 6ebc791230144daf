//! A tensor shape stored inline (no heap allocation), so shapes cost nothing on hot paths.
use std::fmt;

pub const MAX_RANK: usize = 6;

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// Panics if the rank exceeds MAX_RANK: shapes are built by library code, never from user input.
    pub fn new(dims: &[usize]) -> Self {
        assert!(
            dims.len() <= MAX_RANK,
            "rank {} exceeds {MAX_RANK}",
            dims.len()
        );
        let mut d = [0; MAX_RANK];
        d[..dims.len()].copy_from_slice(dims);
        Shape {
            dims: d,
            rank: dims.len() as u8,
        }
    }
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }
    pub fn rank(&self) -> usize {
        self.rank as usize
    }
    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }
    /// Size of the last axis (1 for a scalar).
    pub fn last(&self) -> usize {
        self.dims().last().copied().unwrap_or(1)
    }
    /// Product of all axes but the last.
    pub fn rows(&self) -> usize {
        self.numel() / self.last().max(1)
    }
    /// Splits around `axis`: (product before, size of axis, product after).
    pub fn around(&self, axis: usize) -> (usize, usize, usize) {
        let d = self.dims();
        (
            d[..axis].iter().product(),
            d[axis],
            d[axis + 1..].iter().product(),
        )
    }
    /// True when `suffix` equals the trailing axes of self (broadcast rule of add/mul).
    pub fn ends_with(&self, suffix: &Shape) -> bool {
        self.dims().ends_with(suffix.dims())
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape::new(d)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape::new(&d)
    }
}
