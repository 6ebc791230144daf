//! Latent dynamics models: the Koopman model (paper §3) and the MLP, GRU and Transformer baselines
//! (paper §4.1). Every model maps (s₀, a₀..a_{T−1}) to predicted states s₁..s_T and rewards r₀..r_{T−1}.
//!
//! A model implements `rollout` once; `loss` (training) and `predict` (no-grad, pooled buffers, for
//! evaluation and planners) are both built on it, so the two paths cannot drift apart.
/// The accessors every model implements the same way (its config holds `obs_dim`/`act_dim`).
macro_rules! model_accessors {
    ($kind:ident) => {
        fn kind(&self) -> super::ModelKind {
            super::ModelKind::$kind
        }
        fn obs_dim(&self) -> usize {
            self.cfg.obs_dim
        }
        fn act_dim(&self) -> usize {
            self.cfg.act_dim
        }
        fn params(&self) -> &crate::autodiff::ParamStore {
            &self.params
        }
        fn params_mut(&mut self) -> &mut crate::autodiff::ParamStore {
            &mut self.params
        }
        fn config(&self) -> super::ModelConfig {
            super::ModelConfig::$kind(self.cfg.clone())
        }
    };
}

mod gru;
mod heads;
mod koopman;
mod mlp;
mod predictor;
mod transformer;

pub use crate::data::SeqBatch;
pub use gru::{GruConfig, GruModel};
pub use koopman::{KoopmanConfig, KoopmanModel, MuInit, OmegaInit, RolloutMode};
pub use mlp::{MlpConfig, MlpModel};
pub use predictor::Predictor;
pub use transformer::{TransformerConfig, TransformerModel};

use crate::autodiff::{ParamStore, Tape, Var};
use crate::backend::Cpu;
use crate::ops::Engine;
use crate::{Error, Result};

/// What a model computes before its state decoder: the per-step features the decoder reads
/// [B, T, F] (the Koopman model's latent x̂_1..x̂_T, the GRU's hidden states, …) and the rewards
/// [B, T, 1]. A planner scoring candidate action sequences needs only this.
pub struct Scored {
    pub features: Var,
    pub rewards: Var,
}

/// The model's outputs on a tape: states [B, T, d_s], rewards [B, T, 1] and the decoder's input.
pub struct Rollout {
    pub states: Var,
    pub rewards: Var,
    pub features: Var,
}

/// The loss and its named parts (all scalars on the tape).
pub struct Losses {
    pub total: Var,
    pub parts: Vec<(&'static str, Var)>,
}

/// Which model; parsed from the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Koopman,
    Mlp,
    Gru,
    Transformer,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Koopman,
        ModelKind::Mlp,
        ModelKind::Gru,
        ModelKind::Transformer,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Koopman => "koopman",
            ModelKind::Mlp => "mlp",
            ModelKind::Gru => "gru",
            ModelKind::Transformer => "transformer",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown model '{s}' (known: koopman, mlp, gru, transformer)"
                ))
            })
    }
}

/// What every model is, whatever the device: sizes, parameters, configuration.
pub trait ModelInfo: Send + Sync {
    fn kind(&self) -> ModelKind;
    fn obs_dim(&self) -> usize;
    fn act_dim(&self) -> usize;
    fn params(&self) -> &ParamStore;
    fn params_mut(&mut self) -> &mut ParamStore;
    /// The configuration that rebuilds this model (stored in checkpoints).
    fn config(&self) -> ModelConfig;
    /// Weight of the reward term in the total loss.
    fn reward_weight(&self) -> f64 {
        1.0
    }
}

/// A model's computation on a tape of backend `B`: written once, generic over the backend.
pub trait Forward<B: Engine<E = f32>>: ModelInfo {
    /// Features and rewards from s0 [B, d_s] and actions [B, T, d_a] (constants on `t`): everything
    /// but the state decoder.
    fn score_on(&self, t: &mut Tape<B>, s0: Var, actions: Var) -> Result<Scored>;

    /// The state decoder: features [B, T, F] → states [B, T, d_s].
    fn decode_on(&self, t: &mut Tape<B>, features: Var) -> Result<Var>;

