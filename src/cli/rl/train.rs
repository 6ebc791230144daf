//! `koopman rl train`: TD-MPC, Koopman TD-MPC or SAC on a task, with curves, checkpoints and
//! `--resume`.
use crate::rl::run::{self, RunConfig, RunOptions};
use crate::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// tdmpc, koopman-tdmpc, sac, sac-spr or koopman-spr (the SAC agents from states, or from
    /// pixels with --pixels).
    #[arg(long, default_value = "tdmpc")]
    pub agent: String,
    /// Task (see `koopman collect --help` for the list), e.g. cartpole-swingup.
    #[arg(long, default_value = "cartpole-swingup")]
    pub env: String,
    /// Environment steps to train for.
    #[arg(long, default_value_t = 100_000)]
    pub steps: u64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run folder: curves (CSV, PNG), run.json and the checkpoint.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in --out from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// auto, cpu, cuda or emu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Action repeat (default: TD-MPC's for the task: cartpole 8, walker/finger 2, others 4).
    #[arg(long)]
    pub action_repeat: Option<usize>,
    /// Agent steps of random actions before the agent acts (TD-MPC: 5000; SAC: 1000).
    #[arg(long)]
    pub seed_steps: Option<u64>,
    /// Env steps between evaluations (TD-MPC: 20000).
    #[arg(long)]
    pub eval_every: Option<u64>,
    #[arg(long)]
    pub eval_episodes: Option<usize>,
    /// Training horizon (TD-MPC 5, Koopman TD-MPC 20); TD-MPC also plans over it.
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Planning horizon, at most the training horizon (default: TD-MPC the training horizon,
    /// Koopman TD-MPC 5 or the training horizon if shorter).
    #[arg(long)]
    pub plan_horizon: Option<usize>,
    /// Update batch size (TD-MPC 512; SAC 1024).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Hidden width of dynamics, reward, Q and π (512); of SAC's actor and critics (1024).
    #[arg(long)]
    pub mlp_dim: Option<usize>,
    /// Adam step size (TD-MPC 1e-3; SAC from states 1e-4, from pixels 1e-3).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Polyak rate of the target networks (TD-MPC 0.01; SAC from states 0.005, from pixels 0.01).
    #[arg(long)]
    pub tau: Option<f64>,
    /// SAC's initial entropy temperature α (0.1; learned from there).
    #[arg(long)]
    pub init_alpha: Option<f64>,
    /// Encoder hidden width (256).
    #[arg(long)]
    pub enc_dim: Option<usize>,
    /// Latent width of the MLP TOLD (50).
    #[arg(long)]
    pub latent: Option<usize>,
    /// Complex modes of the Koopman TOLD (25, a latent of 50 reals).
    #[arg(long)]
    pub modes: Option<usize>,
    /// Δt at initialisation of the Koopman TOLD (0.1/m; learned from there).
    #[arg(long)]
    pub dt0: Option<f64>,
    /// Planner samples per iteration (512).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Planner elites (64).
    #[arg(long)]
    pub elites: Option<usize>,
    /// Planner iterations (6).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Planner π trajectories (25).
    #[arg(long)]
    pub policy_trajectories: Option<usize>,
    /// SAC from pixels: stacks of 3 84×84 frames of the task's camera, DrQ's encoder and
    /// settings (batch 128, lr 1e-3, τ 0.01, random shifts). The dm_control tasks on MuJoCo
    /// (feature `mujoco`), e.g. dmc-cartpole-swingup.
    #[arg(long)]
    pub pixels: bool,
    /// Side of the square frames a pixel agent sees (--pixels; default 84, DrQ's). Smaller
    /// frames make each update cheaper: the encoder's work grows with the side squared.
    #[arg(long)]
    pub frame_size: Option<usize>,
    /// Uniform replay instead of PER (SAC always samples uniformly).
    #[arg(long)]
    pub uniform: bool,
    /// Episodes between checkpoints.
    #[arg(long, default_value_t = 10)]
    pub checkpoint_every: u64,
    /// Stop after this many env steps in this call (resume later with --resume).
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// No progress bar or progress lines.
    #[arg(long)]
    pub quiet: bool,
}

