//! Rolling out a behaviour policy in a built-in environment into a D4RL-layout dataset.
use crate::data::Dataset;
use crate::envs::{self, Env};
use crate::util::rng::Rng;
use crate::{Error, Result};

/// Behaviour policies for data collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Independent uniform actions in [−1, 1].
    Random,
    /// Ornstein-Uhlenbeck noise, a ← 0.85·a + 0.35·N(0, 1), clipped: smooth, exploratory.
    Ou,
    /// Per-episode random sinusoids, periods 20-200 steps: long coherent pushes.
    Sine,
}

impl Policy {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "random" => Ok(Policy::Random),
            "ou" => Ok(Policy::Ou),
            "sine" => Ok(Policy::Sine),
            _ => Err(Error::Invalid(format!(
                "unknown policy '{s}' (known: random, ou, sine)"
            ))),
        }
    }
}

/// `episodes` episodes of `env` (1000 steps each unless the env terminates), seeded.
pub fn collect(env: &str, policy: Policy, episodes: usize, seed: u64) -> Result<Dataset> {
    let mut all: Option<Dataset> = None;
    collect_each(env, policy, episodes, seed, |ep| {
        match &mut all {
            None => all = Some(ep),
            Some(ds) => append(ds, ep),
        }
        Ok(())
    })?;
    all.ok_or_else(|| Error::Invalid("--episodes must be at least 1".into()))
}

/// As [`collect`], handing each episode to `emit` as it ends instead of holding them all (what
/// `koopman collect` streams to disk). The episodes are those [`collect`] gives.
pub fn collect_each(
    env: &str,
    policy: Policy,
    episodes: usize,
    seed: u64,
    emit: impl FnMut(Dataset) -> Result<()>,
) -> Result<()> {
    let mut e = envs::make(env).map_err(Error::Invalid)?;
    rollout(e.as_mut(), policy, episodes, seed, |_| Ok(()), emit)
}

/// As [`collect_each`], with any [`Behaviour`] choosing the actions (a trained agent).
/// `terminate: false` runs every episode to the step limit ([`envs::NoTermination`]).
pub fn collect_each_with(
    env: &str,
    behaviour: &mut dyn Behaviour,
    episodes: usize,
    seed: u64,
    terminate: bool,
    emit: impl FnMut(Dataset) -> Result<()>,
) -> Result<()> {
    let mut e = envs::make(env).map_err(Error::Invalid)?;
    if !terminate {
        e = Box::new(envs::NoTermination(e));
    }
    rollout_with(e.as_mut(), behaviour, episodes, seed, |_| Ok(()), emit)
}

/// Observation and action widths of `env` (for sizing estimates before collecting).
pub fn env_dims(env: &str) -> Result<(usize, usize)> {
    let e = envs::make(env).map_err(Error::Invalid)?;
    let spec = e.spec();
    Ok((spec.obs_dim, spec.act_dim))
}

/// Appends `ep`'s rows to `ds` (same widths).
fn append(ds: &mut Dataset, ep: Dataset) {
    ds.observations.extend_from_slice(&ep.observations);
    ds.actions.extend_from_slice(&ep.actions);
    ds.rewards.extend_from_slice(&ep.rewards);
    if let (Some(a), Some(b)) = (&mut ds.next_observations, &ep.next_observations) {
        a.extend_from_slice(b);
    }
    ds.terminals.extend_from_slice(&ep.terminals);
    ds.timeouts.extend_from_slice(&ep.timeouts);
}

/// As [`collect`], plus `pixels`: the 84×84 RGB frame of every observation from the task's
/// pixel camera; `fast` renders without shadows and anti-aliasing, otherwise at DMC's default
/// visual quality. Only the dm_control tasks on MuJoCo (feature `mujoco`) render; the episodes
/// are those [`collect`] gives for the same arguments.
pub fn collect_pixels(
    env: &str,
    policy: Policy,
    episodes: usize,
    seed: u64,
    fast: bool,
) -> Result<Dataset> {
    #[cfg(feature = "mujoco")]
    {
        use crate::data::Frames;
        use crate::envs::mujoco::render::{Quality, PIXELS};
        use crate::envs::mujoco::{make_dmc, Renderer};

        let mut task = make_dmc(env).map_err(|e| Error::Invalid(format!("--pixels: {e}")))?;
        let quality = if fast { Quality::Fast } else { Quality::Dmc };
        let mut r = Renderer::new(task.sim(), task.pixel_camera(), PIXELS, PIXELS, quality)
            .map_err(|e| Error::Invalid(format!("--pixels: {e}")))?;
        let frame = PIXELS * PIXELS * 3;
        let mut data = Vec::new();
        // Frames dominate memory (21 KB a step); fail cleanly rather than abort on a huge request.
        let rows = episodes.saturating_mul(envs::EPISODE_STEPS as usize);
        data.try_reserve_exact(rows.saturating_mul(frame))
            .map_err(|e| Error::Invalid(format!("--pixels: {rows} frames do not fit: {e}")))?;
        let mut all: Option<Dataset> = None;
        rollout(
            task.as_mut(),
            policy,
            episodes,
            seed,
            |t| {
                let f = r.render(t.sim_mut()).map_err(Error::Invalid)?;
                data.extend_from_slice(f);
                Ok(())
            },
            |ep| {
                match &mut all {
                    None => all = Some(ep),
                    Some(ds) => append(ds, ep),
                }
                Ok(())
            },
        )?;
        let mut ds = all.ok_or_else(|| Error::Invalid("--episodes must be at least 1".into()))?;
        ds.pixels = Some(Frames {
            data,
            height: PIXELS,
            width: PIXELS,
            channels: 3,
        });
        Ok(ds)
    }
    #[cfg(not(feature = "mujoco"))]
    {
        let _ = (env, policy, episodes, seed, fast);
        Err(Error::Invalid(
            "--pixels renders the dm_control tasks on MuJoCo: rebuild with --features mujoco \
             (after scripts/setup-mujoco.sh)"
                .into(),
        ))
    }
}

