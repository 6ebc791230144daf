//! SAC's networks on one parameter store: the tanh-Gaussian actor π(a|s), twin critics Q1, Q2
//! and the log-temperature log α; from pixels also the conv encoder and a feature head per
//! network. Orthogonal weights (delta-orthogonal convolutions) and zero biases, as pytorch_sac
//! and DrQ initialise them. Each piece is a method on a tape, so updates and acting run the same
//! code on any backend.
//!
//! Observations reach the networks in two steps: [`SacNets::conv`] (the shared convolutions;
//! states pass through) and [`SacNets::head`] (the critic's or the actor's dense layer, LayerNorm
//! and tanh; states pass through).
use super::config::{PixelConfig, SacConfig};
use super::spr::SprNets;
use crate::autodiff::{ParamId, ParamStore, Tape, Var};
use crate::nn::{orthogonal_weights, LayerNorm, Linear, Mlp};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::tensor::{Init, Tensor};
use crate::util::rng::Rng;
use crate::Result;

/// ½ log 2π.
const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_7;

/// A sampled action and its log-probability under π.
pub struct Sampled {
    /// a = tanh(μ + σ ε) [B, A].
    pub action: Var,
    /// log π(a|s) [B, 1].
    pub log_prob: Var,
}

/// Which network's feature head reads the convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    Critic,
    Actor,
}

/// The pixel encoder's parameters.
#[derive(Clone, Debug)]
struct Encoder {
    cfg: PixelConfig,
    /// (weight [F, C, 3, 3], bias [F]) per convolution.
    convs: Vec<(ParamId, ParamId)>,
    /// Dense layer and LayerNorm of the critic's and of the actor's feature.
    critic: (Linear, LayerNorm),
    actor: (Linear, LayerNorm),
}

#[derive(Clone, Debug)]
pub struct SacNets {
    pub cfg: SacConfig,
    params: ParamStore,
    encoder: Option<Encoder>,
    spr: Option<SprNets>,
    actor: Mlp,
    q: [Mlp; 2],
    log_alpha: ParamId,
}

/// The parameter-name prefix of the actor (trained with the temperature, apart from the critics).
const ACTOR: &str = "actor.";
const LOG_ALPHA: &str = "log_alpha";

impl SacNets {
    pub fn new(cfg: SacConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let mut rng = Rng::new(seed);
        let mut ps = ParamStore::new();
        let (a, h) = (cfg.act_dim, cfg.hidden);
        let encoder = cfg
            .pixels
            .as_ref()
            .map(|p| Encoder::new(&mut ps, p, &mut rng));
        // What the actor and the critics read: the observation, or a pixel feature.
        let o = cfg.pixels.as_ref().map_or(cfg.obs_dim, |p| p.feature);
        let relu = Unary::Relu;
        let actor = Mlp::new(&mut ps, "actor", &[o, h, h, 2 * a], relu, &mut rng);
        let q = [
            Mlp::new(&mut ps, "q1", &[o + a, h, h, 1], relu, &mut rng),
            Mlp::new(&mut ps, "q2", &[o + a, h, h, 1], relu, &mut rng),
        ];
        let log_alpha = ps.init(
            LOG_ALPHA.to_string(),
            [1],
            Init::Const(cfg.init_alpha.ln()),
            &mut rng,
        );
        let spr = cfg
            .spr
            .as_ref()
            .map(|s| SprNets::new(&mut ps, s, o, a, &mut rng));
        orthogonal_weights(&mut ps, &mut rng);
        Ok(SacNets {
            cfg,
            params: ps,
            encoder,
            spr,
            actor,
            q,
            log_alpha,
        })
    }