/// The run's configuration from the arguments (TD-MPC's defaults for what is not given).
pub fn config(a: &TrainArgs) -> Result<RunConfig> {
    let mut c = RunConfig::new(&a.agent, &a.env)?;
    c.env_steps = a.steps;
    c.seed = a.seed;
    c.prioritized = !a.uniform;
    c.checkpoint_every = a.checkpoint_every;
    if let Some(v) = a.action_repeat {
        c.action_repeat = v;
    }
    if let Some(v) = a.seed_steps {
        c.seed_steps = v;
    }
    if let Some(v) = a.eval_every {
        c.eval_every = v;
    }
    if let Some(v) = a.eval_episodes {
        c.eval_episodes = v;
    }
    if a.pixels {
        c.use_pixels(a.frame_size)?;
    } else if a.frame_size.is_some() {
        return Err(crate::Error::Invalid(
            "--frame-size applies to pixel agents (--pixels)".into(),
        ));
    }
    if let Some(sac) = c.sac.as_mut() {
        c.prioritized = false;
        if let Some(v) = a.batch {
            sac.batch = v;
        }
        if let Some(v) = a.mlp_dim {
            sac.hidden = v;
        }
        if let Some(v) = a.lr {
            sac.lr = v;
        }
        if let Some(v) = a.tau {
            sac.tau = v;
        }
        if let Some(v) = a.init_alpha {
            sac.init_alpha = v;
        }
        let tdmpc_only = [
            ("--enc-dim", a.enc_dim.is_some()),
            ("--latent", a.latent.is_some()),
            ("--modes", a.modes.is_some()),
            ("--dt0", a.dt0.is_some()),
            ("--horizon", a.horizon.is_some()),
            ("--plan-horizon", a.plan_horizon.is_some()),
            ("--samples", a.samples.is_some()),
            ("--elites", a.elites.is_some()),
            ("--iterations", a.iterations.is_some()),
            ("--policy-trajectories", a.policy_trajectories.is_some()),
        ];
        if let Some((flag, _)) = tdmpc_only.iter().find(|(_, given)| *given) {
            return Err(crate::Error::Invalid(format!(
                "{flag} applies to the TD-MPC agents, not --agent {}",
                a.agent
            )));
        }
        c.validate()?;
        return Ok(c);
    }
    if a.init_alpha.is_some() {
        return Err(crate::Error::Invalid(format!(
            "--init-alpha applies to the SAC agents, not --agent {}",
            a.agent
        )));
    }
    let t = c.told_mut()?;
    if let Some(v) = a.lr {
        t.lr = v;
    }
    if let Some(v) = a.tau {
        t.tau = v;
    }
    if let Some(v) = a.batch {
        t.batch = v;
    }
    if let Some(v) = a.mlp_dim {
        t.mlp_dim = v;
    }
    if let Some(v) = a.enc_dim {
        t.enc_dim = v;
    }
    if let Some(v) = a.latent {
        t.latent = v;
    }
    if let Some(m) = a.modes {
        if let crate::rl::tdmpc::Dynamics::Koopman { modes, dt0, .. } = &mut t.dynamics {
            *modes = m;
            *dt0 = crate::rl::tdmpc::Dynamics::koopman_dt0(m);
        } else {
            return Err(crate::Error::Invalid(
                "--modes applies to --agent koopman-tdmpc only".into(),
            ));
        }
    }
    if let Some(v) = a.dt0 {
        if let crate::rl::tdmpc::Dynamics::Koopman { dt0, .. } = &mut t.dynamics {
            *dt0 = v;
        } else {
            return Err(crate::Error::Invalid(
                "--dt0 applies to --agent koopman-tdmpc only".into(),
            ));
        }
    }
    if let Some(h) = a.horizon {
        t.horizon = h;
        c.planner = Some(t.default_planner());
    }
    let p = c.planner_mut()?;
    if let Some(h) = a.plan_horizon {
        *p = p.with_horizon(h);
    }
    if let Some(v) = a.samples {
        p.samples = v;
    }
    if let Some(v) = a.elites {
        p.elites = v;
    }
    if let Some(v) = a.iterations {
        p.iterations = v;
    }
    if let Some(v) = a.policy_trajectories {
        p.policy_trajectories = v;
    }
    c.validate()?;
    Ok(c)
}