    /// Predicted states and rewards: `score`, then `decode` (one path for training, evaluation and
    /// planners, so the reward-only planner path cannot drift from the trained one).
    fn rollout_on(&self, t: &mut Tape<B>, s0: Var, actions: Var) -> Result<Rollout> {
        let Scored { features, rewards } = self.score_on(t, s0, actions)?;
        let states = self.decode_on(t, features)?;
        Ok(Rollout {
            states,
            rewards,
            features,
        })
    }

    /// Model-specific loss terms beyond state and reward prediction (the Koopman consistency term).
    fn extra_losses(
        &self,
        _t: &mut Tape<B>,
        _batch: &SeqBatch,
        _r: &Rollout,
    ) -> Result<Vec<(&'static str, Var, f64)>> {
        Ok(Vec::new())
    }

    /// State MSE + w_r·reward MSE (+ extra terms), each a mean over steps, dimensions and batch.
    fn loss_on(&self, t: &mut Tape<B>, batch: &SeqBatch) -> Result<Losses> {
        batch.check(self.obs_dim(), self.act_dim())?;
        let s0 = t.constant([batch.b, batch.obs_dim], &batch.first_states())?;
        let actions = t.constant([batch.b, batch.t, batch.act_dim], batch.actions)?;
        let r = self.rollout_on(t, s0, actions)?;
        let next = t.constant([batch.b, batch.t, batch.obs_dim], &batch.next_states())?;
        let rewards = t.constant([batch.b, batch.t, 1], batch.rewards)?;
        let state_loss = t.mse(r.states, next)?;
        let reward_loss = t.mse(r.rewards, rewards)?;
        let mut parts = vec![("state", state_loss), ("reward", reward_loss)];
        let w = t.scale(reward_loss, self.reward_weight() as f32);
        let mut total = t.add(state_loss, w)?;
        for (name, v, weight) in self.extra_losses(t, batch, &r)? {
            parts.push((name, v));
            let wv = t.scale(v, weight as f32);
            total = t.add(total, wv)?;
        }
        Ok(Losses { total, parts })
    }
}

crate::all_backends_trait!(
    /// A model usable on every compiled-in backend, as one trait object (`Box<dyn DynamicsModel>`).
    pub trait DynamicsModel: Forward + ModelInfo
);

/// The model's computation on whichever backend the tape is on (these inherent methods pick the
/// backend from the tape, where calling the `Forward` methods on the trait object directly would
/// be ambiguous between backends).
impl<'m> dyn DynamicsModel + 'm {
    pub fn score<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        s0: Var,
        actions: Var,
    ) -> Result<Scored>
    where
        Self: Forward<B>,
    {
        Forward::<B>::score_on(self, t, s0, actions)
    }
    pub fn decode<B: Engine<E = f32>>(&self, t: &mut Tape<B>, features: Var) -> Result<Var>
    where
        Self: Forward<B>,
    {
        Forward::<B>::decode_on(self, t, features)
    }
    pub fn rollout<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        s0: Var,
        actions: Var,
    ) -> Result<Rollout>
    where
        Self: Forward<B>,
    {
        Forward::<B>::rollout_on(self, t, s0, actions)
    }
    pub fn loss<B: Engine<E = f32>>(&self, t: &mut Tape<B>, batch: &SeqBatch) -> Result<Losses>
    where
        Self: Forward<B>,
    {
        Forward::<B>::loss_on(self, t, batch)
    }

    /// No-grad open-loop prediction of a [`Query`] on the CPU, reusing `pool`'s buffers (a planner
    /// calling this in a loop allocates nothing once warm). Writes rewards [B, T], and states
    /// [B, T, d_s] when `states_out` is given; without it the decoder is not run. [`Predictor`]
    /// does the same on any device.
    pub fn predict_into(
        &self,
        pool: &mut Vec<Vec<f32>>,
        q: Query,
        states_out: Option<&mut [f32]>,
        rewards_out: &mut [f32],
    ) -> Result<()> {
        let (ds, da) = (self.obs_dim(), self.act_dim());
        q.check(ds, da, states_out.as_deref(), rewards_out)?;
        let mut tape = Tape::with_pool(self.params(), std::mem::take(pool), false);
        let s = tape.constant([q.batch, ds], q.s0)?;
        let a = tape.constant([q.batch, q.horizon, da], q.actions)?;
        let scored = self.score_on(&mut tape, s, a)?;
        if let Some(out) = states_out {
            let states = Forward::<Cpu>::decode_on(self, &mut tape, scored.features)?;
            out.copy_from_slice(tape.value(states));
        }
        rewards_out.copy_from_slice(tape.value(scored.rewards));
        *pool = tape.into_pool().into_vec();
        Ok(())
    }

    /// Allocating convenience form of `predict_into`: (states [B·T·d_s], rewards [B·T]).
    pub fn predict(&self, q: Query) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut states = vec![0.0; q.batch * q.horizon * self.obs_dim()];
        let mut rewards = vec![0.0; q.batch * q.horizon];
        self.predict_into(&mut Vec::new(), q, Some(&mut states), &mut rewards)?;
        Ok((states, rewards))
    }
}

