//! A SAC agent on one backend (`pytorch_sac` `agent/sac.py`): the online networks and the target
//! critics, Adam moments, and the update: the critics' soft Bellman regression, then (every
//! `actor_every` updates) the actor and the temperature, then (every `target_every`) the Polyak
//! step of the target critics.
//!
//! A transition that ended its episode in a terminal state (a fallen Hopper) does not bootstrap;
//! one cut by the time limit does.
//!
//! From pixels (DrQ with one augmentation per observation, i.e. RAD's random shift): both
//! observations of every sampled transition are shifted at random; the critics' loss trains the
//! convolutions, the actor's reads them with the gradient stopped, and the target critics have
//! their own Polyak copy of the encoder.
use super::networks::{Head, SacNets};
use crate::autodiff::{Gradients, ParamId, Tape, Var};
use crate::backend::Pool;
use crate::ops::Engine;
use crate::optim::OptimKernel;
use crate::rl::augment::{random_shift, Frames};
use crate::rl::{check_observation, AgentState, Learned, ReplayBatch};
use crate::util::rng::Rng;
use crate::{Error, Result};

/// What one update reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SacStats {
    /// MSE(Q1, y) + MSE(Q2, y).
    pub critic_loss: f64,
    /// mean(α log π − min Q) at the last actor update.
    pub actor_loss: f64,
    /// α after the update.
    pub alpha: f64,
    /// −mean log π of the actor's samples (the policy's entropy estimate).
    pub entropy: f64,
    /// The critics' gradient norm.
    pub grad_norm: f64,
}

pub struct SacAgent<B: Engine<E = f32> + OptimKernel> {
    nets: SacNets,
    be: B,
    /// Online and target parameters and Adam's moments; of the target copy only the critics'
    /// parameters are read (TD targets).
    learned: Learned<B>,
    critic_steps: u64,
    actor_steps: u64,
    updates: u64,
    pool: Pool<B>,
    target_pool: Pool<B>,
    critic_ids: Vec<ParamId>,
    actor_ids: Vec<ParamId>,
    /// Noise of the updates' samples, and of exploration.
    rng: Rng,
    act_rng: Rng,
    /// The random shifts of pixel batches.
    aug_rng: Rng,
    last: SacStats,
}

/// The batch's (s, a, r, s') as [B, obs], [B, act], [B, 1], [B, obs] (windows of one step).
struct Transitions {
    b: usize,
    obs: Vec<f32>,
    next: Vec<f32>,
}

