//! The RL runner: TD-MPC's training loop (`nicklashansen/tdmpc` `src/train.py`) for every agent on
//! any task. Episodes of uniform random actions for the first `seed_steps` agent steps, then the
//! agent's actions with exploration noise; after each episode, as many updates as the episode had
//! steps (for TD-MPC, one block of `seed_steps` updates when planning starts); an evaluation of
//! `eval_episodes` noise-free episodes every `eval_every` env steps (and before training). Writes
//! curves and a checkpoint into the run folder as it goes, and resumes exactly from it.
mod checkpoint;
mod export;
mod learner;
mod record;
mod task;

pub use checkpoint::{load as load_checkpoint, Progress, RunCheckpoint};
pub use export::replay_dataset;
pub use learner::Learner;
pub use record::{Curves, EvalRow, TrainRow};
pub use task::{action_repeat, episode_agent_steps};

use crate::envs::{self, Env};
use crate::ops::Engine;
use crate::optim::OptimKernel;
use crate::planner::{PlanStep, PlannerConfig};
use crate::rl::sac::{PixelConfig, SacConfig, SprConfig};
use crate::rl::tdmpc::{TdmpcConfig, UpdateStats};
use crate::rl::{ReplayBatch, ReplayBuffer, ReplayConfig, Sampling};
use crate::util::rng::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The agents `rl train` knows.
pub const AGENTS: [&str; 5] = ["tdmpc", "koopman-tdmpc", "sac", "sac-spr", "koopman-spr"];
/// The SAC agents: plain, with SPR's MLP latent model, with the Koopman one.
pub const SAC_AGENTS: [&str; 3] = ["sac", "sac-spr", "koopman-spr"];
/// The agents that plan (`bench --planner` times their plans).
pub const PLANNING_AGENTS: [&str; 2] = ["tdmpc", "koopman-tdmpc"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub agent: String,
    pub task: String,
    /// Environment steps to train for (agent steps × action repeat).
    pub env_steps: u64,
    pub action_repeat: usize,
    /// Agent steps of uniform random actions before planning starts. TD-MPC: 5000.
    pub seed_steps: u64,
    /// Environment steps between evaluations. TD-MPC: 20000.
    pub eval_every: u64,
    pub eval_episodes: usize,
    pub seed: u64,
    /// Episodes between checkpoints (one is always written at the end).
    pub checkpoint_every: u64,
    /// Prioritized replay (α 0.6, β 0.4) rather than uniform.
    pub prioritized: bool,
    /// TD-MPC agents: TOLD and the planner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told: Option<TdmpcConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner: Option<PlannerConfig>,
    /// SAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sac: Option<SacConfig>,
}

impl RunConfig {
    /// The defaults of `agent` on `task` (TD-MPC's for the TD-MPC agents, pytorch_sac's for SAC);
    /// the environment is built to read its sizes.
    pub fn new(agent: &str, task: &str) -> Result<Self> {
        let env = envs::make(task).map_err(Error::Invalid)?;
        let spec = env.spec();
        let (told, sac) = match agent {
            "tdmpc" => (Some(TdmpcConfig::tdmpc(spec.obs_dim, spec.act_dim)), None),
            "koopman-tdmpc" => (
                Some(TdmpcConfig::koopman_tdmpc(spec.obs_dim, spec.act_dim)),
                None,
            ),
            "sac" | "sac-spr" | "koopman-spr" => {
                let spr = match agent {
                    "sac-spr" => Some(SprConfig::mlp()),
                    "koopman-spr" => Some(SprConfig::koopman()),
                    _ => None,
                };
                let sac = SacConfig {
                    spr,
                    ..SacConfig::new(spec.obs_dim, spec.act_dim)
                };
                (None, Some(sac))
            }
            other => {
                return Err(Error::Invalid(format!(
                    "unknown agent '{other}' (known: {})",
                    AGENTS.join(", ")
                )))
            }
        };
        Ok(RunConfig {
            agent: agent.to_string(),
            task: task.to_string(),
            env_steps: 100_000,
            action_repeat: action_repeat(task),
            // SAC: DrQ's 1000 agent steps of random actions.
            seed_steps: if sac.is_some() { 1000 } else { 5000 },
            eval_every: 20_000,
            eval_episodes: 10,
            seed: 0,
            checkpoint_every: 10,
            prioritized: sac.is_none(),
            planner: told.as_ref().map(TdmpcConfig::default_planner),
            told,
            sac,
        })
    }

