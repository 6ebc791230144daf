//! `koopman collect`: roll out a behaviour policy in a built-in environment and save the episodes as
//! a D4RL-layout `.npz`; with `--pixels`, also each observation's 84×84 camera frame. Episodes are
//! streamed to disk as they end (memory stays at one episode), with an up-front size estimate and
//! progress.
use crate::data::npz;
use crate::envs::EPISODE_STEPS;
use crate::experiment::{collect_each, collect_pixels, env_dims, Policy};
use crate::util::files::human_bytes;
use crate::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct CollectArgs {
    /// Environment: pendulum-swingup, acrobot-swingup, cartpole-swingup, point_mass-easy; with the
    /// `mujoco` feature also hopper, walker2d, halfcheetah, cheetah-run, walker-walk,
    /// quadruped-walk, quadruped-run, dmc-acrobot-swingup, dmc-cartpole-swingup.
    #[arg(long)]
    pub env: String,
    /// Behaviour policy: random, ou, sine.
    #[arg(long, default_value = "ou")]
    pub policy: String,
    #[arg(long, default_value_t = 50)]
    pub episodes: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// Also store the 84×84 RGB frame of every observation (`pixels`, uint8 [N, 84, 84, 3], row i
    /// the frame of `observations[i]`),
    /// rendered headless from camera 0 at DMC's default quality. dm_control tasks on MuJoCo
    /// only (cheetah-run, walker-walk, quadruped-walk/run, dmc-acrobot-swingup, dmc-cartpole-swingup;
    /// feature `mujoco`; quadruped renders from camera 2); needs EGL (libegl1, libegl-mesa0,
    /// libgl1-mesa-dri).
    #[arg(long)]
    pub pixels: bool,
    /// With --pixels: render without shadows and anti-aliasing (shadowsize and offsamples 0),
    /// several times faster on a CPU but unlike the frames the DMC literature trains on.
    #[arg(long, requires = "pixels")]
    pub fast_render: bool,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

pub fn run(a: &CollectArgs) -> Result<()> {
    super::cpu_only(&a.device, "collect")?;
    let policy = Policy::parse(&a.policy)?;
    super::at_least_one("--episodes", a.episodes, "there is nothing to collect")?;
    let t0 = Instant::now();
    if a.pixels {
        super::output("--out", &a.out, &[])?;
        let ds = collect_pixels(&a.env, policy, a.episodes, a.seed, a.fast_render)?;
        npz::write(&a.out, &ds)?;
        return report(a, ds.len(), t0.elapsed().as_secs_f64());
    }
    // The environment name first (a clear error), then the output, then the estimate.
    let (od, ad) = env_dims(&a.env)?;
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
    collect_each(&a.env, policy, a.episodes, a.seed, |ep| {
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
    report(a, rows, t0.elapsed().as_secs_f64())
}

fn report(a: &CollectArgs, rows: usize, secs: f64) -> Result<()> {
    println!(
        "collected {} transitions{} ({} episodes of {}, policy {}) in {:.2}s ({:.0} steps/s) -> {}",
        rows,
        match (a.pixels, a.fast_render) {
            (true, false) => " with pixels",
            (true, true) => " with pixels (fast render)",
            _ => "",
        },
        a.episodes,
        a.env,
        a.policy,
        secs,
        rows as f64 / secs.max(1e-9),
        a.out.display()
    );
    Ok(())
}
