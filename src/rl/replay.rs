//! The replay buffer: whole episodes of (obs, action, reward), sampled as length-(H+1) windows
//! (H+1 observations, H actions and rewards) that never cross an episode end, uniformly or by
//! prioritized experience replay (PER: P(i) ∝ p_i^α, weights (N·P(i))^−β normalised by the batch
//! maximum, TD-MPC's α 0.6, β 0.4).
//!
//! Storage is a ring of `capacity` step slots; an episode of L transitions takes L + 1 slots (its
//! final observation has a slot of its own, with no action). When a new episode needs room, the
//! oldest episodes are dropped whole. Every slot written gets a new id (`next_id` counts them), so
//! a priority update for a window whose slot has since been overwritten is recognised and skipped.
use super::obs_store::ObsStore;
use super::sum_tree::SumTree;
use crate::data::Dataset;
use crate::util::rng::Rng;
use crate::{Error, Result};
use std::collections::VecDeque;

/// How windows are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// Every valid window start equally likely.
    Uniform,
    /// Prioritized experience replay with exponents α (priorities) and β (importance weights).
    Prioritized { alpha: f64, beta: f64 },
}

impl Sampling {
    /// TD-MPC's PER: α 0.6, β 0.4.
    pub const TDMPC_PER: Sampling = Sampling::Prioritized {
        alpha: 0.6,
        beta: 0.4,
    };
}

#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// Step slots in the ring (an episode of L transitions takes L + 1).
    pub capacity: usize,
    pub obs_dim: usize,
    pub act_dim: usize,
    /// H: a sampled window has H + 1 observations and H actions and rewards.
    pub horizon: usize,
    pub sampling: Sampling,
    pub seed: u64,
    /// Observations are pixels (integers 0–255), stored as bytes.
    pub pixels: bool,
}

impl ReplayConfig {
    /// TD-MPC's defaults where they apply: capacity 1M, horizon 5, PER (α 0.6, β 0.4), seed 0.
    pub fn new(obs_dim: usize, act_dim: usize) -> Self {
        ReplayConfig {
            capacity: 1_000_000,
            obs_dim,
            act_dim,
            horizon: 5,
            sampling: Sampling::TDMPC_PER,
            seed: 0,
            pixels: false,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("replay buffer: {m}")));
        if self.capacity < 2 {
            return bad(format!("capacity {} (need ≥ 2 step slots)", self.capacity));
        }
        if self.obs_dim == 0 || self.act_dim == 0 {
            return bad(format!(
                "obs_dim {} and act_dim {} must both be ≥ 1",
                self.obs_dim, self.act_dim
            ));
        }
        if self.horizon == 0 {
            return bad("horizon 0 (need ≥ 1)".into());
        }
        if let Sampling::Prioritized { alpha, beta } = self.sampling {
            if !(alpha.is_finite() && alpha >= 0.0 && beta.is_finite() && beta >= 0.0) {
                return bad(format!("PER α {alpha} and β {beta} must be finite and ≥ 0"));
            }
        }
        Ok(())
    }
}

/// A sampled batch, batch-major: `obs` [B, H+1, obs_dim], `actions` [B, H, act_dim], `rewards`
/// [B, H], `terminal` [B, H] (1 where the step's transition ended its episode in a terminal
/// state), importance `weights` (B values; all 1 when uniform) and the windows' `indices` (B
/// values) for `update_priorities`. Reused by `sample_into` without reallocating once sized.
#[derive(Clone, Debug, Default)]
pub struct ReplayBatch {
    pub obs: Vec<f32>,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub terminal: Vec<f32>,
    pub weights: Vec<f32>,
    pub indices: Vec<u64>,
}

/// Everything a buffer holds, for checkpoints: [`ReplayBuffer::from_snapshot`] rebuilds the same
/// buffer (same samples from the same state).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplaySnapshot {
    pub obs: ObsStore,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub slot_id: Vec<u64>,
    pub priority: Vec<f64>,
    /// Per slot: the transition stored there ended its episode in a terminal state (empty: none
    /// did, as in checkpoints written before the flag existed).
    pub terminal: Vec<bool>,
    /// (first id, transitions) per stored episode, oldest first.
    pub episodes: Vec<(u64, u64)>,
    pub next_id: u64,
    pub max_priority: f64,
    pub rng: [u64; 4],
}