    /// TOLD's configuration (a TD-MPC agent's run).
    pub fn told(&self) -> Result<&TdmpcConfig> {
        self.told.as_ref().ok_or_else(|| self.missing("told"))
    }
    pub fn told_mut(&mut self) -> Result<&mut TdmpcConfig> {
        let e = self.missing("told");
        self.told.as_mut().ok_or(e)
    }
    pub fn planner(&self) -> Result<&PlannerConfig> {
        self.planner.as_ref().ok_or_else(|| self.missing("planner"))
    }
    pub fn planner_mut(&mut self) -> Result<&mut PlannerConfig> {
        let e = self.missing("planner");
        self.planner.as_mut().ok_or(e)
    }
    /// SAC's configuration (a SAC run).
    pub fn sac(&self) -> Result<&SacConfig> {
        self.sac.as_ref().ok_or_else(|| self.missing("sac"))
    }
    pub fn sac_mut(&mut self) -> Result<&mut SacConfig> {
        let e = self.missing("sac");
        self.sac.as_mut().ok_or(e)
    }
    fn missing(&self, section: &str) -> Error {
        Error::Invalid(format!(
            "run configuration: agent '{}' has no '{section}' section",
            self.agent
        ))
    }
    fn is_sac(&self) -> bool {
        SAC_AGENTS.contains(&self.agent.as_str())
    }
    /// Whether the agent learns from pixels (stacked frames of the task's camera).
    pub fn pixels(&self) -> bool {
        self.sac.as_ref().is_some_and(|s| s.pixels.is_some())
    }
    /// Makes a SAC run learn from pixels, with DrQ's settings ([`SacConfig::pixels`]) on frames
    /// of `side` × `side` (DrQ's 84 when None).
    pub fn use_pixels(&mut self, side: Option<usize>) -> Result<()> {
        let act_dim = self.sac.as_ref().map(|s| s.act_dim).ok_or_else(|| {
            Error::Invalid(format!(
                "pixels: agent '{}' learns from states; pixel observations are for --agent sac",
                self.agent
            ))
        })?;
        let spr = self.sac.as_ref().and_then(|s| s.spr.clone());
        let drq = PixelConfig::drq();
        let pixels = PixelConfig {
            side: side.unwrap_or(drq.side),
            ..drq
        };
        self.sac = Some(SacConfig {
            spr,
            ..SacConfig::pixels(act_dim, pixels)
        });
        Ok(())
    }

