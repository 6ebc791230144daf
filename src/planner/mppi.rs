//! TD-MPC's planner (`TDMPC.plan`), a CEM/MPPI hybrid: per iteration, sample Gaussian action
//! sequences around the mean (clamped to [−1, 1]), add the policy's sequences, score all of them in
//! one batched call, keep the top-k elites, weight them by exp(temperature·(v − v_max)), refit the
//! mean (with momentum) and the std (clamped to [min_std, max_std]). The action is the first step
//! of one elite drawn by weight, plus `std[0]`·N(0, 1) noise when exploring. The final mean is kept
//! and, shifted by one step, starts the next plan.
//!
//! Every buffer is sized for the largest horizon at construction and reused, so a plan allocates
//! nothing (when the world model and policy do not).
use super::config::PlannerConfig;
use super::{Policy, WorldModel};
use crate::util::rng::Rng;
use crate::{Error, Result};

/// Where a plan call sits in the agent's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanStep {
    /// Agent steps so far (drives the horizon and min-std schedules).
    pub step: u64,
    /// The first step of an episode: no warm start from the previous plan (TD-MPC's `t0`).
    pub episode_start: bool,
    /// Add `std[0]`·N(0, 1) exploration noise to the action (training); off for evaluation.
    pub explore: bool,
}

pub struct Planner {
    cfg: PlannerConfig,
    act_dim: usize,
    rng: Rng,
    /// [H, A] each; only the first h·A values are in use for a plan of horizon h.
    mean: Vec<f32>,
    std: Vec<f32>,
    prev_mean: Vec<f32>,
    /// The horizon of the kept mean (0: none kept).
    prev_h: usize,
    /// Candidates [N, h, A] for the current h, N = samples + policy sequences.
    actions: Vec<f32>,
    returns: Vec<f32>,
    order: Vec<usize>,
    /// Normalised elite weights, in `order[..elites]` order.
    score: Vec<f32>,
    action: Vec<f32>,
}

/// Added to the weight sum as TD-MPC does (`score.sum(0) + 1e-9`).
const SCORE_EPS: f64 = 1e-9;

impl Planner {
    pub fn new(cfg: PlannerConfig, act_dim: usize) -> Result<Self> {
        cfg.validate()?;
        if act_dim == 0 {
            return Err(Error::Invalid("planner: action dimension 0".into()));
        }
        let (h, n) = (cfg.horizon, cfg.samples + cfg.policy_trajectories);
        Ok(Planner {
            rng: Rng::new(cfg.seed),
            act_dim,
            mean: vec![0.0; h * act_dim],
            std: vec![0.0; h * act_dim],
            prev_mean: vec![0.0; h * act_dim],
            prev_h: 0,
            actions: vec![0.0; n * h * act_dim],
            returns: vec![0.0; n],
            order: (0..n).collect(),
            score: vec![0.0; cfg.elites],
            action: vec![0.0; act_dim],
            cfg,
        })
    }

    pub fn config(&self) -> &PlannerConfig {
        &self.cfg
    }

    /// The mean action sequence [h, A] of the last plan (what the next plan warm-starts from).
    pub fn mean(&self) -> &[f32] {
        &self.prev_mean[..self.prev_h * self.act_dim]
    }

    /// The state of the planner's random stream (for checkpoints).
    pub fn rng_state(&self) -> [u64; 4] {
        self.rng.state()
    }

    /// Continues from a saved [`Planner::rng_state`].
    pub fn set_rng_state(&mut self, s: [u64; 4]) {
        self.rng = Rng::from_state(s);
    }

    /// Forgets the kept mean (the next plan starts from zero).
    pub fn reset(&mut self) {
        self.prev_h = 0;
    }

    /// The addresses of the planner's buffers: equal before and after a warm plan when nothing
    /// was reallocated (for tests of the allocation-free claim).
    pub fn buffer_addresses(&self) -> [usize; 9] {
        [
            self.mean.as_ptr() as usize,
            self.std.as_ptr() as usize,
            self.prev_mean.as_ptr() as usize,
            self.actions.as_ptr() as usize,
            self.returns.as_ptr() as usize,
            self.order.as_ptr() as usize,
            self.score.as_ptr() as usize,
            self.action.as_ptr() as usize,
            self.actions.capacity(),
        ]
    }

