//! GRU baseline (paper §4.1, App. F): hidden size 64 over the masked state-action sequence
//! ([s₀ ‖ a₀], [0 ‖ a₁], …); an embedding MLP before it and decoder/reward MLPs after it, sized so the
//! parameter count matches the Koopman model's.
use super::heads::Heads;
use super::{masked_inputs, Forward, ModelInfo, Scored};
use crate::autodiff::{ParamStore, Tape, Var};
use crate::nn::{Gru, Mlp};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GruConfig {
    pub obs_dim: usize,
    pub act_dim: usize,
    pub hidden: usize,
    pub embed: Vec<usize>,
    pub dec_hidden: Vec<usize>,
    pub rew_hidden: Vec<usize>,
    pub act: Unary,
}

impl GruConfig {
    pub fn new(obs_dim: usize, act_dim: usize) -> Self {
        GruConfig {
            obs_dim,
            act_dim,
            hidden: 64,
            embed: vec![672, 672],
            dec_hidden: vec![672, 672],
            rew_hidden: vec![672],
            act: Unary::Elu,
        }
    }
    pub fn small(obs_dim: usize, act_dim: usize, hidden: usize, width: usize) -> Self {
        GruConfig {
            hidden,
            embed: vec![width, width],
            dec_hidden: vec![width],
            rew_hidden: vec![width],
            ..Self::new(obs_dim, act_dim)
        }
    }
}

pub struct GruModel {
    pub cfg: GruConfig,
    params: ParamStore,
    embed: Mlp,
    gru: Gru,
    heads: Heads,
}

impl GruModel {
    pub fn new(cfg: GruConfig, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut ps = ParamStore::new();
        let input = cfg.obs_dim + cfg.act_dim;
        let mut ew = vec![input];
        ew.extend(&cfg.embed);
        let embed = Mlp::new(&mut ps, "embed", &ew, cfg.act, &mut rng);
        let e_out = *ew.last().unwrap();
        let gru = Gru::new(&mut ps, "gru", e_out, cfg.hidden, &mut rng);
        let heads = Heads::new(
            &mut ps,
            cfg.hidden,
            cfg.obs_dim,
            &cfg.dec_hidden,
            &cfg.rew_hidden,
            cfg.act,
            &mut rng,
        );
        GruModel {
            cfg,
            params: ps,
            embed,
            gru,
            heads,
        }
    }
}

impl ModelInfo for GruModel {
    model_accessors!(Gru);
}

impl<B: Engine<E = f32>> Forward<B> for GruModel {
    fn score_on(&self, t: &mut Tape<B>, s0: Var, actions: Var) -> Result<Scored> {
        let x = masked_inputs(t, s0, actions)?;
        let e = self.embed.forward(t, x)?;
        let e = t.unary(e, self.cfg.act);
        let h = self.gru.forward(t, e)?;
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