pub fn run(a: &TrainArgs) -> Result<()> {
    let cfg = config(a)?;
    if a.resume {
        super::super::input("--resume", &a.out.join("checkpoint.safetensors"))?;
    }
    let fresh = !a.out.exists();
    super::super::output_dir("--out", &a.out)?;
    let device = super::super::device(&a.device)?;
    let opts = RunOptions {
        out: a.out.clone(),
        resume: a.resume,
        progress: !a.quiet,
        stop_after: a.stop_after,
    };
    let planning = match &cfg.planner {
        Some(p) if p.horizon != cfg.horizon()? => format!(" (planning {})", p.horizon),
        _ => String::new(),
    };
    eprintln!(
        "{} on {}: {} env steps, action repeat {}, horizon {}{planning}, seed {}",
        cfg.agent,
        cfg.task,
        cfg.env_steps,
        cfg.action_repeat,
        cfg.horizon()?,
        cfg.seed
    );
    let trained = crate::with_backend!(device, |b| run::train(cfg, b, &opts));
    let s = trained.inspect_err(|_| {
        // A run refused before its first file (a task that cannot render) leaves no folder;
        // remove_dir only removes an empty one.
        if fresh {
            let _ = std::fs::remove_dir(&a.out);
        }
    })?;
    println!(
        "{} on {} seed {}: final evaluation return {:.1} after {} env steps ({} updates, {:.0} s, \
         {:.1} env steps/s, {:.1} updates/s; planning {:.0} s, updates {:.0} s, evaluation {:.0} s)",
        s.agent,
        s.task,
        s.seed,
        s.final_eval_return,
        s.env_steps,
        s.updates,
        s.seconds,
        s.env_steps_per_s,
        s.updates_per_s,
        s.plan_seconds,
        s.update_seconds,
        s.eval_seconds
    );
    println!("wrote {}", a.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::PlannerConfig;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        train: TrainArgs,
    }

    fn config_of(args: &[&str]) -> RunConfig {
        let argv = ["koopman", "--out", "run"].iter().chain(args);
        config(&Cli::try_parse_from(argv).unwrap().train).unwrap()
    }

    #[test]
    fn lr_tau_and_init_alpha_reach_the_agent() {
        let c = config_of(&["--agent", "sac", "--lr", "3e-4", "--tau", "0.02"]);
        let s = c.sac().unwrap();
        assert_eq!((s.lr, s.tau, s.init_alpha), (3e-4, 0.02, 0.1));
        let s = config_of(&["--agent", "koopman-spr", "--init-alpha", "1"]);
        assert_eq!(s.sac().unwrap().init_alpha, 1.0);
        let c = config_of(&["--agent", "koopman-tdmpc", "--lr", "5e-4", "--tau", "0.05"]);
        let t = c.told().unwrap();
        assert_eq!((t.lr, t.tau), (5e-4, 0.05));
    }

    #[test]
    fn plan_horizon_shortens_the_plan_and_keeps_the_training_horizon() {
        // Koopman TD-MPC trains over 20 steps and plans over 5 unless told otherwise.
        let c = config_of(&["--agent", "koopman-tdmpc"]);
        assert_eq!(c.told().unwrap().horizon, 20);
        assert_eq!(c.planner().unwrap(), &PlannerConfig::tdmpc(5));
        let c = config_of(&["--agent", "koopman-tdmpc", "--plan-horizon", "20"]);
        assert_eq!(c.planner().unwrap(), &PlannerConfig::tdmpc(20));
        let c = config_of(&["--agent", "koopman-tdmpc", "--horizon", "3"]);
        assert_eq!(c.planner().unwrap().horizon, 3);
        let c = config_of(&["--horizon", "8", "--plan-horizon", "3", "--samples", "64"]);
        assert_eq!(c.told().unwrap().horizon, 8);
        let p = c.planner().unwrap();
        assert_eq!((p.horizon, p.samples), (3, 64));
        let c = config_of(&["--horizon", "8"]);
        assert_eq!(c.planner().unwrap().horizon, 8);
    }

    #[test]
    fn frame_size_sets_the_encoder_input_and_needs_pixels() {
        let mut c = config_of(&["--agent", "sac"]);
        c.use_pixels(Some(48)).unwrap();
        let s = c.sac().unwrap();
        assert_eq!(s.pixels.as_ref().unwrap().side, 48);
        assert_eq!(s.obs_dim, 3 * 3 * 48 * 48);
        c.use_pixels(None).unwrap();
        assert_eq!(c.sac().unwrap().obs_dim, 3 * 3 * 84 * 84);
        c.use_pixels(Some(12)).unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("4 convolutions leave nothing of a 12×12 frame"),
            "{e}"
        );
    }
}
