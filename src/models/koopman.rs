//! The Koopman latent dynamics model (paper §3): encoders into a complex latent, a diagonal linear
//! operator discretised by ZOH with a learnable Δt, the whole horizon unrolled in parallel (scan, or
//! the paper's Vandermonde + convolution form), then a decoder and a reward head.
//!
//! Choices the paper leaves open (README.md, "Model defaults"), all configurable:
//! m = 512 complex modes; encoders d_s → 256 → 256 → 2m and d_a → 256 → 2m with ELU; decoder
//! 2m → 256 → 256 → d_s; reward head on [x̂_k ‖ a_k] → 256 → 1; ω_j = jπ (increasing), μ = −0.2 fixed;
//! scalar Δt learned as log Δt with Δt₀ = min(1/m, 0.01); consistency target g(s_{t+k}) under stop-gradient;
//! loss = state + 0.1·consistency + 1·reward, each a mean.
use super::{Forward, ModelInfo, Rollout, Scored, SeqBatch};
use crate::autodiff::{ParamStore, Tape, Var};
use crate::nn::{default_dt0, DiagonalKoopman, Mlp, OperatorConfig};
pub use crate::nn::{MuInit, OmegaInit, RolloutMode};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KoopmanConfig {
    pub obs_dim: usize,
    pub act_dim: usize,
    /// Number of complex modes m (the latent has 2m reals).
    pub modes: usize,
    pub enc_hidden: Vec<usize>,
    pub act_hidden: Vec<usize>,
    pub dec_hidden: Vec<usize>,
    pub rew_hidden: Vec<usize>,
    pub act: Unary,
    pub mu: MuInit,
    pub omega: OmegaInit,
    /// Δt at initialisation (defaults to min(1/m, 0.01), [`default_dt0`]).
    pub dt0: f64,
    pub learn_dt: bool,
    pub learn_omega: bool,
    pub consistency_weight: f64,
    pub reward_weight: f64,
    /// Weight of an autoencoder term ‖d(g(s₀)) − s₀‖² on each window's first state (0: off, the
    /// paper's Eq. 7; absent in checkpoints written before it existed).
    #[serde(default)]
    pub recon_weight: f64,
    pub rollout: RolloutMode,
}

impl KoopmanConfig {
    pub fn new(obs_dim: usize, act_dim: usize) -> Self {
        let modes = 512;
        KoopmanConfig {
            obs_dim,
            act_dim,
            modes,
            enc_hidden: vec![256, 256],
            act_hidden: vec![256],
            dec_hidden: vec![256, 256],
            rew_hidden: vec![256],
            act: Unary::Elu,
            mu: MuInit::Fixed(-0.2),
            omega: OmegaInit::Increasing { alpha: 1.0 },
            dt0: default_dt0(modes),
            learn_dt: true,
            learn_omega: true,
            consistency_weight: 0.1,
            reward_weight: 1.0,
            recon_weight: 0.0,
            rollout: RolloutMode::Scan,
        }
    }
    /// A small configuration for tests and quick demos.
    pub fn small(obs_dim: usize, act_dim: usize, modes: usize, hidden: usize) -> Self {
        KoopmanConfig {
            modes,
            enc_hidden: vec![hidden],
            act_hidden: vec![hidden],
            dec_hidden: vec![hidden],
            rew_hidden: vec![hidden],
            dt0: default_dt0(modes),
            ..Self::new(obs_dim, act_dim)
        }
    }
}

pub struct KoopmanModel {
    pub cfg: KoopmanConfig,
    params: ParamStore,
    enc: Mlp,
    act_enc: Mlp,
    dec: Mlp,
    rew: Mlp,
    op: DiagonalKoopman,
}

impl KoopmanModel {
    pub fn new(cfg: KoopmanConfig, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut ps = ParamStore::new();
        let (ds, da, m) = (cfg.obs_dim, cfg.act_dim, cfg.modes);
        let enc = Mlp::new(
            &mut ps,
            "enc",
            &Mlp::widths(ds, &cfg.enc_hidden, 2 * m),
            cfg.act,
            &mut rng,
        );
        let act_enc = Mlp::new(
            &mut ps,
            "act_enc",
            &Mlp::widths(da, &cfg.act_hidden, 2 * m),
            cfg.act,
            &mut rng,
        );
        let dec = Mlp::new(
            &mut ps,
            "dec",
            &Mlp::widths(2 * m, &cfg.dec_hidden, ds),
            cfg.act,
            &mut rng,
        );
        let rew = Mlp::new(
            &mut ps,
            "rew",
            &Mlp::widths(2 * m + da, &cfg.rew_hidden, 1),
            cfg.act,
            &mut rng,
        );
        let op = DiagonalKoopman::new(
            &mut ps,
            "koopman",
            OperatorConfig {
                modes: m,
                mu: cfg.mu,
                omega: cfg.omega,
                dt0: cfg.dt0,
                learn_dt: cfg.learn_dt,
                learn_omega: cfg.learn_omega,
                rollout: cfg.rollout,
            },
            &mut rng,
        );
        KoopmanModel {
            cfg,
            params: ps,
            enc,
            act_enc,
            dec,
            rew,
            op,
        }
    }

