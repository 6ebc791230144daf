//! Causal Transformer baseline (paper §4.1): tokens are the masked state-action sequence
//! ([s₀ ‖ a₀], [0 ‖ a₁], …) embedded linearly plus fixed sinusoidal positions (no length limit, no
//! parameters), pre-LN blocks with causal attention, then decoder and reward MLPs. Width and depth
//! are reduced so the parameter count matches the Koopman model's.
use super::heads::Heads;
use super::{masked_inputs, Forward, ModelInfo, Scored};
use crate::autodiff::{ParamStore, Tape, Var};
use crate::nn::{Block, BlockConfig, LayerNorm, Linear};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerConfig {
    pub obs_dim: usize,
    pub act_dim: usize,
    pub dim: usize,
    pub heads: usize,
    pub layers: usize,
    pub mlp_ratio: usize,
    pub dec_hidden: Vec<usize>,
    pub rew_hidden: Vec<usize>,
    pub act: Unary,
}

impl TransformerConfig {
    pub fn new(obs_dim: usize, act_dim: usize) -> Self {
        TransformerConfig {
            obs_dim,
            act_dim,
            dim: 192,
            heads: 4,
            layers: 2,
            mlp_ratio: 4,
            dec_hidden: vec![320, 320],
            rew_hidden: vec![320],
            act: Unary::Elu,
        }
    }
    pub fn small(obs_dim: usize, act_dim: usize, dim: usize, heads: usize) -> Self {
        TransformerConfig {
            dim,
            heads,
            layers: 1,
            mlp_ratio: 2,
            dec_hidden: vec![dim],
            rew_hidden: vec![dim],
            ..Self::new(obs_dim, act_dim)
        }
    }
}

pub struct TransformerModel {
    pub cfg: TransformerConfig,
    params: ParamStore,
    embed: Linear,
    blocks: Vec<Block>,
    ln: LayerNorm,
    heads: Heads,
}

impl TransformerModel {
    pub fn new(cfg: TransformerConfig, seed: u64) -> Self {
        assert!(
            cfg.dim.is_multiple_of(cfg.heads),
            "transformer dim must be divisible by heads"
        );
        let mut rng = Rng::new(seed);
        let mut ps = ParamStore::new();
        let embed = Linear::new(
            &mut ps,
            "embed",
            cfg.obs_dim + cfg.act_dim,
            cfg.dim,
            true,
            &mut rng,
        );
        let bc = BlockConfig {
            dim: cfg.dim,
            heads: cfg.heads,
            mlp_ratio: cfg.mlp_ratio,
        };
        let blocks = (0..cfg.layers)
            .map(|i| Block::new(&mut ps, &format!("block{i}"), bc, &mut rng))
            .collect();
        let ln = LayerNorm::new(&mut ps, "ln_f", cfg.dim, &mut rng);
        let heads = Heads::new(
            &mut ps,
            cfg.dim,
            cfg.obs_dim,
            &cfg.dec_hidden,
            &cfg.rew_hidden,
            cfg.act,
            &mut rng,
        );
        TransformerModel {
            cfg,
            params: ps,
            embed,
            blocks,
            ln,
            heads,
        }
    }
}

/// Sinusoidal position table [T, D] (Vaswani et al.).
fn positions(tl: usize, d: usize) -> Vec<f32> {
    let mut p = vec![0.0f32; tl * d];
    for k in 0..tl {
        for i in 0..d / 2 {
            let f = (k as f64) / 10000f64.powf(2.0 * i as f64 / d as f64);
            p[k * d + 2 * i] = f.sin() as f32;
            p[k * d + 2 * i + 1] = f.cos() as f32;
        }
    }
    p
}

impl ModelInfo for TransformerModel {
    model_accessors!(Transformer);
}

impl<B: Engine<E = f32>> Forward<B> for TransformerModel {
    fn score_on(&self, t: &mut Tape<B>, s0: Var, actions: Var) -> Result<Scored> {
        let tl = t.dims(actions)[1];
        let x = masked_inputs(t, s0, actions)?;
        let x = self.embed.forward(t, x)?;
        let pos = t.constant([tl, self.cfg.dim], &positions(tl, self.cfg.dim))?;
        let mut h = t.add(x, pos)?;
        for blk in &self.blocks {
            h = blk.forward(t, h)?;
        }
        let h = self.ln.forward(t, h)?;
        let rewards = self.heads.rewards(t, h)?;
        Ok(Scored {
            features: h,
            rewards,
        })
    }
    fn decode_on(&self, t: &mut Tape<B>, h: Var) -> Result<Var> {
        self.heads.states(t, h)
    }
}