    /// Plans from `state` and returns the action to take (A values). `policy`, when given, adds
    /// `policy_trajectories` sequences of its own to every iteration's candidates.
    pub fn plan<M: WorldModel + ?Sized>(
        &mut self,
        model: &mut M,
        policy: Option<&mut dyn Policy>,
        state: &[f32],
        at: PlanStep,
    ) -> Result<&[f32]> {
        let a_dim = self.act_dim;
        if model.action_dim() != a_dim {
            return Err(Error::Shape(format!(
                "planner: built for {a_dim} action dimensions, the world model has {}",
                model.action_dim()
            )));
        }
        if state.len() != model.state_dim() {
            return Err(Error::Shape(format!(
                "planner: state has {} values, the world model takes {}",
                state.len(),
                model.state_dim()
            )));
        }
        let h = self.cfg.horizon_at(at.step);
        let min_std = self.cfg.min_std_at(at.step);
        let (max_std, samples) = (self.cfg.max_std, self.cfg.samples);
        let n_pi = if policy.is_some() {
            self.cfg.policy_trajectories
        } else {
            0
        };
        let n = samples + n_pi;
        let row = h * a_dim;
        let actions = &mut self.actions[..n * row];
        if let Some(p) = policy {
            let pi = &mut actions[samples * row..];
            p.propose(state, n_pi, h, min_std, pi)?;
            if let Some(i) = pi.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite(format!(
                    "planner: the policy's action value {i} is {}",
                    pi[i]
                )));
            }
        }

        // Warm start: mean[:-1] = prev_mean[1:] (as far as the previous horizon reaches).
        let mean = &mut self.mean[..row];
        mean.fill(0.0);
        if !at.episode_start && self.prev_h > 1 {
            let keep = (h - 1).min(self.prev_h - 1) * a_dim;
            mean[..keep].copy_from_slice(&self.prev_mean[a_dim..a_dim + keep]);
        }
        let std = &mut self.std[..row];
        std.fill(max_std);

        let k = self.cfg.elites;
        let (temp, mom) = (self.cfg.temperature, self.cfg.momentum);
        for _ in 0..self.cfg.iterations {
            for c in actions[..samples * row].chunks_exact_mut(row) {
                for (j, x) in c.iter_mut().enumerate() {
                    *x = (mean[j] + std[j] * self.rng.normal() as f32).clamp(-1.0, 1.0);
                }
            }
            let returns = &mut self.returns[..n];
            model.score(state, actions, n, h, returns)?;
            // TD-MPC's nan_to_num: NaN → 0, ±∞ → ±f32::MAX.
            for v in returns.iter_mut() {
                *v = if v.is_nan() {
                    0.0
                } else {
                    v.clamp(f32::MIN, f32::MAX)
                };
            }
            // Top-k by value, ties to the lower index, so the elite set is a function of the values.
            let order = &mut self.order[..n];
            order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
            let by_value =
                |a: &usize, b: &usize| returns[*b].total_cmp(&returns[*a]).then(a.cmp(b));
            if k < n {
                order.select_nth_unstable_by(k - 1, by_value);
            }
            let elites = &mut order[..k];
            elites.sort_unstable();
            let vmax = elites.iter().map(|&e| returns[e]).fold(f32::MIN, f32::max);
            let mut sum = 0.0f64;
            for (s, &e) in self.score.iter_mut().zip(elites.iter()) {
                *s = (temp * (returns[e] - vmax)).exp();
                sum += *s as f64;
            }
            self.score
                .iter_mut()
                .for_each(|s| *s = (*s as f64 / sum) as f32);
            let norm = self.score.iter().map(|&s| s as f64).sum::<f64>() + SCORE_EPS;
            for j in 0..row {
                let mut m = 0.0f64;
                for (&s, &e) in self.score.iter().zip(elites.iter()) {
                    m += s as f64 * actions[e * row + j] as f64;
                }
                m /= norm;
                let mut v = 0.0f64;
                for (&s, &e) in self.score.iter().zip(elites.iter()) {
                    let d = actions[e * row + j] as f64 - m;
                    v += s as f64 * d * d;
                }
                std[j] = ((v / norm).sqrt() as f32).clamp(min_std, max_std);
                mean[j] = mom * mean[j] + (1.0 - mom) * m as f32;
            }
        }

        // One elite, drawn by weight; its first action.
        let u = self.rng.uniform();
        let mut acc = 0.0f64;
        let mut pick = k - 1;
        for (i, &s) in self.score.iter().enumerate() {
            acc += s as f64;
            if u < acc {
                pick = i;
                break;
            }
        }
        let e = self.order[pick];
        for j in 0..a_dim {
            let mut a = actions[e * row + j];
            if at.explore {
                a += std[j] * self.rng.normal() as f32;
            }
            // Environments take actions in [−1, 1]; TD-MPC leaves the noisy action to them.
            self.action[j] = a.clamp(-1.0, 1.0);
        }
        self.prev_mean[..row].copy_from_slice(mean);
        self.prev_h = h;
        Ok(&self.action)
    }
}