#[derive(Clone, Copy, Debug)]
struct Episode {
    first_id: u64,
    /// Transitions (the episode takes `len + 1` slots).
    len: usize,
}

pub struct ReplayBuffer {
    cfg: ReplayConfig,
    obs: ObsStore,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    /// The id written in each slot, `u64::MAX` when the slot holds no live data.
    slot_id: Vec<u64>,
    /// Raw priorities of window starts (before ^α), 0 where no window starts.
    priority: Vec<f64>,
    /// The slot's transition ended its episode in a terminal state.
    terminal: Vec<bool>,
    tree: SumTree,
    episodes: VecDeque<Episode>,
    /// Window starts stored (kept as episodes come and go, so sampling need not count them).
    windows: usize,
    next_id: u64,
    max_priority: f64,
    rng: Rng,
}

/// TD-MPC adds this to every updated priority, so no window's probability becomes exactly zero.
const PRIORITY_EPS: f64 = 1e-6;

impl ReplayBuffer {
    pub fn new(cfg: ReplayConfig) -> Result<Self> {
        cfg.validate()?;
        let c = cfg.capacity;
        Ok(ReplayBuffer {
            obs: ObsStore::zeros(c * cfg.obs_dim, cfg.pixels),
            actions: vec![0.0; c * cfg.act_dim],
            rewards: vec![0.0; c],
            slot_id: vec![u64::MAX; c],
            priority: vec![0.0; c],
            terminal: vec![false; c],
            tree: SumTree::new(c),
            episodes: VecDeque::new(),
            windows: 0,
            next_id: 0,
            max_priority: 1.0,
            rng: Rng::new(cfg.seed),
            cfg,
        })
    }

    pub fn config(&self) -> &ReplayConfig {
        &self.cfg
    }

    pub fn snapshot(&self) -> ReplaySnapshot {
        ReplaySnapshot {
            obs: self.obs.clone(),
            actions: self.actions.clone(),
            rewards: self.rewards.clone(),
            slot_id: self.slot_id.clone(),
            priority: self.priority.clone(),
            terminal: self.terminal.clone(),
            episodes: self
                .episodes
                .iter()
                .map(|e| (e.first_id, e.len as u64))
                .collect(),
            next_id: self.next_id,
            max_priority: self.max_priority,
            rng: self.rng.state(),
        }
    }

    /// The buffer a [`ReplayBuffer::snapshot`] was taken of, checked against `cfg`.
    pub fn from_snapshot(cfg: ReplayConfig, s: ReplaySnapshot) -> Result<Self> {
        let mut b = ReplayBuffer::new(cfg)?;
        let c = b.cfg.capacity;
        let bad = |m: String| Err(Error::Invalid(format!("replay snapshot: {m}")));
        if s.obs.is_bytes() != b.cfg.pixels {
            return bad(format!(
                "observations stored as {}, this buffer keeps {}",
                if s.obs.is_bytes() { "bytes" } else { "f32" },
                if b.cfg.pixels {
                    "pixels (bytes)"
                } else {
                    "f32 values"
                }
            ));
        }
        if s.obs.len() != c * b.cfg.obs_dim
            || s.actions.len() != c * b.cfg.act_dim
            || s.rewards.len() != c
            || s.slot_id.len() != c
            || s.priority.len() != c
        {
            return bad(format!(
                "arrays of {}, {}, {}, {}, {} values do not fit capacity {c} (obs {}, act {})",
                s.obs.len(),
                s.actions.len(),
                s.rewards.len(),
                s.slot_id.len(),
                s.priority.len(),
                b.cfg.obs_dim,
                b.cfg.act_dim
            ));
        }
        if !(s.terminal.is_empty() || s.terminal.len() == c) {
            return bad(format!(
                "{} terminal flags do not fit capacity {c}",
                s.terminal.len()
            ));
        }
        if let Some(i) = s
            .priority
            .iter()
            .position(|p| !(p.is_finite() && *p >= 0.0))
        {
            return bad(format!("priority {i} is {}", s.priority[i]));
        }
        if !(s.max_priority.is_finite() && s.max_priority > 0.0) {
            return bad(format!("max priority {}", s.max_priority));
        }
        let mut stored = 0usize;
        for &(first, len) in &s.episodes {
            stored += len as usize + 1;
            if len == 0 || first + len + 1 > s.next_id || stored > c {
                return bad(format!(
                    "episode at id {first} of {len} transitions does not fit (next id {}, \
                     capacity {c})",
                    s.next_id
                ));
            }
        }
        for (i, &p) in s.priority.iter().enumerate() {
            let w = b.leaf_weight(p);
            b.tree.set(i, w);
        }
        b.episodes = s
            .episodes
            .iter()
            .map(|&(first_id, len)| Episode {
                first_id,
                len: len as usize,
            })
            .collect();
        b.windows = b.episodes.iter().map(|e| b.windows_in(e.len)).sum();
        b.obs = s.obs;
        b.actions = s.actions;
        b.rewards = s.rewards;
        b.slot_id = s.slot_id;
        b.priority = s.priority;
        if !s.terminal.is_empty() {
            b.terminal = s.terminal;
        }
        b.next_id = s.next_id;
        b.max_priority = s.max_priority;
        b.rng = Rng::from_state(s.rng);
        Ok(b)
    }

