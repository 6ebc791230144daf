//! TD-MPC's losses (`TDMPC.update`, `TDMPC.update_pi`, `TDMPC._td_target`), batched over the
//! horizon: every head runs once on [B, H, ·] instead of once per step.
//!
//! Per sample b, with ρ^t weights over t = 0..H−1:
//! - consistency_b = Σ ρ^t · mean_d (d(z_t, a_t) − h_target(o_{t+1}))²;
//! - reward_b = Σ ρ^t (R(z_t, a_t) − r_t)²;
//! - value_b = Σ ρ^t ((Q1(z_t, a_t) − y_t)² + (Q2 − y_t)²), y_t = r_t + γ·min Q_target(z′, π(z′)),
//!   z′ = h(o_{t+1});
//! - loss = mean_b w_b (2·min(consistency_b, C) + 0.5·min(reward_b, C) + 0.1·min(value_b, C)),
//!   its gradient scaled by 1/H; priority_b = min(Σ ρ^t (|Q1 − y| + |Q2 − y|), C).
//!
//! Clamps, minima and noise need the forward values, which the eager tape has: they are read back,
//! and the graph is finished with constant weights (a clamped sample gets weight 0, as its gradient
//! is 0), so no op beyond add, mul and sum is needed.
use super::noise;
use super::told::Told;
use crate::autodiff::{Tape, Var};
use crate::ops::Engine;
use crate::rl::ReplayBatch;
use crate::util::rng::Rng;
use crate::{Error, Result};

/// The batch's sizes.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub b: usize,
    pub h: usize,
    pub obs: usize,
    pub act: usize,
    pub latent: usize,
}

impl Dims {
    pub fn of(told: &Told, batch: &ReplayBatch) -> Result<Dims> {
        let c = &told.cfg;
        let b = batch.weights.len();
        let d = Dims {
            b,
            h: c.horizon,
            obs: c.obs_dim,
            act: c.act_dim,
            latent: c.latent_dim(),
        };
        let ok = b > 0
            && batch.obs.len() == b * (d.h + 1) * d.obs
            && batch.actions.len() == b * d.h * d.act
            && batch.rewards.len() == b * d.h
            && batch.indices.len() == b;
        if ok {
            for (name, v) in [
                ("observation", &batch.obs),
                ("action", &batch.actions),
                ("reward", &batch.rewards),
                ("weight", &batch.weights),
            ] {
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::NonFinite(format!(
                        "agent update: {name} value {i} of the batch is {}",
                        v[i]
                    )));
                }
            }
        }
        if !ok {
            return Err(Error::Shape(format!(
                "agent update: a batch of {b} windows needs obs {}, actions {}, rewards {} values \
                 (horizon {}); got {}, {}, {}",
                b * (d.h + 1) * d.obs,
                b * d.h * d.act,
                b * d.h,
                d.h,
                batch.obs.len(),
                batch.actions.len(),
                batch.rewards.len()
            )));
        }
        Ok(d)
    }
}

/// o_0 [B, obs] and o_1..o_H [B, H, obs] of a batch.
pub fn split_obs(batch: &ReplayBatch, d: Dims) -> (Vec<f32>, Vec<f32>) {
    let row = (d.h + 1) * d.obs;
    let mut first = Vec::with_capacity(d.b * d.obs);
    let mut next = Vec::with_capacity(d.b * d.h * d.obs);
    for w in batch.obs.chunks_exact(row) {
        first.extend_from_slice(&w[..d.obs]);
        next.extend_from_slice(&w[d.obs..]);
    }
    (first, next)
}

/// What the gradient-free part of an update produces on the host.
pub struct Targets {
    /// h_target(o_1..o_H) [B, H, latent].
    pub next_z: Vec<f32>,
    /// y [B, H].
    pub td: Vec<f32>,
}

/// The consistency targets (target encoder) and TD targets (online h and π, target Q): `online`
/// and `target` are no-grad tapes on the online and target parameters.
pub fn targets<B: Engine<E = f32>>(
    told: &Told,
    online: &mut Tape<B>,
    target: &mut Tape<B>,
    batch: &ReplayBatch,
    next_obs: &[f32],
    d: Dims,
    rng: &mut Rng,
) -> Result<Targets> {
    let (b, h, l, a) = (d.b, d.h, d.latent, d.act);
    let o = online.constant([b, h, d.obs], next_obs)?;
    let zp = told.encode(online, o)?;
    let mu = told.pi(online, zp)?;
    let zp = online.fetch(zp)?;
    let mut ap = online.fetch(mu)?;
    noise::sample_in_place(&mut ap, told.cfg.min_std as f32, rng);

    let o = target.constant([b, h, d.obs], next_obs)?;
    let next_z = told.encode(target, o)?;
    let zc = target.constant([b, h, l], &zp)?;
    let ac = target.constant([b, h, a], &ap)?;
    let za = told.join(target, zc, ac)?;
    let (q1, q2) = told.q(target, za, false)?;
    let (q1, q2) = (target.fetch(q1)?, target.fetch(q2)?);
    let gamma = told.cfg.gamma as f32;
    let td = batch
        .rewards
        .iter()
        .zip(q1.iter().zip(&q2))
        .map(|(&r, (&x, &y))| r + gamma * x.min(y))
        .collect();
    Ok(Targets {
        next_z: target.fetch(next_z)?,
        td,
    })
}

