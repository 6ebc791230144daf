//! `koopman collect`: roll out a behaviour policy in a built-in environment and save the episodes as
//! a D4RL-layout `.npz`; with `--pixels`, also each observation's 84×84 camera frame. Episodes are
//! streamed to disk as they end (memory stays at one episode), with an up-front size estimate and
//! progress.
use crate::data::npz;
use crate::envs::EPISODE_STEPS;
use crate::experiment::{
    checkpoint_file, collect_each_with, collect_pixels, env_dims, AgentBehaviour, Behaviour,
    Policy, Scripted,
};
use crate::util::files::human_bytes;
use crate::{Error, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct CollectArgs {
    /// Environment: pendulum-swingup, acrobot-swingup, cartpole-swingup, point_mass-easy; with the
    /// `mujoco` feature also hopper, walker2d, halfcheetah, cheetah-run, walker-walk,
    /// quadruped-walk, quadruped-run, dmc-acrobot-swingup, dmc-cartpole-swingup,
    /// ball_in_cup-catch, finger-spin. With an agent --policy, the agent's task (the default)
    #[arg(long)]
    pub env: Option<String>,
    /// Behaviour policy: random, ou, sine, or a trained agent: a `koopman rl train` run folder or
    /// its checkpoint.safetensors (it plans every action-repeat steps, as trained)
    #[arg(long, default_value = "ou")]
    pub policy: String,
    /// With an agent --policy: N(0, σ²) noise added to its action at every env step, clipped to
    /// [−1, 1] (0: the agent as evaluated; larger σ for medium-quality data)
    #[arg(long)]
    pub noise: Option<f64>,
    #[arg(long, default_value_t = 50)]
    pub episodes: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// Also store the 84×84 RGB frame of every observation (`pixels`, uint8 [N, 84, 84, 3], row i
    /// the frame of `observations[i]`),
    /// rendered headless from camera 0 at DMC's default quality. dm_control tasks on MuJoCo
    /// only (cheetah-run, walker-walk, quadruped-walk/run, dmc-acrobot-swingup, dmc-cartpole-swingup,
    /// ball_in_cup-catch, finger-spin; feature `mujoco`; quadruped renders from camera 2); needs
    /// EGL (libegl1, libegl-mesa0, libgl1-mesa-dri).
    #[arg(long)]
    pub pixels: bool,
    /// Run every episode to the step limit, ignoring the task's termination (Gymnasium's
    /// `terminate_when_unhealthy=False`): Hopper and Walker2d under a scripted policy otherwise
    /// fall within ~20 steps, too short for 100-step prediction windows. Terminals are then false
    #[arg(long)]
    pub no_terminate: bool,
    /// With --pixels: render without shadows and anti-aliasing (shadowsize and offsamples 0),
    /// several times faster on a CPU but unlike the frames the DMC literature trains on.
    #[arg(long, requires = "pixels")]
    pub fast_render: bool,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// The behaviour `--policy` names, and the environment it runs in.
enum Chosen {
    Scripted(Policy, String),
    Agent(Box<AgentBehaviour>),
}

/// Reads `--policy`, `--env` and `--noise` together: a scripted name needs `--env`; an agent
/// checkpoint brings its task, which `--env` (if given) must equal.
fn choose(a: &CollectArgs) -> Result<Chosen> {
    let path = Path::new(&a.policy);
    if !path.exists() {
        let policy = Policy::parse(&a.policy).map_err(|_| {
            Error::Invalid(format!(
                "--policy {}: neither a behaviour policy (random, ou, sine) nor an existing \
                 agent run folder or checkpoint",
                a.policy
            ))
        })?;
        if a.noise.is_some() {
            return Err(Error::Invalid(
                "--noise applies to an agent --policy (a run folder or checkpoint)".into(),
            ));
        }
        let env = a.env.clone().ok_or_else(|| {
            Error::Invalid(format!(
                "--env is required with --policy {} (e.g. --env cartpole-swingup)",
                a.policy
            ))
        })?;
        return Ok(Chosen::Scripted(policy, env));
    }
    super::input("--policy", &checkpoint_file(path))?;
    // The loader's errors name the checkpoint file and field.
    let b = AgentBehaviour::load(path, a.noise.unwrap_or(0.0), a.seed)?;
    if let Some(env) = &a.env {
        if *env != b.task {
            return Err(Error::Invalid(format!(
                "--env {env}: the agent at --policy {} was trained on {}; use --env {} or leave \
                 --env out",
                a.policy, b.task, b.task
            )));
        }
    }
    if a.pixels {
        return Err(Error::Invalid(
            "--pixels with an agent --policy is not supported: collect its states, or use a \
             scripted policy for frames"
                .into(),
        ));
    }
    eprintln!(
        "policy: {} trained for {} env steps on {}, action noise σ = {}",
        b.agent_name,
        b.trained_env_steps,
        b.task,
        a.noise.unwrap_or(0.0)
    );
    Ok(Chosen::Agent(Box::new(b)))
}

pub fn run(a: &CollectArgs) -> Result<()> {
    super::cpu_only(&a.device, "collect")?;
    super::at_least_one("--episodes", a.episodes, "there is nothing to collect")?;
    let t0 = Instant::now();
    let mut chosen = choose(a)?;
    let env = match &chosen {
        Chosen::Scripted(_, env) => env.clone(),
        Chosen::Agent(b) => b.task.clone(),
    };
    if let (true, Chosen::Scripted(policy, _)) = (a.pixels, &chosen) {
        if a.no_terminate {
            return Err(Error::Invalid(
                "--no-terminate applies to state datasets; the pixel tasks never terminate".into(),
            ));
        }
        super::output("--out", &a.out, &[])?;
        let ds = collect_pixels(&env, *policy, a.episodes, a.seed, a.fast_render)?;
        npz::write(&a.out, &ds)?;
        return report(a, &env, ds.len(), t0.elapsed().as_secs_f64());
    }
    // The environment name first (a clear error), then the output, then the estimate.
    let (od, ad) = env_dims(&env)?;
    super::output("--out", &a.out, &[])?;
    // Per transition: observation, next observation, action and reward as f32, two flags.
    let row = (2 * od + ad + 1) as u64 * 4 + 2;
    let steps = (a.episodes as u64).saturating_mul(u64::from(EPISODE_STEPS));
    let bytes = steps.saturating_mul(row);
    eprintln!(
        "collecting {} episodes of up to {EPISODE_STEPS} steps: at most {} transitions, {} before \
         compression (streamed to disk; memory stays at one episode)",
        a.episodes,
        steps,
        human_bytes(bytes)
    );
    let mut w = npz::EpisodeWriter::new(&a.out, od, ad)?;
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = ProgressBar::new(a.episodes as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} episodes {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let every = (a.episodes / 10).max(1);
    let mut last_line = Instant::now();
    let mut done = 0usize;
    let mut scripted;
    let behaviour: &mut dyn Behaviour = match &mut chosen {
        Chosen::Scripted(policy, _) => {
            scripted = Scripted::new(*policy, ad, a.seed);
            &mut scripted
        }
        Chosen::Agent(b) => b.as_mut(),
    };
    let mut returns = Vec::with_capacity(a.episodes);
    collect_each_with(&env, behaviour, a.episodes, a.seed, !a.no_terminate, |ep| {
        returns.push(ep.rewards.iter().map(|&r| r as f64).sum::<f64>());
        w.push(&ep)?;
        done += 1;
        bar.inc(1);
        if !tty
            && done < a.episodes
            && (done.is_multiple_of(every) || last_line.elapsed() >= Duration::from_secs(5))
        {
            last_line = Instant::now();
            let secs = t0.elapsed().as_secs_f64();
            eprintln!(
                "progress: {done}/{} episodes, {} transitions, {:.0} steps/s, {secs:.0}s elapsed",
                a.episodes,
                w.rows(),
                w.rows() as f64 / secs.max(1e-9)
            );
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let rows = w.rows();
    w.finish()?;
    report(a, &env, rows, t0.elapsed().as_secs_f64())?;
    let (mean, std) = super::compare::mean_std(&returns);
    println!("episode return {mean:.1} ± {std:.1} (mean ± std over episodes)");
    Ok(())
}

fn report(a: &CollectArgs, env: &str, rows: usize, secs: f64) -> Result<()> {
    println!(
        "collected {} transitions{} ({} episodes of {}, policy {}) in {:.2}s ({:.0} steps/s) -> {}",
        rows,
        match (a.pixels, a.fast_render) {
            (true, false) => " with pixels",
            (true, true) => " with pixels (fast render)",
            _ => "",
        },
        a.episodes,
        env,
        a.policy,
        secs,
        rows as f64 / secs.max(1e-9),
        a.out.display()
    );
    Ok(())
}
