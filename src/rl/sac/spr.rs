//! Self-predictive representations for SAC (paper §4.2.2, App. C.2): from the critic's feature
//! z₀ of an observation, a latent model predicts the features of the next K observations under
//! the actions taken, and the prediction loss (added to the critics' TD loss) trains the encoder.
//! The targets are the same online encoder's features of o₁..o_K with the gradient stopped (the
//! paper's stop-gradient targets, no EMA).
//!
//! - **SAC + SPR** ([`SprKind::Mlp`]): ẑ_{k+1} = ẑ_k + MLP([ẑ_k ‖ a_k]); a projection g
//!   (Linear → LayerNorm → ReLU → Linear → LayerNorm) on both sides and a predictor q (Linear →
//!   LayerNorm → ReLU → Linear) on the online side; loss Σ_k mean_b ‖n(q(g(ẑ_k))) − n(g(z̃_k))‖²
//!   = Σ_k mean_b (2 − 2 cos), n the L2 normalisation (SPR's).
//! - **Koopman SPR** ([`SprKind::Koopman`]): a projector to m complex Koopman observables
//!   x₀ = P z₀, the diagonal Koopman operator (ZOH, learnable Δt) driven by encoded actions over
//!   the K steps (the engine's scan), and a decoder back to the feature: loss (the paper's Eq. 7)
//!   Σ_k mean_{b, j} (D x̂_k − z̃_k)²; no consistency term in Koopman space (the paper drops it,
//!   it promotes collapse).
use crate::autodiff::{ParamStore, Tape, Var};
use crate::nn::{
    default_dt0, ControlledKoopman, LayerNorm, Linear, Mlp, MuInit, OmegaInit, OperatorConfig,
    RolloutMode,
};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SprKind {
    Mlp,
    Koopman,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SprConfig {
    pub kind: SprKind,
    /// K: steps predicted (SPR and the paper: 5).
    pub horizon: usize,
    /// Weight of the prediction loss beside the TD loss.
    pub weight: f64,
    /// Hidden width of the projection and predictor (the transition's is twice it; Koopman SPR:
    /// the action encoder's). SAC + SPR reference code: 128.
    pub hidden: usize,
    /// Koopman SPR: complex modes m (2m real observables).
    pub modes: usize,
    /// Koopman SPR: Δt at initialisation.
    pub dt0: f64,
}

impl SprConfig {
    /// SAC + SPR: K = 5, weight 1, width 128.
    pub fn mlp() -> Self {
        SprConfig {
            kind: SprKind::Mlp,
            horizon: 5,
            weight: 1.0,
            hidden: 128,
            modes: 0,
            dt0: 0.0,
        }
    }
    /// Koopman SPR: K = 5, weight 1, 25 modes (50 real observables, the feature's width), Δt₀
    /// 0.1/m (the project's dynamics-model default), action encoder width 128.
    pub fn koopman() -> Self {
        SprConfig {
            kind: SprKind::Koopman,
            modes: 25,
            dt0: default_dt0(25),
            ..SprConfig::mlp()
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("spr: {m}")));
        if self.horizon == 0 || self.hidden == 0 {
            return bad(format!(
                "horizon {} and hidden {} must both be ≥ 1",
                self.horizon, self.hidden
            ));
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return bad(format!("weight {} must be finite and ≥ 0", self.weight));
        }
        if self.kind == SprKind::Koopman
            && (self.modes == 0 || !(self.dt0 > 0.0 && self.dt0.is_finite()))
        {
            return bad(format!(
                "Koopman SPR needs modes ≥ 1 (got {}) and a finite Δt₀ > 0 (got {})",
                self.modes, self.dt0
            ));
        }
        Ok(())
    }
}

/// Linear → LayerNorm (→ ReLU → Linear (→ LayerNorm)): SPR's projection and predictor heads.
#[derive(Clone, Debug)]
struct Head {
    l1: Linear,
    ln1: LayerNorm,
    l2: Linear,
    ln2: Option<LayerNorm>,
}

impl Head {
    fn new(
        ps: &mut ParamStore,
        name: &str,
        f: usize,
        h: usize,
        ln_out: bool,
        rng: &mut Rng,
    ) -> Self {
        Head {
            l1: Linear::new(ps, &format!("{name}.l1"), f, h, true, rng),
            ln1: LayerNorm::new(ps, &format!("{name}.ln1"), h, rng),
            l2: Linear::new(ps, &format!("{name}.l2"), h, f, true, rng),
            ln2: ln_out.then(|| LayerNorm::new(ps, &format!("{name}.ln2"), f, rng)),
        }
    }
    fn forward<B: Engine<E = f32>>(&self, t: &mut Tape<B>, x: Var) -> Result<Var> {
        let y = self.l1.forward(t, x)?;
        let y = self.ln1.forward(t, y)?;
        let y = t.relu(y);
        let y = self.l2.forward(t, y)?;
        match &self.ln2 {
            Some(ln) => ln.forward(t, y),
            None => Ok(y),
        }
    }
}

