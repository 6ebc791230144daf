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
        // Two Gram-Schmidt passes ("twice is enough"): one leaves ~1e-12 of the earlier directions.
        for _ in 0..2 {
            for u in &q {
                let d: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= d * b);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal_and_xavier_is_bounded() {
        let mut rng = Rng::new(1);
        for (r, c) in [(4, 9), (9, 4), (6, 6)] {
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