/// Per-sample loss terms (before clamping and weights), for the logs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ToldTerms {
    pub consistency: f64,
    pub reward: f64,
    pub value: f64,
    /// The weighted, clamped loss TD-MPC minimises (before the 1/H gradient scale).
    pub total: f64,
}

pub struct ToldLoss {
    /// The scalar to differentiate (already scaled by 1/H).
    pub loss: Var,
    pub terms: ToldTerms,
    pub priorities: Vec<f32>,
    /// z_0..z_H [B, H+1, latent], detached, for π's update.
    pub latents: Vec<f32>,
}

/// ρ^t for t = 0..h.
fn rho_powers(rho: f64, h: usize) -> Vec<f64> {
    (0..h).map(|t| rho.powi(t as i32)).collect()
}

/// Σ (x − target)² ⊙ w as a scalar on the tape; `neg_target` holds −target.
fn weighted_sq<B: Engine<E = f32>>(
    t: &mut Tape<B>,
    x: Var,
    neg_target: &[f32],
    w: &[f32],
) -> Result<Var> {
    let shape = t.shape(x);
    let nt = t.constant(shape, neg_target)?;
    let diff = t.add(x, nt)?;
    let sq = t.mul(diff, diff)?;
    let wv = t.constant(shape, w)?;
    let y = t.mul(sq, wv)?;
    Ok(t.sum(y))
}

/// The TOLD loss on a gradient tape of the online parameters.
pub fn told_loss<B: Engine<E = f32>>(
    told: &Told,
    t: &mut Tape<B>,
    batch: &ReplayBatch,
    first_obs: &[f32],
    tg: &Targets,
    d: Dims,
) -> Result<ToldLoss> {
    let c = &told.cfg;
    let (b, h, l, a) = (d.b, d.h, d.latent, d.act);
    let o0 = t.constant([b, d.obs], first_obs)?;
    let z0 = told.encode(t, o0)?;
    let acts = t.constant([b, h, a], &batch.actions)?;
    let zn = told.rollout(t, z0, acts)?; // z_1..z_H
    let zs = told.states_before(t, z0, zn)?;
    let za = told.join(t, zs, acts)?;
    let rhat = told.reward(t, za)?;
    let (q1, q2) = told.q(t, za, false)?;

    // Forward values for the per-sample terms.
    let z0v = t.fetch(z0)?;
    let znv = t.fetch(zn)?;
    let (rv, q1v, q2v) = (t.fetch(rhat)?, t.fetch(q1)?, t.fetch(q2)?);
    let rho = rho_powers(c.rho, h);
    let (mut cons, mut rew, mut val) = (vec![0f64; b], vec![0f64; b], vec![0f64; b]);
    let mut prio = vec![0f32; b];
    for i in 0..b {
        for (k, &rk) in rho.iter().enumerate() {
            let j = i * h + k;
            let zrow = &znv[j * l..(j + 1) * l];
            let trow = &tg.next_z[j * l..(j + 1) * l];
            let se: f64 = zrow
                .iter()
                .zip(trow)
                .map(|(&x, &y)| ((x - y) as f64).powi(2))
                .sum();
            cons[i] += rk * se / l as f64;
            rew[i] += rk * ((rv[j] - batch.rewards[j]) as f64).powi(2);
            let (e1, e2) = ((q1v[j] - tg.td[j]) as f64, (q2v[j] - tg.td[j]) as f64);
            val[i] += rk * (e1 * e1 + e2 * e2);
            prio[i] += (rk * (e1.abs() + e2.abs())) as f32;
        }
    }
    for (name, v) in [("consistency", &cons), ("reward", &rew), ("value", &val)] {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite(format!(
                "agent update: the {name} loss of sample {i} is {} (the network's outputs are \
                 not finite)",
                v[i]
            )));
        }
    }
    let clamp = c.loss_clamp;
    let mut total = 0.0;
    for i in 0..b {
        let w = batch.weights[i] as f64;
        total += w
            * (c.consistency_coef * cons[i].min(clamp)
                + c.reward_coef * rew[i].min(clamp)
                + c.value_coef * val[i].min(clamp));
        prio[i] = prio[i].min(clamp as f32);
    }
    total /= b as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / b as f64;
    let terms = ToldTerms {
        consistency: mean(&cons),
        reward: mean(&rew),
        value: mean(&val),
        total,
    };
    if !total.is_finite() {
        return Err(Error::NonFinite(format!(
            "agent update: the TOLD loss is {total} (consistency {}, reward {}, value {})",
            terms.consistency, terms.reward, terms.value
        )));
    }

    // Constant weights: coefficient · ρ^t · w_b / (B·H), zero where the sample's term is clamped.
    let scale = 1.0 / (b * h) as f64;
    let weight = |coef: f64, term: &[f64], i: usize, k: usize| -> f32 {
        if term[i] <= clamp {
            (coef * rho[k] * batch.weights[i] as f64 * scale) as f32
        } else {
            0.0
        }
    };
    let mut wc = vec![0f32; b * h * l];
    let (mut wr, mut wv) = (vec![0f32; b * h], vec![0f32; b * h]);
    for i in 0..b {
        for k in 0..h {
            let j = i * h + k;
            let x = weight(c.consistency_coef, &cons, i, k) / l as f32;
            wc[j * l..(j + 1) * l].fill(x);
            wr[j] = weight(c.reward_coef, &rew, i, k);
            wv[j] = weight(c.value_coef, &val, i, k);
        }
    }
    let neg = |v: &[f32]| v.iter().map(|x| -x).collect::<Vec<_>>();
    let lc = weighted_sq(t, zn, &neg(&tg.next_z), &wc)?;
    let lr = weighted_sq(t, rhat, &neg(&batch.rewards), &wr)?;
    let ntd = neg(&tg.td);
    let l1 = weighted_sq(t, q1, &ntd, &wv)?;
    let l2 = weighted_sq(t, q2, &ntd, &wv)?;
    let s = t.add(lc, lr)?;
    let s = t.add(s, l1)?;
    let loss = t.add(s, l2)?;

    let mut latents = Vec::with_capacity(b * (h + 1) * l);
    for i in 0..b {
        latents.extend_from_slice(&z0v[i * l..(i + 1) * l]);
        latents.extend_from_slice(&znv[i * h * l..(i + 1) * h * l]);
    }
    Ok(ToldLoss {
        loss,
        terms,
        priorities: prio,
        latents,
    })
}