    pub fn params(&self) -> &ParamStore {
        &self.params
    }
    pub fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }
    /// Whether a parameter is the actor's or the temperature's (the actor update trains them)
    /// rather than a critic's.
    pub fn is_actor(&self, id: ParamId) -> bool {
        let name = self.params.name(id);
        name.starts_with(ACTOR) || name == LOG_ALPHA
    }
    pub fn log_alpha(&self) -> ParamId {
        self.log_alpha
    }
    /// The SPR model, when the agent has one.
    pub fn spr(&self) -> Option<&SprNets> {
        self.spr.as_ref()
    }

    /// The convolutions' output [B, conv_dim] for observations [B, obs] (pixels 0–255); the
    /// observations themselves when learning from states.
    pub fn conv<B: Engine<E = f32>>(&self, t: &mut Tape<B>, obs: Var) -> Result<Var> {
        let Some(e) = &self.encoder else {
            return Ok(obs);
        };
        let p = &e.cfg;
        let b = t.dims(obs)[0];
        let mut h = t.reshape(obs, &[b, p.channels(), p.side, p.side])?;
        for (i, &(w, bias)) in e.convs.iter().enumerate() {
            let (mut w, bias) = (t.param(w), t.param(bias));
            // Pixels / 255 through the first layer's weights: conv(x/255, w) = conv(x, w/255)
            // scales 2.6k weights instead of the batch's 8M pixels.
            if i == 0 {
                w = t.scale(w, 1.0 / 255.0);
            }
            let stride = if i == 0 { 2 } else { 1 };
            let y = t.conv2d(h, w, Some(bias), stride, 0)?;
            h = t.relu(y);
        }
        t.reshape(h, &[b, p.conv_dim()])
    }

    /// The critic's or the actor's feature from [`SacNets::conv`]'s output: tanh(LN(h·w + b))
    /// [B, feature]; `h` itself when learning from states.
    pub fn head<B: Engine<E = f32>>(&self, t: &mut Tape<B>, h: Var, which: Head) -> Result<Var> {
        let Some(e) = &self.encoder else {
            return Ok(h);
        };
        let (fc, ln) = match which {
            Head::Critic => &e.critic,
            Head::Actor => &e.actor,
        };
        let y = fc.forward(t, h)?;
        let y = ln.forward(t, y)?;
        Ok(t.tanh(y))
    }

    /// The critic's (or actor's) feature of observations [B, obs]: `head(conv(obs))`.
    pub fn features<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        obs: Var,
        which: Head,
    ) -> Result<Var> {
        let h = self.conv(t, obs)?;
        self.head(t, h, which)
    }

    /// π's mean μ and log σ [B, A] from the actor's features [B, feature] ([`SacNets::head`]);
    /// log σ is squashed into the configured bounds: lo + ½(hi − lo)(tanh(raw) + 1).
    pub fn actor<B: Engine<E = f32>>(&self, t: &mut Tape<B>, feat: Var) -> Result<(Var, Var)> {
        let a = self.cfg.act_dim;
        let out = self.actor.forward(t, feat)?;
        let parts = t.split(out, 1, &[a, a])?;
        let (lo, hi) = (self.cfg.log_std_min, self.cfg.log_std_max);
        let raw = t.tanh(parts[1]);
        let half = t.scale(raw, (0.5 * (hi - lo)) as f32);
        let offset = t.constant([a], &vec![(lo + 0.5 * (hi - lo)) as f32; a])?;
        Ok((parts[0], t.add(half, offset)?))
    }

    /// a = tanh(μ + σ ε) with the caller's standard-normal `eps` [B, A], and
    /// log π(a|s) = Σ_j [−½ε² − log σ − ½ log 2π − log(1 − tanh² u)], the Jacobian term in its
    /// stable form log(1 − tanh² u) = 2(log 2 − u − softplus(−2u)).
    pub fn sample<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        mu: Var,
        log_std: Var,
        eps: &[f32],
    ) -> Result<Sampled> {
        let (b, a) = (t.dims(mu)[0], self.cfg.act_dim);
        let e = t.constant([b, a], eps)?;
        let std = t.exp(log_std);
        let noise = t.mul(std, e)?;
        let u = t.add(mu, noise)?;
        let action = t.tanh(u);
        // Per element: −log σ + 2u + 2 softplus(−2u); the constants per row on the host.
        let m2u = t.scale(u, -2.0);
        let sp = t.softplus(m2u);
        let sp2 = t.scale(sp, 2.0);
        let u2 = t.scale(u, 2.0);
        let neg_ls = t.scale(log_std, -1.0);
        let x = t.add(neg_ls, u2)?;
        let x = t.add(x, sp2)?;
        let ones = t.constant([a, 1], &vec![1.0; a])?;
        let rows = t.matmul(x, ones, None)?;
        let consts: Vec<f32> = eps
            .chunks_exact(a)
            .map(|e| {
                let sq: f64 = e.iter().map(|&v| 0.5 * (v as f64).powi(2)).sum();
                (-sq - a as f64 * (HALF_LOG_2PI + 2.0 * std::f64::consts::LN_2)) as f32
            })
            .collect();
        let c = t.constant([b, 1], &consts)?;
        let log_prob = t.add(rows, c)?;
        Ok(Sampled { action, log_prob })
    }

    /// (Q1, Q2)(s, a) [B, 1] each from the critic's features of s; `frozen`: the critic weights
    /// enter as constants, so the actor's update differentiates through Q without training it.
    pub fn q<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        obs: Var,
        action: Var,
        frozen: bool,
    ) -> Result<(Var, Var)> {
        let x = t.concat(&[obs, action], 1)?;
        let mut out = [x, x];
        for (o, net) in out.iter_mut().zip(&self.q) {
            let mut h = x;
            for (i, l) in net.layers.iter().enumerate() {
                let (mut w, mut b) = (t.param(l.w), l.b.map(|b| t.param(b)));
                if frozen {
                    w = t.detach(w);
                    b = b.map(|b| t.detach(b));
                }
                let act = (i + 1 < net.layers.len()).then_some(net.act);
                h = t.linear(h, w, b, act)?;
            }
            *o = h;
        }
        Ok((out[0], out[1]))
    }

    /// α = exp(log α) [1].
    pub fn alpha<B: Engine<E = f32>>(&self, t: &mut Tape<B>) -> Var {
        let la = t.param(self.log_alpha);
        t.exp(la)
    }
}

