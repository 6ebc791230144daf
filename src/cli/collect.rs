//! `koopman collect`: roll out a behaviour policy in a built-in environment and save the episodes as
//! a D4RL-layout `.npz`; with `--pixels`, also each observation's 84×84 camera frame.
use crate::data::npz;
use crate::experiment::{collect, collect_pixels, Policy};
use crate::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

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
    let t0 = Instant::now();
    let ds = if a.pixels {
        collect_pixels(&a.env, policy, a.episodes, a.seed, a.fast_render)?
    } else {
        collect(&a.env, policy, a.episodes, a.seed)?
    };
    let secs = t0.elapsed().as_secs_f64();
    npz::write(&a.out, &ds)?;
    println!(
        "collected {} transitions{} ({} episodes of {}, policy {}) in {:.2}s ({:.0} steps/s) -> {}",
        ds.len(),
        match (a.pixels, a.fast_render) {
            (true, false) => " with pixels",
            (true, true) => " with pixels (fast render)",
            _ => "",
        },
        a.episodes,
        a.env,
        a.policy,
        secs,
        ds.len() as f64 / secs.max(1e-9),
        a.out.display()
    );
    Ok(())
}