/// What chooses the actions of a rollout: a scripted [`Policy`] or a trained agent.
pub trait Behaviour {
    /// Called before each episode's first step.
    fn begin_episode(&mut self) -> Result<()>;
    /// The action for observation `obs` at step `t` of the episode, written into `a`.
    fn act(&mut self, obs: &[f32], t: usize, a: &mut [f32]) -> Result<()>;
}

/// A scripted policy with its seeded state (the draws are per episode, then per step and action).
pub struct Scripted {
    policy: Policy,
    rng: Rng,
    freq: Vec<f64>,
    phase: Vec<f64>,
}

impl Scripted {
    pub fn new(policy: Policy, act_dim: usize, seed: u64) -> Self {
        Scripted {
            policy,
            rng: Rng::new(seed),
            freq: vec![0.0; act_dim],
            phase: vec![0.0; act_dim],
        }
    }
}

impl Behaviour for Scripted {
    fn begin_episode(&mut self) -> Result<()> {
        for f in self.freq.iter_mut() {
            *f = std::f64::consts::TAU / self.rng.range(20.0, 200.0);
        }
        for p in self.phase.iter_mut() {
            *p = self.rng.range(0.0, std::f64::consts::TAU);
        }
        Ok(())
    }
    fn act(&mut self, _obs: &[f32], t: usize, a: &mut [f32]) -> Result<()> {
        if t == 0 {
            a.iter_mut().for_each(|v| *v = 0.0);
        }
        for (i, ai) in a.iter_mut().enumerate() {
            *ai = match self.policy {
                Policy::Random => self.rng.range(-1.0, 1.0) as f32,
                Policy::Ou => {
                    (0.85 * *ai as f64 + 0.35 * self.rng.normal()).clamp(-1.0, 1.0) as f32
                }
                Policy::Sine => (self.freq[i] * t as f64 + self.phase[i]).sin() as f32,
            };
        }
        Ok(())
    }
}

/// The episodes of `e` under `policy`, each handed to `emit` as it ends; `observed(e)` runs on each
/// observation's state before its action (e.g. to render it).
fn rollout<E: Env + ?Sized>(
    e: &mut E,
    policy: Policy,
    episodes: usize,
    seed: u64,
    observed: impl FnMut(&mut E) -> Result<()>,
    emit: impl FnMut(Dataset) -> Result<()>,
) -> Result<()> {
    let mut scripted = Scripted::new(policy, e.spec().act_dim, seed);
    rollout_with(e, &mut scripted, episodes, seed, observed, emit)
}

/// The episodes of `e` under any [`Behaviour`]; episode `ep` starts from the reset seed
/// `seed·1000003 + ep`.
pub fn rollout_with<E: Env + ?Sized>(
    e: &mut E,
    behaviour: &mut dyn Behaviour,
    episodes: usize,
    seed: u64,
    mut observed: impl FnMut(&mut E) -> Result<()>,
    mut emit: impl FnMut(Dataset) -> Result<()>,
) -> Result<()> {
    if episodes == 0 {
        return Err(Error::Invalid("--episodes must be at least 1".into()));
    }
    let spec = e.spec();
    let (od, ad) = (spec.obs_dim, spec.act_dim);
    let cap = envs::EPISODE_STEPS as usize;
    let (mut obs, mut next, mut a) = (vec![0.0f32; od], vec![0.0f32; od], vec![0.0f32; ad]);
    for ep in 0..episodes {
        let mut ds = Dataset {
            observations: Vec::with_capacity(cap * od),
            actions: Vec::with_capacity(cap * ad),
            rewards: Vec::with_capacity(cap),
            next_observations: None,
            terminals: Vec::with_capacity(cap),
            timeouts: Vec::with_capacity(cap),
            pixels: None,
            obs_dim: od,
            act_dim: ad,
        };
        let mut next_obs = Vec::with_capacity(cap * od);
        e.reset_into(
            seed.wrapping_mul(1_000_003).wrapping_add(ep as u64),
            &mut obs,
        );
        behaviour.begin_episode()?;
        for t in 0.. {
            behaviour.act(&obs, t, &mut a)?;
            observed(e)?;
            let (r, term, trunc) = e.step_into(&a, &mut next);
            ds.observations.extend_from_slice(&obs);
            ds.actions.extend_from_slice(&a);
            ds.rewards.push(r);
            next_obs.extend_from_slice(&next);
            ds.terminals.push(term);
            ds.timeouts.push(trunc && !term);
            std::mem::swap(&mut obs, &mut next);
            if term || trunc {
                break;
            }
        }
        ds.next_observations = Some(next_obs);
        emit(ds)?;
    }
    Ok(())
}
