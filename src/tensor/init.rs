//! Parameter initialisers. Seeded, so the same seed gives the same model on every machine.
use super::{Real, Shape, Tensor};
use crate::util::rng::Rng;

#[derive(Clone, Copy, Debug)]
pub enum Init {
    Zeros,
    Const(f64),
    /// Glorot/Xavier uniform for a [fan_in, fan_out] weight.
    XavierUniform,
    /// An orthogonal matrix (rows or columns orthonormal), scaled by `gain`.
    Orthogonal {
        gain: f64,
    },
    Normal {
        std: f64,
    },
}

impl Init {
    pub fn make<E: Real>(self, shape: impl Into<Shape>, rng: &mut Rng) -> Tensor<E> {
        let shape = shape.into();
        let n = shape.numel();
        let (rows, cols) = (shape.rows(), shape.last());
        let data: Vec<f64> = match self {
            Init::Zeros => vec![0.0; n],
            Init::Const(v) => vec![v; n],
            Init::Normal { std } => (0..n).map(|_| std * rng.normal()).collect(),
            Init::XavierUniform => {
                let a = (6.0 / (rows + cols) as f64).sqrt();
                (0..n).map(|_| rng.range(-a, a)).collect()
            }
            Init::Orthogonal { gain } => orthogonal(rows, cols, rng)
                .into_iter()
                .map(|x| x * gain)
                .collect(),
        };
        Tensor {
            shape,
            data: data.into_iter().map(E::of).collect(),
        }
    }
}

/// Gram-Schmidt on a Gaussian matrix: orthonormal rows if rows <= cols, else orthonormal columns.
fn orthogonal(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
    let (r, c) = if rows <= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(r);
    while q.len() < r {
        let mut v: Vec<f64> = (0..c).map(|_| rng.normal()).collect();
        for u in &q {
            let d: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= d * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-8 {
            v.iter_mut().for_each(|a| *a /= norm);
            q.push(v);
        }
    }
    let mut out = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            out[i * cols + j] = if rows <= cols { q[i][j] } else { q[j][i] };
        }
    }
    out
}
