//! TOLD, TD-MPC's task-oriented latent dynamics model (`nicklashansen/tdmpc` `algorithm/tdmpc.py`):
//! an encoder h, latent dynamics d (an MLP, or the diagonal Koopman operator), a reward head R, twin
//! Q functions and a policy π, all over one latent z. Orthogonal weights, zero biases, and zero
//! last layers of R and Q, as TD-MPC initialises them.
//!
//! Each piece is a method on a tape, so training, targets and planning run the same code on any
//! backend.
use super::config::{Dynamics, TdmpcConfig};
use crate::autodiff::{ParamId, ParamStore, Tape, Var};
use crate::nn::{
    orthogonal_weights, ControlledKoopman, LayerNorm, Linear, Mlp, OmegaInit, OperatorConfig,
};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::Result;

/// Q: Linear → LayerNorm → tanh → Linear → ELU → Linear(1).
#[derive(Clone, Debug)]
struct QHead {
    inp: Linear,
    norm: LayerNorm,
    hidden: Linear,
    out: Linear,
}

impl QHead {
    fn new(ps: &mut ParamStore, name: &str, fan_in: usize, width: usize, rng: &mut Rng) -> Self {
        QHead {
            inp: Linear::new(ps, &format!("{name}.0"), fan_in, width, true, rng),
            norm: LayerNorm::new(ps, &format!("{name}.norm"), width, rng),
            hidden: Linear::new(ps, &format!("{name}.1"), width, width, true, rng),
            out: Linear::new(ps, &format!("{name}.2"), width, 1, true, rng),
        }
    }

    /// `frozen`: the weights enter as constants, so no parameter gradient is computed (π's update
    /// differentiates through Q without training it).
    fn forward<B: Engine<E = f32>>(&self, t: &mut Tape<B>, x: Var, frozen: bool) -> Result<Var> {
        let lin = |t: &mut Tape<B>, l: &Linear, x: Var, act: Option<Unary>| -> Result<Var> {
            let (mut w, mut b) = (t.param(l.w), l.b.map(|b| t.param(b)));
            if frozen {
                w = t.detach(w);
                b = b.map(|b| t.detach(b));
            }
            t.linear(x, w, b, act)
        };
        let h = lin(t, &self.inp, x, None)?;
        let h = if frozen {
            let (g, b) = (t.param(self.norm.gamma), t.param(self.norm.beta));
            let (g, b) = (t.detach(g), t.detach(b));
            t.layernorm(h, g, b)?
        } else {
            self.norm.forward(t, h)?
        };
        let h = t.tanh(h);
        let h = lin(t, &self.hidden, h, Some(Unary::Elu))?;
        lin(t, &self.out, h, None)
    }
}

#[derive(Clone, Debug)]
enum Latent {
    Mlp(Mlp),
    Koopman(ControlledKoopman),
}

/// Continuous-time eigenvalues (μ_j, ω_j) and Δt.
pub type Spectrum = (Vec<(f64, f64)>, f64);

/// The parameter-name prefix of π (its own optimiser).
const PI: &str = "pi.";

#[derive(Clone, Debug)]
pub struct Told {
    pub cfg: TdmpcConfig,
    params: ParamStore,
    enc: Mlp,
    dynamics: Latent,
    reward: Mlp,
    pi: Mlp,
    q: [QHead; 2],
}

impl Told {
    pub fn new(cfg: TdmpcConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let mut rng = Rng::new(seed);
        let mut ps = ParamStore::new();
        let (o, a, l) = (cfg.obs_dim, cfg.act_dim, cfg.latent_dim());
        let (e, w) = (cfg.enc_dim, cfg.mlp_dim);
        let elu = Unary::Elu;
        let enc = Mlp::new(&mut ps, "enc", &[o, e, l], elu, &mut rng);
        let dynamics = match cfg.dynamics {
            Dynamics::Mlp => {
                Latent::Mlp(Mlp::new(&mut ps, "dyn", &[l + a, w, w, l], elu, &mut rng))
            }
            Dynamics::Koopman {
                modes,
                act_hidden,
                mu,
                dt0,
                learn_dt,
                rollout,
            } => Latent::Koopman(ControlledKoopman::new(
                &mut ps,
                "",
                (a, act_hidden),
                OperatorConfig {
                    modes,
                    mu,
                    omega: OmegaInit::Increasing { alpha: 1.0 },
                    dt0,
                    learn_dt,
                    learn_omega: true,
                    rollout,
                },
                &mut rng,
            )),
        };
        let reward = Mlp::new(&mut ps, "reward", &[l + a, w, w, 1], elu, &mut rng);
        let pi = Mlp::new(&mut ps, "pi", &[l, w, w, a], elu, &mut rng);
        let q = [
            QHead::new(&mut ps, "q1", l + a, w, &mut rng),
            QHead::new(&mut ps, "q2", l + a, w, &mut rng),
        ];
        // TD-MPC's orthogonal_init: every linear weight orthogonal, biases zero (already).
        orthogonal_weights(&mut ps, &mut rng);
        let mut zero = |l: &Linear| {
            ps.get_mut(l.w).data.fill(0.0);
        };
        if let Some(last) = reward.layers.last() {
            zero(last);
        }
        zero(&q[0].out);
        zero(&q[1].out);
        Ok(Told {
            cfg,
            params: ps,
            enc,
            dynamics,
            reward,
            pi,
            q,
        })
    }