fn normals(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

impl<B: Engine<E = f32> + OptimKernel> SacAgent<B> {
    pub fn new(nets: SacNets, backend: B, seed: u64) -> Result<Self> {
        let be = backend;
        let ps = nets.params();
        let (actor_ids, critic_ids) = ps.ids().partition(|&id| nets.is_actor(id));
        let mut root = Rng::new(seed);
        Ok(SacAgent {
            learned: Learned::new(&be, ps)?,
            critic_steps: 0,
            actor_steps: 0,
            updates: 0,
            pool: Pool::default(),
            target_pool: Pool::default(),
            critic_ids,
            actor_ids,
            rng: root.fork(),
            act_rng: root.fork(),
            aug_rng: root.fork(),
            last: SacStats::default(),
            nets,
            be,
        })
    }

    pub fn nets(&self) -> &SacNets {
        &self.nets
    }
    pub fn device(&self) -> &'static str {
        self.be.name()
    }
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// An action for one observation: tanh(μ) when evaluating, a sample of π when exploring.
    pub fn act(&mut self, obs: &[f32], explore: bool) -> Result<Vec<f32>> {
        check_observation(obs, self.nets.cfg.obs_dim, "sac")?;
        let pool = std::mem::take(&mut self.pool);
        let mut t = Tape::on(
            self.be.clone(),
            self.nets.params(),
            &self.learned.online,
            pool,
            false,
        )?;
        let nets = &self.nets;
        let run = |t: &mut Tape<B>| -> Result<(Vec<f32>, Vec<f32>)> {
            let o = t.constant([1, obs.len()], obs)?;
            let f = nets.features(t, o, Head::Actor)?;
            let (mu, log_std) = nets.actor(t, f)?;
            Ok((t.fetch(mu)?, t.fetch(log_std)?))
        };
        let out = run(&mut t);
        self.pool = t.into_pool();
        let (mu, log_std) = out?;
        Ok(mu
            .iter()
            .zip(&log_std)
            .map(|(&m, &ls)| {
                let u = if explore {
                    m + ls.exp() * self.act_rng.normal() as f32
                } else {
                    m
                };
                u.tanh()
            })
            .collect())
    }

    fn transitions(&mut self, batch: &ReplayBatch) -> Result<Transitions> {
        let (od, ad) = (self.nets.cfg.obs_dim, self.nets.cfg.act_dim);
        let b = batch.rewards.len();
        let flags_ok = batch.terminal.is_empty() || batch.terminal.len() == b;
        if b == 0 || batch.obs.len() != b * 2 * od || batch.actions.len() != b * ad || !flags_ok {
            return Err(Error::Shape(format!(
                "sac: a batch of one-step windows needs obs [B, 2, {od}], actions [B, 1, {ad}], \
                 rewards [B, 1] and terminal flags [B, 1] (or none); got {} obs, {} action, {} \
                 reward and {} terminal values",
                batch.obs.len(),
                batch.actions.len(),
                b,
                batch.terminal.len()
            )));
        }
        let (mut obs, mut next) = (Vec::with_capacity(b * od), Vec::with_capacity(b * od));
        for w in batch.obs.chunks_exact(2 * od) {
            obs.extend_from_slice(&w[..od]);
            next.extend_from_slice(&w[od..]);
        }
        if let Some(p) = self.nets.cfg.pixels.as_ref().filter(|p| p.shift > 0) {
            let f = Frames::new(b, p.channels(), p.side, p.side);
            let mut shifted = vec![0f32; obs.len()];
            for x in [&mut obs, &mut next] {
                random_shift(x, &mut shifted, f, p.shift, &mut self.aug_rng)?;
                std::mem::swap(x, &mut shifted);
            }
        }
        Ok(Transitions { b, obs, next })
    }

    /// y = r + γ (1 − terminal) (min Q̄(s', a') − α log π(a'|s')), a' ~ π(s'); and α.
    fn td_targets(&mut self, batch: &ReplayBatch, tr: &Transitions) -> Result<(Vec<f32>, f32)> {
        let c = &self.nets.cfg;
        let (b, od, ad) = (tr.b, c.obs_dim, c.act_dim);
        let eps = normals(&mut self.rng, b * ad);
        let nets = &self.nets;
        let pool = std::mem::take(&mut self.pool);
        let mut on = Tape::on(
            self.be.clone(),
            nets.params(),
            &self.learned.online,
            pool,
            false,
        )?;
        let tpool = std::mem::take(&mut self.target_pool);
        let mut tg = Tape::on(
            self.be.clone(),
            nets.params(),
            &self.learned.target,
            tpool,
            false,
        )?;
        let run = |on: &mut Tape<B>, tg: &mut Tape<B>| -> Result<(Vec<f32>, f32)> {
            let s1 = on.constant([b, od], &tr.next)?;
            let f1 = nets.features(on, s1, Head::Actor)?;
            let (mu, log_std) = nets.actor(on, f1)?;
            let smp = nets.sample(on, mu, log_std, &eps)?;
            let (a1, logp) = (on.fetch(smp.action)?, on.fetch(smp.log_prob)?);
            let al = nets.alpha(on);
            let alpha = on.fetch_item(al)?;
            let s1t = tg.constant([b, od], &tr.next)?;
            let a1t = tg.constant([b, ad], &a1)?;
            let f1t = nets.features(tg, s1t, Head::Critic)?;
            let (q1, q2) = nets.q(tg, f1t, a1t, false)?;
            let (q1, q2) = (tg.fetch(q1)?, tg.fetch(q2)?);
            let gamma = c.gamma as f32;
            let y = (0..b)
                .map(|i| {
                    let live = 1.0 - batch.terminal.get(i).copied().unwrap_or(0.0);
                    batch.rewards[i] + gamma * live * (q1[i].min(q2[i]) - alpha * logp[i])
                })
                .collect();
            Ok((y, alpha))
        };
        let out = run(&mut on, &mut tg);
        self.pool = on.into_pool();
        self.target_pool = tg.into_pool();
        out
    }

    /// One SAC update from a batch of one-step windows (`ReplayBuffer` with horizon 1).
    pub fn update(&mut self, batch: &ReplayBatch) -> Result<SacStats> {
        let tr = self.transitions(batch)?;
        let (y, alpha) = self.td_targets(batch, &tr)?;
        let c = self.nets.cfg.clone();
        let (b, od, ad) = (tr.b, c.obs_dim, c.act_dim);

        // Critics: MSE(Q1, y) + MSE(Q2, y).
        let updates = self.updates;
        let (critic_loss, grad_norm) = self.train_step(false, |nets, t| {
            let s = t.constant([b, od], &tr.obs)?;
            let a = t.constant([b, ad], &batch.actions)?;
            let yv = t.constant([b, 1], &y)?;
            let f = nets.features(t, s, Head::Critic)?;
            let (q1, q2) = nets.q(t, f, a, false)?;
            let (l1, l2) = (t.mse(q1, yv)?, t.mse(q2, yv)?);
            let l = t.add(l1, l2)?;
            let v = t.fetch_item(l)? as f64;
            check_finite("critic loss", v, updates)?;
            Ok((l, v))
        })?;

        let mut stats = SacStats {
            critic_loss,
            grad_norm,
            alpha: alpha as f64,
            ..self.last
        };
        if self.updates.is_multiple_of(c.actor_every) {
            let (actor_loss, entropy, new_alpha) = self.update_actor(&tr, alpha)?;
            stats.actor_loss = actor_loss;
            stats.entropy = entropy;
            stats.alpha = new_alpha;
        }
        self.updates += 1;
        if self.updates.is_multiple_of(c.target_every) {
            self.learned.ema(&self.be, c.tau)?;
        }
        self.last = stats;
        Ok(stats)
    }

    /// The actor: mean(α log π(a|s) − min Q(s, a)), a ~ π(s), the critics frozen; the
    /// temperature: mean(α (−log π − H̄)) with log π held constant. One tape, one Adam step on the
    /// actor's and log α's parameters. Returns (actor loss, entropy, α after the step).
    fn update_actor(&mut self, tr: &Transitions, alpha: f32) -> Result<(f64, f64, f64)> {
        let c = self.nets.cfg.clone();
        let (b, od, ad) = (tr.b, c.obs_dim, c.act_dim);
        let eps = normals(&mut self.rng, b * ad);
        let updates = self.updates;
        let ((loss, entropy), _) = self.train_step(true, |nets, t| {
            let s = t.constant([b, od], &tr.obs)?;
            // The convolutions with the gradient stopped; the critics' feature is a constant.
            let h = nets.conv(t, s)?;
            let h = t.detach(h);
            let fa = nets.head(t, h, Head::Actor)?;
            let fc = nets.head(t, h, Head::Critic)?;
            let fc = t.detach(fc);
            let (mu, log_std) = nets.actor(t, fa)?;
            let smp = nets.sample(t, mu, log_std, &eps)?;
            let (q1, q2) = nets.q(t, fc, smp.action, true)?;
            let (q1v, q2v, logp) = (t.fetch(q1)?, t.fetch(q2)?, t.fetch(smp.log_prob)?);
            // min(Q1, Q2) through masks chosen on the host: −1/B on the smaller critic's row.
            let (mut w1, mut w2) = (vec![0f32; b], vec![0f32; b]);
            let mut loss = 0.0f64;
            for i in 0..b {
                let w = -1.0 / b as f32;
                if q1v[i] <= q2v[i] {
                    w1[i] = w;
                } else {
                    w2[i] = w;
                }
                loss += (alpha * logp[i] - q1v[i].min(q2v[i])) as f64 / b as f64;
            }
            let (wa, wb) = (t.constant([b, 1], &w1)?, t.constant([b, 1], &w2)?);
            let (x1, x2) = (t.mul(q1, wa)?, t.mul(q2, wb)?);
            let (s1, s2) = (t.sum(x1), t.sum(x2));
            let lp = t.scale(smp.log_prob, alpha / b as f32);
            let lp = t.sum(lp);
            let actor = t.add(s1, s2)?;
            let actor = t.add(actor, lp)?;
            // Temperature: d/d log α of α·k is α·k, k = mean(−log π) − H̄.
            let entropy = -logp.iter().map(|&v| v as f64).sum::<f64>() / b as f64;
            let k = (entropy - c.target_entropy()) as f32;
            let al = nets.alpha(t);
            let al = t.scale(al, k);
            let al = t.sum(al);
            check_finite("actor loss", loss, updates)?;
            Ok((t.add(actor, al)?, (loss, entropy)))
        })?;
        let mut la = [0f32];
        self.be
            .download(self.learned.online.get(self.nets.log_alpha()), &mut la)?;
        Ok((loss, entropy, (la[0] as f64).exp()))
    }

    /// One gradient step: `build` makes a loss on a recording tape (and a value to return), then
    /// backward and an Adam step on the actor's (with log α) or the critics' parameters. Returns
    /// the value and the gradient norm.
    fn train_step<T>(
        &mut self,
        actor: bool,
        build: impl FnOnce(&SacNets, &mut Tape<B>) -> Result<(Var, T)>,
    ) -> Result<(T, f64)> {
        let pool = std::mem::take(&mut self.pool);
        let mut t = Tape::on(
            self.be.clone(),
            self.nets.params(),
            &self.learned.online,
            pool,
            true,
        )?;
        let (loss, value) = match build(&self.nets, &mut t) {
            Ok(x) => x,
            Err(e) => {
                self.pool = t.into_pool();
                return Err(e);
            }
        };
        let grads = t.backward(loss);
        self.pool = t.into_pool();
        let mut grads = grads?;
        let step = if actor {
            self.actor_steps += 1;
            self.actor_steps
        } else {
            self.critic_steps += 1;
            self.critic_steps
        };
        let norm = self.apply(&mut grads, actor, step)?;
        grads.into_buffers().for_each(|g| self.pool.give(g));
        Ok((value, norm))
    }

    /// An Adam step on the actor's (with log α) or the critics' parameters; returns their gradient
    /// norm (SAC does not clip).
    fn apply(&mut self, grads: &mut Gradients<B>, actor: bool, step: u64) -> Result<f64> {
        let ids = if actor {
            &self.actor_ids
        } else {
            &self.critic_ids
        };
        let what = format!("sac update {}", self.updates + 1);
        let lr = self.nets.cfg.lr;
        self.learned
            .adam_step(&self.be, grads, ids, f64::INFINITY, lr, step, &what)
    }

    /// Everything learned, copied to the host.
    pub fn state(&self) -> Result<AgentState> {
        let (online, target, moments) = self.learned.download(&self.be, self.nets.params())?;
        Ok(AgentState {
            online,
            target,
            moments,
            model_steps: self.critic_steps,
            policy_steps: self.actor_steps,
            updates: self.updates,
            rngs: [
                self.rng.state(),
                self.act_rng.state(),
                self.aug_rng.state(),
                [0; 4],
            ],
        })
    }

    /// Restores a state from [`SacAgent::state`] (shapes checked against these networks).
    pub fn restore(&mut self, s: &AgentState) -> Result<()> {
        self.learned
            .upload(&self.be, self.nets.params(), s, "sac")?;
        *self.nets.params_mut() = s.online.clone();
        self.critic_steps = s.model_steps;
        self.actor_steps = s.policy_steps;
        self.updates = s.updates;
        self.rng = Rng::from_state(s.rngs[0]);
        self.act_rng = Rng::from_state(s.rngs[1]);
        if self.nets.cfg.pixels.is_some() {
            self.aug_rng = Rng::from_state(s.rngs[2]);
        }
        Ok(())
    }
}

fn check_finite(what: &str, v: f64, updates: u64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite(format!(
            "sac update {}: the {what} is {v}",
            updates + 1
        )))
    }
}