    /// Observation and action widths the agent was built for.
    pub fn dims(&self) -> Result<(usize, usize)> {
        if self.is_sac() {
            let s = self.sac()?;
            Ok((s.obs_dim, s.act_dim))
        } else {
            let t = self.told()?;
            Ok((t.obs_dim, t.act_dim))
        }
    }
    /// Steps per replay window: TD-MPC's horizon, SAC's single transition, SPR's K.
    pub fn horizon(&self) -> Result<usize> {
        if self.is_sac() {
            Ok(self.sac()?.horizon())
        } else {
            Ok(self.told()?.horizon)
        }
    }
    pub fn batch(&self) -> Result<usize> {
        if self.is_sac() {
            Ok(self.sac()?.batch)
        } else {
            Ok(self.told()?.batch)
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if !AGENTS.contains(&self.agent.as_str()) {
            return bad(format!(
                "unknown agent '{}' (known: {})",
                self.agent,
                AGENTS.join(", ")
            ));
        }
        if self.action_repeat == 0 {
            return bad("action repeat 0: each agent step must apply its action at least once; use 1 or more".into());
        }
        if self.env_steps == 0 || self.eval_every == 0 || self.eval_episodes == 0 {
            return bad(format!(
                "env steps {}, eval every {} and eval episodes {} must all be ≥ 1",
                self.env_steps, self.eval_every, self.eval_episodes
            ));
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint every 0 episodes (need ≥ 1)".into());
        }
        if self.is_sac() {
            if self.told.is_some() || self.planner.is_some() {
                return bad(format!(
                    "agent '{}' takes no 'told' or 'planner' section",
                    self.agent
                ));
            }
            if self.prioritized {
                return bad(format!(
                    "agent '{}' samples its replay uniformly (prioritized: false)",
                    self.agent
                ));
            }
            let sac = self.sac()?;
            sac.validate()?;
            let spr_wanted = self.agent != "sac";
            if sac.spr.is_some() != spr_wanted {
                return bad(format!(
                    "agent '{}' {} an 'spr' section",
                    self.agent,
                    if spr_wanted { "needs" } else { "takes no" }
                ));
            }
            let (h, ep) = (sac.horizon(), episode_agent_steps(self.action_repeat));
            if h > ep {
                return bad(format!(
                    "SPR's horizon {h} is longer than an episode of {ep} agent steps"
                ));
            }
            if self.pixels() {
                envs::check_pixel_task(&self.task).map_err(Error::Invalid)?;
            }
        } else {
            if self.sac.is_some() {
                return bad(format!("agent '{}' takes no 'sac' section", self.agent));
            }
            self.told()?.validate()?;
            self.planner()?.validate()?;
            let (h, ph) = (self.told()?.horizon, self.planner()?.horizon);
            let ep = episode_agent_steps(self.action_repeat);
            if h > ep {
                return bad(format!(
                    "horizon {h} is longer than an episode of {ep} agent steps (1000 env steps at \
                     action repeat {}): no window of the replay buffer would fit",
                    self.action_repeat
                ));
            }
            if ph > h {
                return bad(format!(
                    "planner horizon {ph} is longer than the training horizon {h}: the model \
                     was never trained to predict that far"
                ));
            }
        }
        Ok(())
    }

    fn agent_steps(&self) -> u64 {
        self.env_steps.div_ceil(self.action_repeat as u64)
    }
}

/// What a finished (or interrupted) run reports.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub agent: String,
    pub task: String,
    pub seed: u64,
    pub device: String,
    pub env_steps: u64,
    pub final_eval_return: f64,
    pub updates: u64,
    pub seconds: f64,
    pub env_steps_per_s: f64,
    pub updates_per_s: f64,
    /// Time split: planning (acting), updates, environment stepping and evaluation.
    pub plan_seconds: f64,
    pub update_seconds: f64,
    pub eval_seconds: f64,
}

/// Options of one `train` call that are not part of the run's identity.
pub struct RunOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub progress: bool,
    /// Stop after this many env steps in this call (a resumable run continues later).
    pub stop_after: Option<u64>,
}

/// Evaluates the agent: `episodes` noise-free episodes, returns (mean, std) of their returns.
/// `repeat` is the task's action repeat (the episode's length in agent steps follows from it);
/// `step_repeat` the env steps this runner applies per agent step ([`make_env`]).
#[allow(clippy::too_many_arguments)]
pub fn evaluate<B: Engine<E = f32> + OptimKernel>(
    agent: &mut Learner<B>,
    env: &mut dyn Env,
    repeat: usize,
    step_repeat: usize,
    episodes: usize,
    step: u64,
    seed: u64,
) -> Result<(f64, f64)> {
    let mut rets = Vec::with_capacity(episodes);
    let mut obs = vec![0f32; env.spec().obs_dim];
    for e in 0..episodes {
        env.reset_into(seed.wrapping_add(e as u64), &mut obs);
        env_ok(env)?;
        let mut ret = 0.0f64;
        for t in 0..episode_agent_steps(repeat) {
            let at = PlanStep {
                step,
                episode_start: t == 0,
                explore: false,
            };
            let a = agent.act(&obs, at)?;
            let (r, end) = repeat_step(env, &a, &mut obs, step_repeat)?;
            ret += r as f64;
            if end.is_some() {
                break;
            }
        }
        rets.push(ret);
    }
    let n = rets.len() as f64;
    let mean = rets.iter().sum::<f64>() / n;
    let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    Ok((mean, var.sqrt()))
}