/// B open-loop predictions to make: start states `s0` [B, d_s] and action sequences `actions`
/// [B, T, d_a], row-major, with B = `batch` and T = `horizon`.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    pub s0: &'a [f32],
    pub actions: &'a [f32],
    pub batch: usize,
    pub horizon: usize,
}

impl<'a> Query<'a> {
    pub fn new(s0: &'a [f32], actions: &'a [f32], batch: usize, horizon: usize) -> Self {
        Query {
            s0,
            actions,
            batch,
            horizon,
        }
    }

    /// The shape contract of a prediction (shared by the CPU and CUDA predictors): inputs sized for
    /// the model's d_s and d_a, outputs for the query.
    pub(crate) fn check(
        &self,
        ds: usize,
        da: usize,
        states_out: Option<&[f32]>,
        rewards_out: &[f32],
    ) -> Result<()> {
        let (b, t) = (self.batch, self.horizon);
        if self.s0.len() != b * ds || self.actions.len() != b * t * da {
            return Err(Error::Shape(format!(
                "predict: s0 has {} values (need {b}×{ds}), actions {} (need {b}×{t}×{da})",
                self.s0.len(),
                self.actions.len()
            )));
        }
        if let Some(s) = states_out.filter(|s| s.len() != b * t * ds) {
            return Err(Error::Shape(format!(
                "predict: states_out has {} values (need {b}×{t}×{ds})",
                s.len()
            )));
        }
        if rewards_out.len() != b * t {
            return Err(Error::Shape(format!(
                "predict: rewards_out has {} values (need {b}×{t})",
                rewards_out.len()
            )));
        }
        Ok(())
    }
}

/// Builds a model with its default configuration for the given dimensions.
pub fn build_default(
    kind: ModelKind,
    obs_dim: usize,
    act_dim: usize,
    seed: u64,
) -> Box<dyn DynamicsModel> {
    match kind {
        ModelKind::Koopman => Box::new(KoopmanModel::new(
            KoopmanConfig::new(obs_dim, act_dim),
            seed,
        )),
        ModelKind::Mlp => Box::new(MlpModel::new(MlpConfig::new(obs_dim, act_dim), seed)),
        ModelKind::Gru => Box::new(GruModel::new(GruConfig::new(obs_dim, act_dim), seed)),
        ModelKind::Transformer => Box::new(TransformerModel::new(
            TransformerConfig::new(obs_dim, act_dim),
            seed,
        )),
    }
}

/// [s₀ ‖ a₀], [0 ‖ a₁], …: the masked state-action sequence of the GRU and Transformer baselines
/// (only the start state is visible; the model must predict the rest).
/// Built from tape ops (no host copy), so it runs on either device and allocates nothing warm.
pub(crate) fn masked_inputs<B: Engine<E = f32>>(
    t: &mut Tape<B>,
    s0: Var,
    actions: Var,
) -> Result<Var> {
    let (b, tl) = (t.dims(actions)[0], t.dims(actions)[1]);
    let ds = t.dims(s0)[1];
    let first = t.reshape(s0, &[b, 1, ds])?;
    let states = if tl > 1 {
        let rest = t.zeros([b, tl - 1, ds]);
        t.concat(&[first, rest], 1)?
    } else if tl == 1 {
        first
    } else {
        t.zeros([b, 0, ds])
    };
    t.concat(&[states, actions], 2)
}

/// A model's full configuration: what a checkpoint stores to rebuild it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub enum ModelConfig {
    Koopman(KoopmanConfig),
    Mlp(MlpConfig),
    Gru(GruConfig),
    Transformer(TransformerConfig),
}