impl Encoder {
    fn new(ps: &mut ParamStore, p: &PixelConfig, rng: &mut Rng) -> Self {
        let mut convs = Vec::with_capacity(p.layers);
        let mut c = p.channels();
        for i in 0..p.layers {
            let name = format!("encoder.conv{i}");
            let w = ps.add(format!("{name}.w"), delta_orthogonal(p.filters, c, rng));
            let b = ps.init(format!("{name}.b"), [p.filters], Init::Zeros, rng);
            convs.push((w, b));
            c = p.filters;
        }
        let mut head = |name: &str| {
            let fc = Linear::new(
                ps,
                &format!("{name}.fc"),
                p.conv_dim(),
                p.feature,
                true,
                rng,
            );
            (
                fc,
                LayerNorm::new(ps, &format!("{name}.ln"), p.feature, rng),
            )
        };
        Encoder {
            cfg: p.clone(),
            critic: head("critic"),
            actor: head("actor"),
            convs,
        }
    }
}

/// DrQ's convolution init: zero except the centre tap, an orthogonal [O, C] matrix with ReLU's
/// gain √2.
fn delta_orthogonal(o: usize, c: usize, rng: &mut Rng) -> Tensor<f32> {
    let centre: Tensor<f32> = Init::Orthogonal {
        gain: std::f64::consts::SQRT_2,
    }
    .make([o, c], rng);
    let mut data = vec![0f32; o * c * 9];
    for (i, &v) in centre.data.iter().enumerate() {
        data[i * 9 + 4] = v;
    }
    Tensor {
        shape: [o, c, 3, 3].into(),
        data,
    }
}