/// Applies `a` for up to `repeat` env steps; returns the summed reward and, when the episode
/// ended, whether it ended in a terminal state (`Some(true)`) or by its time limit.
fn repeat_step(
    env: &mut dyn Env,
    a: &[f32],
    obs: &mut [f32],
    repeat: usize,
) -> Result<(f32, Option<bool>)> {
    let mut total = 0.0;
    for _ in 0..repeat {
        let (r, term, trunc) = env.step_into(a, obs);
        env_ok(env)?;
        total += r;
        if term || trunc {
            return Ok((total, Some(term)));
        }
    }
    Ok((total, None))
}

/// A failure the environment could not return from its step (a pixel task's renderer).
fn env_ok(env: &mut dyn Env) -> Result<()> {
    match env.take_error() {
        Some(e) => Err(Error::Invalid(format!("task '{}': {e}", env.name()))),
        None => Ok(()),
    }
}

/// The run's environment and the env steps the runner applies per agent step: the task itself
/// and the action repeat, or (pixels) the task seen through its camera with the action repeat
/// inside, one frame per agent step.
pub fn make_env(cfg: &RunConfig) -> Result<(Box<dyn Env>, usize)> {
    match cfg.sac.as_ref().and_then(|s| s.pixels.as_ref()) {
        Some(p) => {
            // The camera draws at the encoder's side, so frame and encoder always agree.
            let env = envs::make_pixels(&cfg.task, cfg.action_repeat, p.frames, p.side)
                .map_err(Error::Invalid)?;
            Ok((Box::new(env), 1))
        }
        None => Ok((
            envs::make(&cfg.task).map_err(Error::Invalid)?,
            cfg.action_repeat,
        )),
    }
}

fn checkpoint_path(out: &Path) -> PathBuf {
    out.join("checkpoint.safetensors")
}

