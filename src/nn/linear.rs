//! Dense layer and layer norm.
use crate::autodiff::{ParamId, ParamStore, Tape, Var};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::tensor::{Init, Real};
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Debug)]
pub struct Linear {
    pub w: ParamId,
    pub b: Option<ParamId>,
    pub fan_in: usize,
    pub fan_out: usize,
}

impl Linear {
    pub fn new<E: Real>(
        ps: &mut ParamStore<E>,
        name: &str,
        fan_in: usize,
        fan_out: usize,
        bias: bool,
        rng: &mut Rng,
    ) -> Self {
        let w = ps.init(
            format!("{name}.w"),
            [fan_in, fan_out],
            Init::XavierUniform,
            rng,
        );
        let b = bias.then(|| ps.init(format!("{name}.b"), [fan_out], Init::Zeros, rng));
        Linear {
            w,
            b,
            fan_in,
            fan_out,
        }
    }
    pub fn forward<B: Engine>(&self, t: &mut Tape<B>, x: Var) -> Result<Var> {
        self.forward_act(t, x, None)
    }
    /// f(x·w + b), fused where no gradient flows ([`Tape::linear`]).
    pub fn forward_act<B: Engine>(
        &self,
        t: &mut Tape<B>,
        x: Var,
        act: Option<Unary>,
    ) -> Result<Var> {
        let w = t.param(self.w);
        let b = self.b.map(|b| t.param(b));
        t.linear(x, w, b, act)
    }
    pub fn count(fan_in: usize, fan_out: usize, bias: bool) -> usize {
        fan_in * fan_out + if bias { fan_out } else { 0 }
    }
}

/// Every dense weight of `ps` (a rank-2 parameter named `*.w`) redrawn orthogonal (gain 1): the
/// initialisation TD-MPC and pytorch_sac give their networks (biases stay as they are).
pub fn orthogonal_weights(ps: &mut ParamStore, rng: &mut Rng) {
    let weights: Vec<_> = ps
        .ids()
        .filter(|&id| ps.name(id).ends_with(".w") && ps.get(id).shape.rank() == 2)
        .collect();
    for id in weights {
        let shape = ps.get(id).shape;
        *ps.get_mut(id) = Init::Orthogonal { gain: 1.0 }.make(shape, rng);
    }
}

#[derive(Clone, Debug)]
pub struct LayerNorm {
    pub gamma: ParamId,
    pub beta: ParamId,
}

impl LayerNorm {
    pub fn new<E: Real>(ps: &mut ParamStore<E>, name: &str, dim: usize, rng: &mut Rng) -> Self {
        let gamma = ps.init(format!("{name}.gamma"), [dim], Init::Const(1.0), rng);
        let beta = ps.init(format!("{name}.beta"), [dim], Init::Zeros, rng);
        LayerNorm { gamma, beta }
    }
    pub fn forward<B: Engine>(&self, t: &mut Tape<B>, x: Var) -> Result<Var> {
        let (g, b) = (t.param(self.gamma), t.param(self.beta));
        t.layernorm(x, g, b)
    }
}