    pub fn params(&self) -> &ParamStore {
        &self.params
    }
    pub fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }

    /// Whether a parameter belongs to π (trained by the policy update, not the TOLD loss).
    pub fn is_policy(&self, id: ParamId) -> bool {
        self.params.name(id).starts_with(PI)
    }

    /// The Koopman operator's continuous-time eigenvalues (μ_j, ω_j) and Δt (None for an MLP TOLD).
    pub fn eigenvalues(&self) -> Result<Option<Spectrum>> {
        match &self.dynamics {
            Latent::Koopman(k) => k.op.eigenvalues(&self.params).map(Some),
            Latent::Mlp(_) => Ok(None),
        }
    }

    /// z = h(obs), obs [.., obs_dim] → [.., latent].
    pub fn encode<B: Engine<E = f32>>(&self, t: &mut Tape<B>, obs: Var) -> Result<Var> {
        self.enc.forward(t, obs)
    }

    /// z_1..z_H [B, H, latent] from z_0 [B, latent] and actions [B, H, act_dim].
    pub fn rollout<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        z0: Var,
        actions: Var,
    ) -> Result<Var> {
        let (b, h, a) = (t.dims(actions)[0], t.dims(actions)[1], t.dims(actions)[2]);
        let l = self.cfg.latent_dim();
        match &self.dynamics {
            Latent::Koopman(k) => k.rollout(t, z0, actions),
            Latent::Mlp(d) => {
                let mut z = z0;
                let mut steps = Vec::with_capacity(h);
                for k in 0..h {
                    let ak = t.narrow(actions, 1, k, 1)?;
                    let ak = t.reshape(ak, &[b, a])?;
                    let za = t.concat(&[z, ak], 1)?;
                    z = d.forward(t, za)?;
                    steps.push(t.reshape(z, &[b, 1, l])?);
                }
                t.concat(&steps, 1)
            }
        }
    }

    /// z_0..z_{H−1} [B, H, latent]: the latent each action is taken from, given z_0 [B, latent] and
    /// the rollout z_1..z_H [B, H, latent] (what R and Q read beside a_0..a_{H−1}).
    pub fn states_before<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        z0: Var,
        zn: Var,
    ) -> Result<Var> {
        let (b, h) = (t.dims(zn)[0], t.dims(zn)[1]);
        let z0r = t.reshape(z0, &[b, 1, self.cfg.latent_dim()])?;
        if h == 1 {
            return Ok(z0r);
        }
        let head = t.narrow(zn, 1, 0, h - 1)?;
        t.concat(&[z0r, head], 1)
    }

    /// [z ‖ a] along the last axis (R's and Q's input).
    pub fn join<B: Engine<E = f32>>(&self, t: &mut Tape<B>, z: Var, a: Var) -> Result<Var> {
        let axis = t.dims(z).len() - 1;
        t.concat(&[z, a], axis)
    }

    /// R(z, a) from `za` = [z ‖ a]: [.., 1].
    pub fn reward<B: Engine<E = f32>>(&self, t: &mut Tape<B>, za: Var) -> Result<Var> {
        self.reward.forward(t, za)
    }

    /// (Q1, Q2)(z, a) from `za` = [z ‖ a]: [.., 1] each; `frozen` as in π's update.
    pub fn q<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        za: Var,
        frozen: bool,
    ) -> Result<(Var, Var)> {
        Ok((
            self.q[0].forward(t, za, frozen)?,
            self.q[1].forward(t, za, frozen)?,
        ))
    }

    /// π's mean action tanh(π(z)) [.., act_dim]; exploration noise is added by the caller
    /// ([`super::noise`]).
    pub fn pi<B: Engine<E = f32>>(&self, t: &mut Tape<B>, z: Var) -> Result<Var> {
        let m = self.pi.forward(t, z)?;
        Ok(t.tanh(m))
    }
}
