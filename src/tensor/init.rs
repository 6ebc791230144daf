//! Parameter initialisers. Seeded, so the same seed gives the same model on every machine.
use super::{Real, Shape, Tensor};
use crate::util::rng::Rng;
use crate::util::simd;
use rayon::prelude::*;

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

/// Vectors orthogonalised together against the rows already made, in parallel: each of those
/// rows is then read once per pass for a block's worth of vectors (the row-by-row version took
/// seconds for a 1024 × 1024 weight, a dependent add per element in every dot product).
const GS_BLOCK: usize = 32;

/// Gram-Schmidt on a Gaussian matrix: orthonormal rows if rows <= cols, else orthonormal columns.
/// Each Gaussian vector is made orthogonal to the earlier rows, twice ("twice is enough": one pass
/// leaves ~1e-12 of the earlier directions), then to the earlier vectors of its block, twice; a
/// vector left with no length is drawn again.
fn orthogonal(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
    let (r, c) = if rows <= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut q: Vec<f64> = Vec::with_capacity(r * c);
    while q.len() < r * c {
        let done = q.len() / c;
        let b = (r - done).min(GS_BLOCK);
        let mut block: Vec<f64> = (0..b * c).map(|_| rng.normal()).collect();
        // Against the earlier rows: each vector on its own, so in parallel, with the same result
        // on any number of threads.
        let earlier = &q[..];
        block.par_chunks_mut(c).for_each(|v| {
            simd::run(
                #[inline(always)]
                || {
                    for _ in 0..2 {
                        for u in earlier.chunks_exact(c) {
                            let d = dot(v, u);
                            v.iter_mut().zip(u).for_each(|(a, b)| *a -= d * b);
                        }
                    }
                },
            )
        });
        simd::run(
            #[inline(always)]
            || {
                let first = q.len();
                for v in block.chunks_exact_mut(c) {
                    for _ in 0..2 {
                        for u in q[first..].chunks_exact(c) {
                            let d = dot(v, u);
                            v.iter_mut().zip(u).for_each(|(a, b)| *a -= d * b);
                        }
                    }
                    let norm = dot(v, v).sqrt();
                    if norm > 1e-8 {
                        v.iter_mut().for_each(|a| *a /= norm);
                        q.extend_from_slice(v);
                    }
                }
            },
        );
    }
    let mut out = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            out[i * cols + j] = if rows <= cols {
                q[i * c + j]
            } else {
                q[j * c + i]
            };
        }
    }
    out
}

/// a · b in eight interleaved partial sums, so the loop vectorises (a single running sum is one
/// dependent add per element: the 1024 × 1024 weights of a pixel agent took seconds each).
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal_and_xavier_is_bounded() {
        let mut rng = Rng::new(1);
        for (r, c) in [(4, 9), (9, 4), (6, 6), (70, 70), (100, 37)] {
            let t: Tensor<f64> = Init::Orthogonal { gain: 1.0 }.make([r, c], &mut rng);
            let (n, long, along_rows) = if r <= c { (r, c, true) } else { (c, r, false) };
            for i in 0..n {
                for j in 0..n {
                    let dot: f64 = (0..long)
                        .map(|k| {
                            let at = |a: usize| {
                                if along_rows {
                                    t.data[a * c + k]
                                } else {
                                    t.data[k * c + a]
                                }
                            };
                            at(i) * at(j)
                        })
                        .sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-12, "{r}x{c}: <{i},{j}> = {dot}");
                }
            }
        }
        let t: Tensor<f32> = Init::XavierUniform.make([30, 50], &mut rng);
        let a = (6.0f32 / 80.0).sqrt();
        assert!(t.data.iter().all(|x| x.abs() <= a) && t.data.iter().any(|x| x.abs() > 0.5 * a));
    }
}