#[derive(Clone, Debug)]
enum Model {
    Mlp {
        transition: Mlp,
        projection: Head,
        predictor: Head,
    },
    Koopman {
        project: Linear,
        dynamics: ControlledKoopman,
        decode: Linear,
    },
}

/// The SPR model's parameters (named `spr.*`; the critics' step trains them).
#[derive(Clone, Debug)]
pub struct SprNets {
    pub cfg: SprConfig,
    feature: usize,
    act_dim: usize,
    model: Model,
}

impl SprNets {
    pub fn new(
        ps: &mut ParamStore,
        cfg: &SprConfig,
        feature: usize,
        act_dim: usize,
        rng: &mut Rng,
    ) -> Self {
        let (f, a, h) = (feature, act_dim, cfg.hidden);
        let model = match cfg.kind {
            SprKind::Mlp => Model::Mlp {
                transition: Mlp::new(ps, "spr.transition", &[f + a, 2 * h, f], Unary::Relu, rng),
                projection: Head::new(ps, "spr.projection", f, h, true, rng),
                predictor: Head::new(ps, "spr.predictor", f, h, false, rng),
            },
            SprKind::Koopman => {
                let l = 2 * cfg.modes;
                Model::Koopman {
                    project: Linear::new(ps, "spr.project", f, l, true, rng),
                    dynamics: ControlledKoopman::new(
                        ps,
                        "spr.",
                        (a, h),
                        OperatorConfig {
                            modes: cfg.modes,
                            mu: MuInit::Fixed(-0.2),
                            omega: OmegaInit::Increasing { alpha: 1.0 },
                            dt0: cfg.dt0,
                            learn_dt: true,
                            learn_omega: true,
                            rollout: RolloutMode::Scan,
                        },
                        rng,
                    ),
                    decode: Linear::new(ps, "spr.decode", l, f, true, rng),
                }
            }
        };
        SprNets {
            cfg: cfg.clone(),
            feature,
            act_dim,
            model,
        }
    }

    /// The prediction loss (unweighted) from the online feature z₀ [B, f], the actions a₀..a_{K−1}
    /// [B, K, A] and the target features z̃₁..z̃_K [B, K, f] (constants: the gradient stopped).
    pub fn loss<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        z0: Var,
        actions: Var,
        targets: Var,
    ) -> Result<Var> {
        let (f, k) = (self.feature, self.cfg.horizon);
        let b = t.dims(z0)[0];
        match &self.model {
            Model::Mlp {
                transition,
                projection,
                predictor,
            } => {
                let mut z = z0;
                let mut steps = Vec::with_capacity(k);
                for s in 0..k {
                    let a = t.narrow(actions, 1, s, 1)?;
                    let a = t.reshape(a, &[b, self.act_dim])?;
                    let za = t.concat(&[z, a], 1)?;
                    let dz = transition.forward(t, za)?;
                    z = t.add(z, dz)?;
                    steps.push(z);
                }
                let zs = t.concat(&steps, 1)?; // [B, K·f]
                let zs = t.reshape(zs, &[b * k, f])?;
                let p = projection.forward(t, zs)?;
                let p = predictor.forward(t, p)?;
                let y = t.reshape(targets, &[b * k, f])?;
                let y = projection.forward(t, y)?;
                let y = t.detach(y);
                let (pn, yn) = (t.l2_normalize(p, 1e-3)?, t.l2_normalize(y, 1e-3)?);
                // mse averages over B·K·f values: × K·f gives Σ_k mean_b ‖·‖².
                let m = t.mse(pn, yn)?;
                Ok(t.scale(m, (k * f) as f32))
            }
            Model::Koopman {
                project,
                dynamics,
                decode,
            } => {
                let x0 = project.forward(t, z0)?;
                // x₁..x_K [B, K, 2m], decoded to [B, K, f]; mse averages over B·K·f values:
                // × K gives Σ_k mean_{b, j}.
                let xs = dynamics.rollout(t, x0, actions)?;
                let zs = decode.forward(t, xs)?;
                let m = t.mse(zs, targets)?;
                Ok(t.scale(m, k as f32))
            }
        }
    }
}
