//! A batch of training windows: `b` sequences of `t + 1` states, `t` actions, `t` rewards.

/// Row-major window data; window `i`'s state `k` starts at `(i·(t+1) + k)·obs_dim`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    pub b: usize,
    pub t: usize,
    pub obs_dim: usize,
    pub act_dim: usize,
    /// b × (t+1) × obs_dim  (s_0..s_T)
    pub states: Vec<f32>,
    /// b × t × act_dim      (a_0..a_{T-1})
    pub actions: Vec<f32>,
    /// b × t                (r_0..r_{T-1})
    pub rewards: Vec<f32>,
}

impl Batch {
    /// The borrowed view models train on.
    pub fn view(&self) -> super::SeqBatch<'_> {
        super::SeqBatch {
            b: self.b,
            t: self.t,
            obs_dim: self.obs_dim,
            act_dim: self.act_dim,
            states: &self.states,
            actions: &self.actions,
            rewards: &self.rewards,
        }
    }

    /// An empty batch with room for `capacity` windows.
    pub fn with_capacity(capacity: usize, t: usize, obs_dim: usize, act_dim: usize) -> Self {
        Batch {
            b: 0,
            t,
            obs_dim,
            act_dim,
            states: Vec::with_capacity(capacity * (t + 1) * obs_dim),
            actions: Vec::with_capacity(capacity * t * act_dim),
            rewards: Vec::with_capacity(capacity * t),
        }
    }

    /// State `k` (0..=t) of window `i` (empty if out of range).
    pub fn state(&self, i: usize, k: usize) -> &[f32] {
        if i >= self.b || k > self.t {
            return &[];
        }
        slot(&self.states, i, self.t + 1, k, self.obs_dim)
    }

    /// Action `k` (0..t) of window `i` (empty if out of range).
    pub fn action(&self, i: usize, k: usize) -> &[f32] {
        if i >= self.b || k >= self.t {
            return &[];
        }
        slot(&self.actions, i, self.t, k, self.act_dim)
    }
}

/// Row `k` of window `i` in `(windows × per_window × width)` data; checked so that
/// inconsistent public fields give an empty slice instead of a panic.
fn slot(data: &[f32], i: usize, per_window: usize, k: usize, width: usize) -> &[f32] {
    let at = i
        .checked_mul(per_window)
        .and_then(|r| r.checked_add(k))
        .and_then(|r| r.checked_mul(width));
    at.and_then(|at| data.get(at..at.checked_add(width)?))
        .unwrap_or(&[])
}