    /// Latent rollout: x̂_1..x̂_T [B, T, 2m] from x₀ [B, 2m] and encoded actions u [B, T, 2m].
    pub fn latent_rollout<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        x0: Var,
        u: Var,
    ) -> Result<Var> {
        self.op.rollout(t, x0, u)
    }

    /// `latent_rollout(x0, act_enc(actions))` with the ZOH gain folded into the action encoder's last
    /// layer: row by row (h·W + b) ⊙ g = h·(W ⊙ g) + b ⊙ g, so the complex product runs on the
    /// [hidden, 2m] weight instead of the [B, T, 2m] activations (same numbers up to f32 rounding).
    fn latent_rollout_actions<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        x0: Var,
        actions: Var,
    ) -> Result<Var> {
        let Some((last, hidden)) = self.act_enc.layers.split_last() else {
            let u = self.act_enc.forward(t, actions)?;
            return self.latent_rollout(t, x0, u);
        };
        let (eig, gain) = self.op.eigen_gain(t)?;
        let mut h = actions;
        for l in hidden {
            h = l.forward(t, h)?;
            h = t.unary(h, self.act_enc.act);
        }
        let w = t.param(last.w);
        let w = t.cmul(w, gain)?;
        let b = match last.b {
            Some(b) => {
                let b = t.param(b);
                Some(t.cmul(b, gain)?)
            }
            None => None,
        };
        let c = t.matmul(h, w, b)?;
        self.op.unroll(t, x0, c, eig)
    }

    /// Reward r_k from (x̂_k, a_k), k = 0..T−1, with x̂_0 = x₀ (TD-MPC's R(z_t, a_t)): the reward MLP
    /// on [x̂_k ‖ a_k]. Its first layer is applied split by input, [x̂ ‖ a]·W + b = x̂·W_x + (a·W_a + b),
    /// with x̂·W_x computed on x̂_1..x̂_T in place (the last step's row unused) and on x₀, then shifted
    /// by one step on the hidden width: no [B, T, 2m + d_a] concatenation is built or differentiated.
    fn reward_head<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        x0: Var,
        xh: Var,
        actions: Var,
    ) -> Result<Var> {
        let (b, tl, m2) = (t.dims(xh)[0], t.dims(xh)[1], t.dims(xh)[2]);
        let da = t.dims(actions)[2];
        let Some((first, rest)) = self.rew.layers.split_first() else {
            return Err(crate::Error::Invalid("reward head has no layers".into()));
        };
        let hw = first.fan_out;
        let w = t.param(first.w);
        let wx = t.narrow(w, 0, 0, m2)?;
        let wa = t.narrow(w, 0, m2, da)?;
        let bias = first.b.map(|p| t.param(p));
        let p0 = t.matmul(x0, wx, None)?;
        let p0 = t.reshape(p0, &[b, 1, hw])?;
        let px = if tl > 1 {
            let all = t.matmul(xh, wx, None)?;
            let head = t.narrow(all, 1, 0, tl - 1)?;
            t.concat(&[p0, head], 1)?
        } else {
            p0
        };
        let pa = t.matmul(actions, wa, bias)?;
        let mut h = t.add(px, pa)?;
        for l in rest {
            h = t.unary(h, self.rew.act);
            h = l.forward(t, h)?;
        }
        Ok(h)
    }

    /// The learned continuous-time eigenvalues and Δt: (μ_j, ω_j) per mode and Δt.
    pub fn eigenvalues(&self) -> (Vec<(f64, f64)>, f64) {
        self.op
            .eigenvalues(&self.params)
            .expect("eigen shapes are fixed by the config")
    }
}

impl ModelInfo for KoopmanModel {
    model_accessors!(Koopman);
    fn reward_weight(&self) -> f64 {
        self.cfg.reward_weight
    }
}

impl<B: Engine<E = f32>> Forward<B> for KoopmanModel {
    fn score_on(&self, t: &mut Tape<B>, s0: Var, actions: Var) -> Result<Scored> {
        let x0 = self.enc.forward(t, s0)?;
        let xh = self.latent_rollout_actions(t, x0, actions)?;
        let rewards = self.reward_head(t, x0, xh, actions)?;
        Ok(Scored {
            features: xh,
            rewards,
        })
    }
    fn decode_on(&self, t: &mut Tape<B>, xh: Var) -> Result<Var> {
        self.dec.forward(t, xh)
    }

    fn extra_losses(
        &self,
        t: &mut Tape<B>,
        batch: &SeqBatch,
        r: &Rollout,
    ) -> Result<Vec<(&'static str, Var, f64)>> {
        // The rollout's features are the latent x̂_1..x̂_T. The target g(s_{t+k}) is under stop-gradient:
        // computed with recording off, so it costs a forward only.
        let next = t.constant([batch.b, batch.t, batch.obs_dim], &batch.next_states())?;
        let was = t.set_grad_enabled(false);
        let target = self.enc.forward(t, next);
        t.set_grad_enabled(was);
        let cons = t.mse(r.features, target?)?;
        let mut terms = vec![("consistency", cons, self.cfg.consistency_weight)];
        if self.cfg.recon_weight > 0.0 {
            let s0 = t.constant([batch.b, batch.obs_dim], &batch.first_states())?;
            let x0 = self.enc.forward(t, s0)?;
            let back = self.dec.forward(t, x0)?;
            let recon = t.mse(back, s0)?;
            terms.push(("reconstruction", recon, self.cfg.recon_weight));
        }
        Ok(terms)
    }
}