/// π's loss −Σ_t ρ^t · mean_b min(Q1, Q2)(z_t, π(z_t, min_std)) over the detached latents
/// [B, n, latent] (Q frozen), and its value.
pub fn policy_loss<B: Engine<E = f32>>(
    told: &Told,
    t: &mut Tape<B>,
    latents: &[f32],
    b: usize,
    n: usize,
    rng: &mut Rng,
) -> Result<(Var, f64)> {
    let c = &told.cfg;
    let (l, a) = (c.latent_dim(), c.act_dim);
    let z = t.constant([b, n, l], latents)?;
    let mu = told.pi(t, z)?;
    let muv = t.fetch(mu)?;
    let mut off = vec![0f32; muv.len()];
    noise::straight_through(&muv, c.min_std as f32, rng, &mut off);
    let offv = t.constant([b, n, a], &off)?;
    let act = t.add(mu, offv)?;
    let za = told.join(t, z, act)?;
    let (q1, q2) = told.q(t, za, true)?;
    let (q1v, q2v) = (t.fetch(q1)?, t.fetch(q2)?);
    let rho = rho_powers(c.rho, n);
    let (mut w1, mut w2) = (vec![0f32; b * n], vec![0f32; b * n]);
    let mut value = 0.0;
    for i in 0..b {
        for (k, &rk) in rho.iter().enumerate() {
            let j = i * n + k;
            let w = -(rk / b as f64) as f32;
            if q1v[j] <= q2v[j] {
                w1[j] = w;
            } else {
                w2[j] = w;
            }
            value -= rk * q1v[j].min(q2v[j]) as f64 / b as f64;
        }
    }
    if !value.is_finite() {
        return Err(Error::NonFinite(format!(
            "agent update: the policy loss is {value}"
        )));
    }
    let (wa, wb) = (t.constant([b, n, 1], &w1)?, t.constant([b, n, 1], &w2)?);
    let x1 = t.mul(q1, wa)?;
    let x2 = t.mul(q2, wb)?;
    let (s1, s2) = (t.sum(x1), t.sum(x2));
    Ok((t.add(s1, s2)?, value))
}