/// Trains `cfg` on `backend`, writing into `opts.out`; with `opts.resume`, continues from the
/// folder's checkpoint (whose configuration must equal `cfg` apart from `env_steps`).
pub fn train<B: Engine<E = f32> + OptimKernel>(
    cfg: RunConfig,
    backend: B,
    opts: &RunOptions,
) -> Result<Summary> {
    cfg.validate()?;
    let ckpt_path = checkpoint_path(&opts.out);
    let resumed = if opts.resume {
        let c = checkpoint::load(&ckpt_path)?;
        let mut mine = cfg.clone();
        mine.env_steps = c.run.env_steps;
        let seen = |p: bool| if p { "pixels" } else { "states" };
        if c.run.pixels() != cfg.pixels() {
            return Err(Error::Invalid(format!(
                "{}: the checkpoint's agent learned from {}, this run learns from {}",
                ckpt_path.display(),
                seen(c.run.pixels()),
                seen(cfg.pixels())
            )));
        }
        if mine != c.run {
            return Err(Error::Invalid(format!(
                "{}: the checkpoint was written by a different run (agent '{}', task '{}', seed \
                 {}; this run: agent '{}', task '{}', seed {}); only --steps may change on resume",
                ckpt_path.display(),
                c.run.agent,
                c.run.task,
                c.run.seed,
                cfg.agent,
                cfg.task,
                cfg.seed
            )));
        }
        Some(c)
    } else {
        None
    };

    let (mut env, step_repeat) = make_env(&cfg)?;
    let (mut eval_env, _) = make_env(&cfg)?;
    let spec = env.spec();
    let (od, ad) = cfg.dims()?;
    if spec.obs_dim != od || spec.act_dim != ad {
        return Err(Error::Shape(format!(
            "task '{}' has observations of {} and actions of {} values; the agent was built for {od} and {ad}",
            cfg.task, spec.obs_dim, spec.act_dim
        )));
    }
    let repeat = cfg.action_repeat;
    let ep_len = episode_agent_steps(repeat);
    let total_agent = cfg.agent_steps();
    let episodes_total = total_agent.div_ceil(ep_len as u64);
    // Pixel runs keep DrQ's 100k transitions (100k stacks of 84×84 frames are 6.4 GB of bytes).
    let max_capacity = if cfg.pixels() { 100_000 } else { 1_000_000 };
    let capacity = ((total_agent + episodes_total + 1) as usize).clamp(ep_len + 2, max_capacity);
    let replay_cfg = ReplayConfig {
        capacity,
        obs_dim: spec.obs_dim,
        act_dim: spec.act_dim,
        horizon: cfg.horizon()?,
        sampling: if cfg.prioritized {
            Sampling::TDMPC_PER
        } else {
            Sampling::Uniform
        },
        seed: cfg.seed ^ 0x7265_706c,
        pixels: cfg.pixels(),
    };
    let mut agent = Learner::new(&cfg, backend, cfg.seed, cfg.seed)?;
    let mut rng = Rng::new(cfg.seed ^ 0x7275_6e6e);
    let mut curves = Curves::default();
    let (mut env_step, mut agent_step, mut episode, mut seeded, mut seconds0) =
        (0u64, 0u64, 0u64, false, 0.0);
    let mut buffer = match resumed {
        Some(c) => {
            let p = &c.progress;
            (env_step, agent_step, episode, seeded, seconds0) =
                (p.env_step, p.agent_step, p.episode, p.seeded, p.seconds);
            agent.restore(&c.agent)?;
            rng = Rng::from_state(p.runner_rng);
            curves = c.curves;
            // A longer run needs a larger buffer: keep the stored one only when it still fits.
            let snap_cap = c.replay.rewards.len();
            let stored = ReplayBuffer::from_snapshot(
                ReplayConfig {
                    capacity: snap_cap,
                    ..replay_cfg.clone()
                },
                c.replay,
            )
            .map_err(|e| Error::Invalid(format!("{}: {e}", ckpt_path.display())))?;
            if snap_cap != capacity {
                return Err(Error::Invalid(format!(
                    "{}: the stored replay buffer has {snap_cap} slots, a run of {} env steps \
                     needs {capacity}; resume with the original --steps",
                    ckpt_path.display(),
                    cfg.env_steps
                )));
            }
            stored
        }
        None => ReplayBuffer::new(replay_cfg)?,
    };
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;

    let started = Instant::now();
    let (mut plan_s, mut update_s, mut eval_s) = (0.0f64, 0.0f64, 0.0f64);
    let mut updates_here = 0u64;
    let env_start = env_step;
    let stop_at = opts
        .stop_after
        .map_or(cfg.env_steps, |n| (env_step + n).min(cfg.env_steps));
    let bar = progress_bar(opts.progress, cfg.env_steps, env_step);
    let elapsed = |s: &Instant| seconds0 + s.elapsed().as_secs_f64();
    // The run's summary as of now (written with each checkpoint and at the end).
    macro_rules! summary_now {
        () => {
            summary(
                &cfg,
                &agent,
                &curves,
                env_step,
                elapsed(&started),
                [plan_s, update_s, eval_s],
                started.elapsed().as_secs_f64(),
                env_step - env_start,
                updates_here,
            )
        };
    }
    let title = format!("{} on {} (seed {})", cfg.agent, cfg.task, cfg.seed);

    if curves.eval.is_empty() {
        let t0 = Instant::now();
        let (m, s) = evaluate(
            &mut agent,
            eval_env.as_mut(),
            repeat,
            step_repeat,
            cfg.eval_episodes,
            agent_step,
            eval_seed(&cfg, 0),
        )?;
        eval_s += t0.elapsed().as_secs_f64();
        curves.eval.push(EvalRow {
            env_step: 0,
            return_mean: m,
            return_std: s,
            episodes: cfg.eval_episodes,
        });
    }

    let (od, ad) = (spec.obs_dim, spec.act_dim);
    let mut obs = vec![0f32; od];
    let mut ep_obs = Vec::with_capacity((ep_len + 1) * od);
    let mut ep_act = Vec::with_capacity(ep_len * ad);
    let mut ep_rew = Vec::with_capacity(ep_len);
    let mut batch = ReplayBatch::default();
    let mut last = UpdateStats::default();
    while env_step < stop_at {
        // One episode, acting with the agent step at its start (as TD-MPC does).
        let step0 = agent_step;
        env.reset_into(rng.next_u64(), &mut obs);
        env_ok(env.as_mut())?;
        ep_obs.clear();
        ep_act.clear();
        ep_rew.clear();
        ep_obs.extend_from_slice(&obs);
        let mut ret = 0.0f64;
        let mut terminated = false;
        for t in 0..ep_len {
            let a = if step0 < cfg.seed_steps {
                (0..ad).map(|_| rng.range(-1.0, 1.0) as f32).collect()
            } else {
                let t0 = Instant::now();
                let at = PlanStep {
                    step: step0,
                    episode_start: t == 0,
                    explore: true,
                };
                let a = agent.act(&obs, at)?;
                plan_s += t0.elapsed().as_secs_f64();
                a
            };
            let (r, end) = repeat_step(env.as_mut(), &a, &mut obs, step_repeat)?;
            ep_act.extend_from_slice(&a);
            ep_rew.push(r);
            ep_obs.extend_from_slice(&obs);
            ret += r as f64;
            agent_step += 1;
            if let Some(term) = end {
                terminated = term;
                break;
            }
        }
        buffer.add_episode_ending(&ep_obs, &ep_act, &ep_rew, terminated)?;
        env_step = agent_step * repeat as u64;
        episode += 1;

        if step0 >= cfg.seed_steps {
            // TD-MPC trains one block of seed_steps updates when planning starts; SAC one update
            // per agent step throughout.
            let n = if seeded || cfg.is_sac() {
                ep_rew.len() as u64
            } else {
                cfg.seed_steps.max(1)
            };
            seeded = true;
            let t0 = Instant::now();
            for i in 1..=n {
                buffer.sample_into(cfg.batch()?, &mut batch)?;
                last = agent.update(&batch, Some(&mut buffer))?;
                updates_here += 1;
                // The block that starts planning is long (5000 updates): say how it goes.
                if n > 1000 && i % 500 == 0 {
                    let rate = i as f64 / t0.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!("update {i}/{n} ({rate:.1}/s)"));
                    if opts.progress && bar.is_hidden() {
                        eprintln!("update {i}/{n} ({rate:.1} updates/s)");
                    }
                }
            }
            update_s += t0.elapsed().as_secs_f64();
        }
        curves.train.push(TrainRow {
            episode,
            env_step,
            episode_return: ret,
            updates: agent.updates(),
            consistency: last.terms.consistency,
            reward: last.terms.reward,
            value: last.terms.value,
            policy: last.policy,
            grad_norm: last.grad_norm,
            seconds: elapsed(&started),
        });

        let evals_due = env_step / cfg.eval_every;
        let evals_done = curves
            .eval
            .last()
            .map_or(0, |r| r.env_step / cfg.eval_every);
        if evals_due > evals_done || env_step >= cfg.env_steps {
            let t0 = Instant::now();
            let (m, s) = evaluate(
                &mut agent,
                eval_env.as_mut(),
                repeat,
                step_repeat,
                cfg.eval_episodes,
                agent_step,
                eval_seed(&cfg, evals_due),
            )?;
            eval_s += t0.elapsed().as_secs_f64();
            curves.eval.push(EvalRow {
                env_step,
                return_mean: m,
                return_std: s,
                episodes: cfg.eval_episodes,
            });
        }
        bar.set_position(env_step.min(cfg.env_steps));
        let dt = started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{:.0} env steps/s · episode {ret:.1} · eval {:.1}",
            (env_step - env_start) as f64 / dt,
            curves.eval.last().map_or(0.0, |r| r.return_mean)
        ));
        if !opts.progress || bar.is_hidden() {
            // Plain lines when there is no terminal bar.
            if opts.progress {
                eprintln!(
                    "env step {env_step}/{} · episode {episode} return {ret:.1} · eval {:.1} · {} updates",
                    cfg.env_steps,
                    curves.eval.last().map_or(0.0, |r| r.return_mean),
                    agent.updates()
                );
            }
        }
        let finished = env_step >= stop_at;
        if finished || episode % cfg.checkpoint_every == 0 {
            curves.write(&opts.out, &title)?;
            let state = agent.state()?;
            let replay = buffer.snapshot();
            let progress = Progress {
                env_step,
                agent_step,
                episode,
                seeded,
                model_steps: state.model_steps,
                policy_steps: state.policy_steps,
                updates: state.updates,
                agent_rngs: state.rngs,
                runner_rng: rng.state(),
                replay_episodes: replay.episodes.clone(),
                replay_next_id: replay.next_id,
                replay_max_priority: replay.max_priority,
                replay_rng: replay.rng,
                seconds: elapsed(&started),
            };
            checkpoint::save(
                &ckpt_path,
                &RunCheckpoint {
                    run: cfg.clone(),
                    progress,
                    curves: curves.clone(),
                    agent: state,
                    replay,
                },
            )?;
            write_summary(&opts.out, &summary_now!())?;
        }
    }
    bar.finish_and_clear();
    let s = summary_now!();
    write_summary(&opts.out, &s)?;
    Ok(s)
}

