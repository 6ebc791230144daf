//! What each tape node remembers for backward: its inputs and any statistics saved by forward.
use super::params::ParamId;
use super::tape::Var;
use crate::ops::unary::Unary;
use crate::tensor::Real;

pub enum Op<E: Real> {
    /// Data, targets, detached values: no gradient.
    Const,
    /// An input that receives a gradient (gradient checks).
    Input,
    Param(ParamId),
    /// y[N, M] = x[N, K] · w[K, M] (+ b[M]); x may have leading axes, flattened into N.
    Matmul {
        x: Var,
        w: Var,
        b: Option<Var>,
    },
    /// y[Bt, M, N] = a[Bt, M, K] · (b[Bt, K, N] or b[Bt, N, K]ᵀ when `trans_b`).
    Bmm {
        a: Var,
        b: Var,
        trans_b: bool,
    },
    Unary {
        x: Var,
        kind: Unary,
    },
    /// y = a + b, b broadcast over a's leading axes.
    Add {
        a: Var,
        b: Var,
    },
    /// y = a ⊙ b, b broadcast over a's leading axes.
    Mul {
        a: Var,
        b: Var,
    },
    Scale {
        x: Var,
        s: E,
    },
    LayerNorm {
        x: Var,
        gamma: Var,
        beta: Var,
        mean: Vec<E>,
        rstd: Vec<E>,
    },
    Softmax {
        x: Var,
        causal: bool,
    },
    Concat {
        xs: Vec<Var>,
        axis: usize,
    },
    Narrow {
        x: Var,
        axis: usize,
        start: usize,
    },
    Reshape {
        x: Var,
    },
    Permute {
        x: Var,
        perm: Vec<usize>,
    },
    Sum {
        x: Var,
    },
    Mean {
        x: Var,
    },
    Mse {
        a: Var,
        b: Var,
    },
    /// Complex product, planar layout, b broadcast over a's leading axes.
    CMul {
        a: Var,
        b: Var,
    },
    /// [λ̄ ; gain] from (μ, ω, log Δt).
    Zoh {
        mu: Var,
        omega: Var,
        log_dt: Var,
    },
    Vandermonde {
        mu: Var,
        omega: Var,
        log_dt: Var,
    },
    Scan {
        z0: Var,
        c: Var,
        lbar: Var,
    },
    CConv {
        z0: Var,
        c: Var,
        v: Var,
    },
    /// Fused GRU cell; saves the gates r, z, n.
    GruCell {
        xp: Var,
        hp: Var,
        h: Var,
        gates: Vec<E>,
    },
}

impl<E: Real> Op<E> {
    /// The op's name in profiles.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Const => "const",
            Op::Input => "input",
            Op::Param(_) => "param",
            Op::Matmul { .. } => "matmul",
            Op::Bmm { .. } => "bmm",
            Op::Unary { .. } => "unary",
            Op::Add { .. } => "add",
            Op::Mul { .. } => "mul",
            Op::Scale { .. } => "scale",
            Op::LayerNorm { .. } => "layernorm",
            Op::Softmax { .. } => "softmax",
            Op::Concat { .. } => "concat",
            Op::Narrow { .. } => "narrow",
            Op::Reshape { .. } => "reshape",
            Op::Permute { .. } => "permute",
            Op::Sum { .. } => "sum",
            Op::Mean { .. } => "mean",
            Op::Mse { .. } => "mse",
            Op::CMul { .. } => "cmul",
            Op::Zoh { .. } => "zoh",
            Op::Vandermonde { .. } => "vandermonde",
            Op::Scan { .. } => "scan",
            Op::CConv { .. } => "cconv",
            Op::GruCell { .. } => "gru_cell",
        }
    }

    /// Buffers this op owns (returned to the tape's pool when the op is dropped or the tape recycled).
    pub(crate) fn into_saved(self) -> Option<Vec<Vec<E>>> {
        match self {
            Op::LayerNorm { mean, rstd, .. } => Some(vec![mean, rstd]),
            Op::GruCell { gates, .. } => Some(vec![gates]),
            _ => None,
        }
    }
}
