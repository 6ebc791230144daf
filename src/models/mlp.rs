//! MLP latent dynamics baseline (paper §4.1): the state embedding z₀ = g(s₀) is unrolled step by step
//! through two linear layers and a non-linearity, z_{k+1} = W₂·elu(W₁[z_k ‖ a_k] + b₁) + b₂.
//! The paper trains it on 10-step windows only because longer unrolls explode; the trainer's default
//! horizon for this model is 10.
use super::{Forward, ModelInfo, Scored};
use crate::autodiff::{ParamStore, Tape, Var};
use crate::nn::Mlp;
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    pub obs_dim: usize,
    pub act_dim: usize,
    pub latent: usize,
    pub enc_hidden: Vec<usize>,
    pub dyn_hidden: usize,
    pub dec_hidden: Vec<usize>,
    pub rew_hidden: Vec<usize>,
    pub act: Unary,
}

impl MlpConfig {
    /// Widths chosen so the parameter count is within 10% of the default Koopman model's.
    pub fn new(obs_dim: usize, act_dim: usize) -> Self {
        MlpConfig {
            obs_dim,
            act_dim,
            latent: 768,
            enc_hidden: vec![256, 256],
            dyn_hidden: 256,
            dec_hidden: vec![256, 256],
            rew_hidden: vec![256],
            act: Unary::Elu,
        }
    }
    pub fn small(obs_dim: usize, act_dim: usize, latent: usize, hidden: usize) -> Self {
        MlpConfig {
            latent,
            enc_hidden: vec![hidden],
            dyn_hidden: hidden,
            dec_hidden: vec![hidden],
            rew_hidden: vec![hidden],
            ..Self::new(obs_dim, act_dim)
        }
    }
}

pub struct MlpModel {
    pub cfg: MlpConfig,
    params: ParamStore,
    enc: Mlp,
    dynamics: Mlp,
    dec: Mlp,
    rew: Mlp,
}

impl MlpModel {
    pub fn new(cfg: MlpConfig, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut ps = ParamStore::new();
        let (ds, da, l) = (cfg.obs_dim, cfg.act_dim, cfg.latent);
        let enc = Mlp::new(
            &mut ps,
            "enc",
            &Mlp::widths(ds, &cfg.enc_hidden, l),
            cfg.act,
            &mut rng,
        );
        let dynamics = Mlp::new(
            &mut ps,
            "dyn",
            &[l + da, cfg.dyn_hidden, l],
            cfg.act,
            &mut rng,
        );
        let dec = Mlp::new(
            &mut ps,
            "dec",
            &Mlp::widths(l, &cfg.dec_hidden, ds),
            cfg.act,
            &mut rng,
        );
        let rew = Mlp::new(
            &mut ps,
            "rew",
            &Mlp::widths(l + da, &cfg.rew_hidden, 1),
            cfg.act,
            &mut rng,
        );
        MlpModel {
            cfg,
            params: ps,
            enc,
            dynamics,
            dec,
            rew,
        }
    }
}

impl ModelInfo for MlpModel {
    model_accessors!(Mlp);
}

impl<B: Engine<E = f32>> Forward<B> for MlpModel {
    fn score_on(&self, t: &mut Tape<B>, s0: Var, actions: Var) -> Result<Scored> {
        let (b, tl) = (t.dims(actions)[0], t.dims(actions)[1]);
        let z0 = self.enc.forward(t, s0)?;
        let mut z = t.reshape(z0, &[b, 1, self.cfg.latent])?;
        let (mut next, mut inputs) = (Vec::with_capacity(tl), Vec::with_capacity(tl));
        for k in 0..tl {
            let ak = t.narrow(actions, 1, k, 1)?;
            let za = t.concat(&[z, ak], 2)?;
            inputs.push(za);
            z = self.dynamics.forward(t, za)?;
            next.push(z);
        }
        let zs = t.concat(&next, 1)?;
        let zas = t.concat(&inputs, 1)?;
        let rewards = self.rew.forward(t, zas)?;
        Ok(Scored {
            features: zs,
            rewards,
        })
    }
    fn decode_on(&self, t: &mut Tape<B>, zs: Var) -> Result<Var> {
        self.dec.forward(t, zs)
    }
}
