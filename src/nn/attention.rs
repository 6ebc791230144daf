//! A pre-LayerNorm causal Transformer block: x + MHA(LN(x)), then x + MLP(LN(x)).
use super::{LayerNorm, Linear, Mlp};
use crate::autodiff::{ParamStore, Tape, Var};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::tensor::Real;
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Copy, Debug)]
pub struct BlockConfig {
    pub dim: usize,
    pub heads: usize,
    pub mlp_ratio: usize,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub cfg: BlockConfig,
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    mlp: Mlp,
}

impl Block {
    pub fn new<E: Real>(
        ps: &mut ParamStore<E>,
        name: &str,
        cfg: BlockConfig,
        rng: &mut Rng,
    ) -> Self {
        let d = cfg.dim;
        Block {
            cfg,
            ln1: LayerNorm::new(ps, &format!("{name}.ln1"), d, rng),
            qkv: Linear::new(ps, &format!("{name}.qkv"), d, 3 * d, true, rng),
            proj: Linear::new(ps, &format!("{name}.proj"), d, d, true, rng),
            ln2: LayerNorm::new(ps, &format!("{name}.ln2"), d, rng),
            mlp: Mlp::new(
                ps,
                &format!("{name}.mlp"),
                &[d, cfg.mlp_ratio * d, d],
                Unary::Gelu,
                rng,
            ),
        }
    }
    pub fn count(cfg: BlockConfig) -> usize {
        let d = cfg.dim;
        4 * d
            + Linear::count(d, 3 * d, true)
            + Linear::count(d, d, true)
            + Mlp::count(&[d, cfg.mlp_ratio * d, d])
    }
    /// x [B, T, D] → [B, T, D], each position attending to itself and earlier positions only.
    pub fn forward<B: Engine>(&self, t: &mut Tape<B>, x: Var) -> Result<Var> {
        let (b, tl, d) = (t.dims(x)[0], t.dims(x)[1], t.dims(x)[2]);
        let (h, hd) = (self.cfg.heads, self.cfg.dim / self.cfg.heads);
        let n = self.ln1.forward(t, x)?;
        let qkv = self.qkv.forward(t, n)?; // [B, T, 3D]
        let qkv = t.reshape(qkv, &[b, tl, 3, h, hd])?;
        let qkv = t.permute(qkv, &[2, 0, 3, 1, 4])?; // [3, B, H, T, hd]
        let parts = t.split(qkv, 0, &[1, 1, 1])?;
        let mut qkv3 = Vec::with_capacity(3);
        for p in parts {
            qkv3.push(t.reshape(p, &[b * h, tl, hd])?);
        }
        let scores = t.bmm(qkv3[0], qkv3[1], true)?; // [BH, T, T]
        let scores = t.scale(scores, B::E::of(1.0 / (hd as f64).sqrt()));
        let att = t.softmax(scores, true)?;
        let y = t.bmm(att, qkv3[2], false)?; // [BH, T, hd]
        let y = t.reshape(y, &[b, h, tl, hd])?;
        let y = t.permute(y, &[0, 2, 1, 3])?;
        let y = t.reshape(y, &[b, tl, d])?;
        let y = self.proj.forward(t, y)?;
        let x = t.add(x, y)?;
        let n = self.ln2.forward(t, x)?;
        let y = self.mlp.forward(t, n)?;
        t.add(x, y)
    }
}