/// Evaluation episode seeds: their own stream per evaluation, apart from the training resets.
fn eval_seed(cfg: &RunConfig, index: u64) -> u64 {
    (cfg.seed ^ 0x6576_616c)
        .wrapping_mul(1_000_003)
        .wrapping_add(index * 1000)
}

#[allow(clippy::too_many_arguments)]
fn summary<B: Engine<E = f32> + OptimKernel>(
    cfg: &RunConfig,
    agent: &Learner<B>,
    curves: &Curves,
    env_step: u64,
    seconds: f64,
    split: [f64; 3],
    here_s: f64,
    here_steps: u64,
    here_updates: u64,
) -> Summary {
    let here_s = here_s.max(1e-9);
    Summary {
        agent: cfg.agent.clone(),
        task: cfg.task.clone(),
        seed: cfg.seed,
        device: agent.device().to_string(),
        env_steps: env_step,
        final_eval_return: curves.eval.last().map_or(0.0, |r| r.return_mean),
        updates: agent.updates(),
        seconds,
        env_steps_per_s: here_steps as f64 / here_s,
        updates_per_s: here_updates as f64 / split[1].max(1e-9),
        plan_seconds: split[0],
        update_seconds: split[1],
        eval_seconds: split[2],
    }
}

fn write_summary(out: &Path, s: &Summary) -> Result<()> {
    let p = out.join("run.json");
    let text = serde_json::to_string_pretty(s)
        .map_err(|e| Error::Invalid(format!("{}: {e}", p.display())))?;
    crate::util::files::write_bytes(&p, text.as_bytes()).map_err(|e| Error::io(&p, e))
}

fn progress_bar(on: bool, len: u64, pos: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if on && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(len);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} env steps · eta {eta} · {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_position(pos);
        b
    } else {
        indicatif::ProgressBar::hidden()
    }
}