impl ModelConfig {
    pub fn default_for(kind: ModelKind, obs_dim: usize, act_dim: usize) -> Self {
        match kind {
            ModelKind::Koopman => ModelConfig::Koopman(KoopmanConfig::new(obs_dim, act_dim)),
            ModelKind::Mlp => ModelConfig::Mlp(MlpConfig::new(obs_dim, act_dim)),
            ModelKind::Gru => ModelConfig::Gru(GruConfig::new(obs_dim, act_dim)),
            ModelKind::Transformer => {
                ModelConfig::Transformer(TransformerConfig::new(obs_dim, act_dim))
            }
        }
    }
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelConfig::Koopman(_) => ModelKind::Koopman,
            ModelConfig::Mlp(_) => ModelKind::Mlp,
            ModelConfig::Gru(_) => ModelKind::Gru,
            ModelConfig::Transformer(_) => ModelKind::Transformer,
        }
    }
    /// Every size in the configuration is at least 1 (the Transformer's `layers` may be 0) and the
    /// Transformer's `dim` divides into its `heads`.
    pub fn validate(&self) -> Result<()> {
        let mut sizes: Vec<(&str, usize)> = vec![];
        let (obs, act, hidden) = match self {
            ModelConfig::Koopman(c) => {
                sizes.push(("modes", c.modes));
                let h = [&c.enc_hidden, &c.act_hidden, &c.dec_hidden, &c.rew_hidden];
                (
                    c.obs_dim,
                    c.act_dim,
                    h.into_iter().flatten().copied().collect::<Vec<_>>(),
                )
            }
            ModelConfig::Mlp(c) => {
                sizes.push(("latent", c.latent));
                sizes.push(("dyn_hidden", c.dyn_hidden));
                let h = [&c.enc_hidden, &c.dec_hidden, &c.rew_hidden];
                (
                    c.obs_dim,
                    c.act_dim,
                    h.into_iter().flatten().copied().collect(),
                )
            }
            ModelConfig::Gru(c) => {
                sizes.push(("hidden", c.hidden));
                let h = [&c.embed, &c.dec_hidden, &c.rew_hidden];
                (
                    c.obs_dim,
                    c.act_dim,
                    h.into_iter().flatten().copied().collect(),
                )
            }
            ModelConfig::Transformer(c) => {
                sizes.push(("dim", c.dim));
                sizes.push(("heads", c.heads));
                sizes.push(("mlp_ratio", c.mlp_ratio));
                let h = [&c.dec_hidden, &c.rew_hidden];
                (
                    c.obs_dim,
                    c.act_dim,
                    h.into_iter().flatten().copied().collect(),
                )
            }
        };
        sizes.push(("obs_dim", obs));
        sizes.push(("act_dim", act));
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(Error::Invalid(format!(
                "{} config: `{name}` is 0, it must be at least 1",
                self.kind().name()
            )));
        }
        if hidden.contains(&0) {
            return Err(Error::Invalid(format!(
                "{} config: a hidden layer width is 0, each must be at least 1",
                self.kind().name()
            )));
        }
        if let ModelConfig::Transformer(c) = self {
            if c.dim % c.heads != 0 {
                return Err(Error::Invalid(format!(
                    "transformer dim {} is not divisible by heads {}",
                    c.dim, c.heads
                )));
            }
        }
        Ok(())
    }

    /// A lower bound on the model's parameter count, from its weight matrices alone (biases, norms
    /// and Koopman's μ, ω, Δt come on top); `None` when it overflows 64 bits. Checked before
    /// building a model from an untrusted configuration (a checkpoint's metadata), so a hostile
    /// width is refused rather than allocated.
    pub fn min_param_count(&self) -> Option<u64> {
        /// Σ w_i · w_{i+1} over an MLP's widths `first, hidden.., last`.
        fn chain(first: usize, hidden: &[usize], last: usize) -> Option<u64> {
            let mut ws = vec![first as u64];
            ws.extend(hidden.iter().map(|&h| h as u64));
            ws.push(last as u64);
            ws.windows(2)
                .try_fold(0u64, |acc, w| acc.checked_add(w[0].checked_mul(w[1])?))
        }
        let add = |xs: &[Option<u64>]| xs.iter().try_fold(0u64, |acc, x| acc.checked_add((*x)?));
        let mul = |a: u64, b: u64| a.checked_mul(b);
        match self {
            ModelConfig::Koopman(c) => {
                let two_m = c.modes.checked_mul(2)?;
                add(&[
                    chain(c.obs_dim, &c.enc_hidden, two_m),
                    chain(c.act_dim, &c.act_hidden, two_m),
                    chain(two_m, &c.dec_hidden, c.obs_dim),
                    chain(two_m.checked_add(c.act_dim)?, &c.rew_hidden, 1),
                ])
            }
            ModelConfig::Mlp(c) => {
                let la = c.latent.checked_add(c.act_dim)?;
                add(&[
                    chain(c.obs_dim, &c.enc_hidden, c.latent),
                    chain(la, &[c.dyn_hidden], c.latent),
                    chain(c.latent, &c.dec_hidden, c.obs_dim),
                    chain(la, &c.rew_hidden, 1),
                ])
            }
            ModelConfig::Gru(c) => {
                let (input, h) = (c.obs_dim.checked_add(c.act_dim)?, c.hidden as u64);
                let e_out = *c.embed.last().unwrap_or(&input) as u64;
                let embed = match c.embed.split_last() {
                    Some((&last, mid)) => chain(input, mid, last),
                    None => Some(0),
                };
                add(&[
                    embed,
                    mul(3, mul(h, e_out.checked_add(h)?)?),
                    chain(c.hidden, &c.dec_hidden, c.obs_dim),
                    chain(c.hidden, &c.rew_hidden, 1),
                ])
            }
            ModelConfig::Transformer(c) => {
                let d = c.dim as u64;
                let per_layer =
                    mul(d, d)?.checked_mul(mul(2, c.mlp_ratio as u64)?.checked_add(4)?)?;
                add(&[
                    mul(c.obs_dim.checked_add(c.act_dim)? as u64, d),
                    mul(c.layers as u64, per_layer),
                    chain(c.dim, &c.dec_hidden, c.obs_dim),
                    chain(c.dim, &c.rew_hidden, 1),
                ])
            }
        }
    }

    /// Activations one step of one window produces, at least: the width of every layer output of
    /// every per-step network. `None` on overflow. Sizes memory estimates.
    pub fn activation_width(&self) -> Option<u64> {
        let sum = |parts: &[&[usize]]| {
            parts
                .iter()
                .flat_map(|p| p.iter())
                .try_fold(0u64, |acc, &w| acc.checked_add(w as u64))
        };
        match self {
            ModelConfig::Koopman(c) => {
                let m2 = c.modes.checked_mul(2)?;
                sum(&[
                    &c.enc_hidden,
                    &c.act_hidden,
                    &c.dec_hidden,
                    &c.rew_hidden,
                    &[m2, m2, m2, m2, c.obs_dim, 1],
                ])
            }
            ModelConfig::Mlp(c) => sum(&[
                &c.enc_hidden,
                &c.dec_hidden,
                &c.rew_hidden,
                &[c.dyn_hidden, c.latent, c.latent, c.obs_dim, 1],
            ]),
            ModelConfig::Gru(c) => sum(&[
                &c.embed,
                &c.dec_hidden,
                &c.rew_hidden,
                &[c.hidden.checked_mul(4)?, c.obs_dim, 1],
            ]),
            ModelConfig::Transformer(c) => {
                let per_layer = c.dim.checked_mul(c.mlp_ratio.checked_add(6)?)?;
                sum(&[
                    &c.dec_hidden,
                    &c.rew_hidden,
                    &[c.layers.checked_mul(per_layer)?, c.dim, c.obs_dim, 1],
                ])
            }
        }
    }

    /// Builds the model with freshly initialised parameters.
    pub fn build(&self, seed: u64) -> Result<Box<dyn DynamicsModel>> {
        self.validate()?;
        Ok(match self {
            ModelConfig::Koopman(c) => Box::new(KoopmanModel::new(c.clone(), seed)),
            ModelConfig::Mlp(c) => Box::new(MlpModel::new(c.clone(), seed)),
            ModelConfig::Gru(c) => Box::new(GruModel::new(c.clone(), seed)),
            ModelConfig::Transformer(c) => Box::new(TransformerModel::new(c.clone(), seed)),
        })
    }
}
