//! Multi-layer perceptron: Linear → act → … → Linear (no activation after the last layer).
use super::Linear;
use crate::autodiff::{ParamStore, Tape, Var};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::tensor::Real;
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    pub act: Unary,
}

impl Mlp {
    /// `widths` = [in, hidden…, out].
    pub fn new<E: Real>(
        ps: &mut ParamStore<E>,
        name: &str,
        widths: &[usize],
        act: Unary,
        rng: &mut Rng,
    ) -> Self {
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(ps, &format!("{name}.{i}"), w[0], w[1], true, rng))
            .collect();
        Mlp { layers, act }
    }
    pub fn forward<B: Engine>(&self, t: &mut Tape<B>, mut x: Var) -> Result<Var> {
        for (i, l) in self.layers.iter().enumerate() {
            let act = (i + 1 < self.layers.len()).then_some(self.act);
            x = l.forward_act(t, x, act)?;
        }
        Ok(x)
    }
    /// [a, hidden…, b]: the widths of an MLP from `a` to `b` through `hidden`.
    pub fn widths(a: usize, hidden: &[usize], b: usize) -> Vec<usize> {
        std::iter::once(a)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(b))
            .collect()
    }
    pub fn count(widths: &[usize]) -> usize {
        widths
            .windows(2)
            .map(|w| Linear::count(w[0], w[1], true))
            .sum()
    }
    pub fn out_dim(&self) -> usize {
        self.layers.last().map(|l| l.fan_out).unwrap_or(0)
    }
}