    /// Stored episodes.
    pub fn episodes(&self) -> usize {
        self.episodes.len()
    }

    /// Stored transitions.
    pub fn transitions(&self) -> usize {
        self.episodes.iter().map(|e| e.len).sum()
    }

    /// Window starts that can be sampled (positions t with t + H ≤ L in their episode).
    pub fn windows(&self) -> usize {
        self.windows
    }

    /// Window starts in an episode of `len` transitions.
    fn windows_in(&self, len: usize) -> usize {
        (len + 1).saturating_sub(self.cfg.horizon)
    }

    /// Adds one episode that ended by its time limit: `obs` [(L+1), obs_dim] (o_0..o_L), `actions`
    /// [L, act_dim], `rewards` (L values). Drops the oldest episodes whole to make room. New
    /// windows get the largest priority seen.
    pub fn add_episode(&mut self, obs: &[f32], actions: &[f32], rewards: &[f32]) -> Result<()> {
        self.add_episode_ending(obs, actions, rewards, false)
    }

    /// [`ReplayBuffer::add_episode`], saying whether the episode ended in a terminal state (its
    /// last transition is then marked in every batch that samples it).
    pub fn add_episode_ending(
        &mut self,
        obs: &[f32],
        actions: &[f32],
        rewards: &[f32],
        terminated: bool,
    ) -> Result<()> {
        let (ds, da, cap) = (self.cfg.obs_dim, self.cfg.act_dim, self.cfg.capacity);
        let l = rewards.len();
        if l == 0 {
            return Err(Error::Invalid(
                "replay buffer: an episode needs at least one transition".into(),
            ));
        }
        if obs.len() != (l + 1) * ds || actions.len() != l * da {
            return Err(Error::Shape(format!(
                "replay buffer: an episode of {l} rewards needs {} observation values ({}×{ds}) \
                 and {} action values ({l}×{da}); got {} and {}",
                (l + 1) * ds,
                l + 1,
                l * da,
                obs.len(),
                actions.len()
            )));
        }
        if l + 1 > cap {
            return Err(Error::Invalid(format!(
                "replay buffer: an episode of {l} transitions needs {} slots, capacity is {cap}",
                l + 1
            )));
        }
        self.obs
            .check(obs, "replay buffer: the episode's observations")?;
        for (name, v) in [("action", actions), ("reward", rewards)] {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite(format!(
                    "replay buffer: {name} value {i} of the episode is {}",
                    v[i]
                )));
            }
        }
        // Drop every episode that the new one's slots would overwrite, whole.
        let first = self.next_id;
        let end = first + (l + 1) as u64;
        while let Some(e) = self.episodes.front().copied() {
            // Live ids are ≥ end − cap after the write; an episode whose first id is older is hit.
            if e.first_id + cap as u64 >= end {
                break;
            }
            self.episodes.pop_front();
            self.windows -= self.windows_in(e.len);
            for k in 0..=e.len as u64 {
                let s = ((e.first_id + k) % cap as u64) as usize;
                self.slot_id[s] = u64::MAX;
                self.priority[s] = 0.0;
                self.terminal[s] = false;
                self.tree.set(s, 0.0);
            }
        }
        let h = self.cfg.horizon;
        let p_new = self.max_priority;
        for t in 0..=l {
            let id = first + t as u64;
            let s = (id % cap as u64) as usize;
            self.slot_id[s] = id;
            self.obs.write(s * ds, &obs[t * ds..(t + 1) * ds]);
            if t < l {
                self.actions[s * da..(s + 1) * da].copy_from_slice(&actions[t * da..(t + 1) * da]);
                self.rewards[s] = rewards[t];
            } else {
                self.actions[s * da..(s + 1) * da].fill(0.0);
                self.rewards[s] = 0.0;
            }
            self.terminal[s] = terminated && t + 1 == l;
            let p = if t + h <= l { p_new } else { 0.0 };
            self.priority[s] = p;
            self.tree.set(s, self.leaf_weight(p));
        }
        self.episodes.push_back(Episode {
            first_id: first,
            len: l,
        });
        self.windows += self.windows_in(l);
        self.next_id = end;
        Ok(())
    }

    /// The tree weight of a raw priority: p^α (PER) or 1 for any valid start (uniform).
    fn leaf_weight(&self, p: f64) -> f64 {
        match self.cfg.sampling {
            _ if p == 0.0 => 0.0,
            Sampling::Uniform => 1.0,
            Sampling::Prioritized { alpha, .. } => p.powf(alpha),
        }
    }

    /// Samples `batch` windows (with replacement), allocating the batch.
    pub fn sample(&mut self, batch: usize) -> Result<ReplayBatch> {
        let mut out = ReplayBatch::default();
        self.sample_into(batch, &mut out)?;
        Ok(out)
    }

    /// Samples `batch` windows into `out` (its vectors are resized, so reusing one `out` allocates
    /// nothing after the first call).
    pub fn sample_into(&mut self, batch: usize, out: &mut ReplayBatch) -> Result<()> {
        let (ds, da, h, cap) = (
            self.cfg.obs_dim,
            self.cfg.act_dim,
            self.cfg.horizon,
            self.cfg.capacity as u64,
        );
        if batch == 0 {
            return Err(Error::Invalid("replay buffer: batch size 0".into()));
        }
        if self.episodes.is_empty() {
            return Err(Error::Invalid(
                "replay buffer: cannot sample from an empty buffer".into(),
            ));
        }
        let total = self.tree.total();
        if total <= 0.0 {
            let longest = self.episodes.iter().map(|e| e.len).max().unwrap_or(0);
            return Err(Error::Invalid(format!(
                "replay buffer: horizon {h} is longer than every stored episode (longest has \
                 {longest} transitions)"
            )));
        }
        out.obs.resize(batch * (h + 1) * ds, 0.0);
        out.actions.resize(batch * h * da, 0.0);
        out.rewards.resize(batch * h, 0.0);
        out.terminal.resize(batch * h, 0.0);
        out.weights.resize(batch, 1.0);
        out.indices.resize(batch, 0);
        let n_valid = self.windows as f64;
        for b in 0..batch {
            let s = self.tree.find(self.rng.uniform() * total);
            let id = self.slot_id[s];
            out.indices[b] = id;
            out.weights[b] = match self.cfg.sampling {
                Sampling::Uniform => 1.0,
                Sampling::Prioritized { beta, .. } => {
                    (n_valid * self.tree.get(s) / total).powf(-beta) as f32
                }
            };
            for k in 0..=h {
                let sk = ((id + k as u64) % cap) as usize;
                let o = (b * (h + 1) + k) * ds;
                self.obs.read(sk * ds, &mut out.obs[o..o + ds]);
                if k < h {
                    let a = (b * h + k) * da;
                    out.actions[a..a + da].copy_from_slice(&self.actions[sk * da..(sk + 1) * da]);
                    out.rewards[b * h + k] = self.rewards[sk];
                    out.terminal[b * h + k] = if self.terminal[sk] { 1.0 } else { 0.0 };
                }
            }
        }
        let wmax = out.weights.iter().cloned().fold(0.0f32, f32::max);
        if wmax > 0.0 {
            out.weights.iter_mut().for_each(|w| *w /= wmax);
        }
        Ok(())
    }

    /// Sets the priorities of sampled windows (by the `indices` a batch returned); TD-MPC's 1e-6
    /// is added to each. Windows overwritten since they were sampled are skipped; returns how many
    /// were updated. Uniform buffers accept and ignore the values' scale (every start stays 1).
    pub fn update_priorities(&mut self, indices: &[u64], priorities: &[f32]) -> Result<usize> {
        if indices.len() != priorities.len() {
            return Err(Error::Shape(format!(
                "replay buffer: {} indices but {} priorities",
                indices.len(),
                priorities.len()
            )));
        }
        if let Some(i) = priorities.iter().position(|p| !p.is_finite() || *p < 0.0) {
            return Err(Error::NonFinite(format!(
                "replay buffer: priority {i} is {} (need finite and ≥ 0)",
                priorities[i]
            )));
        }
        if let Some(&id) = indices.iter().find(|&&id| id >= self.next_id) {
            return Err(Error::Invalid(format!(
                "replay buffer: index {id} was never stored (ids so far < {})",
                self.next_id
            )));
        }
        let cap = self.cfg.capacity as u64;
        let mut applied = 0;
        for (&id, &p) in indices.iter().zip(priorities) {
            let s = (id % cap) as usize;
            if self.slot_id[s] != id {
                continue;
            }
            if self.priority[s] == 0.0 {
                return Err(Error::Invalid(format!(
                    "replay buffer: index {id} is not the start of a window of {} steps",
                    self.cfg.horizon
                )));
            }
            let p = p as f64 + PRIORITY_EPS;
            self.max_priority = self.max_priority.max(p);
            self.priority[s] = p;
            self.tree.set(s, self.leaf_weight(p));
            applied += 1;
        }
        Ok(applied)
    }

    /// Every stored episode, oldest first, as a D4RL-layout dataset: one row per stored
    /// transition with its next observation. An episode shorter than `full_len` transitions ended
    /// in a terminal state; a full one was cut by the time limit (`timeouts`).
    pub fn to_dataset(&self, full_len: usize) -> Dataset {
        let (od, ad, c) = (self.cfg.obs_dim, self.cfg.act_dim, self.cfg.capacity as u64);
        let rows: usize = self.episodes.iter().map(|e| e.len).sum();
        let mut ds = Dataset {
            observations: Vec::with_capacity(rows * od),
            actions: Vec::with_capacity(rows * ad),
            rewards: Vec::with_capacity(rows),
            next_observations: Some(Vec::with_capacity(rows * od)),
            terminals: Vec::with_capacity(rows),
            timeouts: Vec::with_capacity(rows),
            pixels: None,
            obs_dim: od,
            act_dim: ad,
        };
        let slot = |id: u64| (id % c) as usize;
        for e in &self.episodes {
            for k in 0..e.len as u64 {
                let (s, n) = (slot(e.first_id + k), slot(e.first_id + k + 1));
                self.obs.extend_into(s * od, od, &mut ds.observations);
                ds.actions
                    .extend_from_slice(&self.actions[s * ad..(s + 1) * ad]);
                ds.rewards.push(self.rewards[s]);
                if let Some(next) = ds.next_observations.as_mut() {
                    self.obs.extend_into(n * od, od, next);
                }
                let last = k + 1 == e.len as u64;
                // The flag where it was recorded; a short episode ended in a terminal state either way.
                let terminal = last && (self.terminal[s] || e.len < full_len);
                ds.terminals.push(terminal);
                ds.timeouts.push(last && !terminal);
            }
        }
        ds
    }

    /// The raw priority of a stored window start (None when the id is not live).
    pub fn priority(&self, id: u64) -> Option<f64> {
        let s = (id % self.cfg.capacity as u64) as usize;
        (id < self.next_id && self.slot_id[s] == id).then(|| self.priority[s])
    }
}
