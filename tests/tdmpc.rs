//! TD-MPC and Koopman TD-MPC: the losses and the target update against independent computations,
//! determinism, exact resume, bad input, and short learning runs on cartpole-swingup.
mod common;
#[path = "common/held_random.rs"]
mod held_random;

use koopman::autodiff::Tape;
use koopman::backend::Cpu;
use koopman::planner::PlannerConfig;
use koopman::rl::run::{self, RunConfig, RunOptions};
use koopman::rl::tdmpc::{Agent, Dynamics, TdmpcConfig, Told};
use koopman::rl::ReplayBatch;
use koopman::util::rng::Rng;

fn tiny(dynamics: Dynamics) -> TdmpcConfig {
    let mut c = TdmpcConfig::tdmpc(3, 2);
    c.dynamics = dynamics;
    c.latent = 4;
    c.enc_dim = 5;
    c.mlp_dim = 6;
    c.horizon = 3;
    c.batch = 4;
    // No exploration noise in targets and π's update, so an independent computation can match.
    c.min_std = 0.0;
    c
}

fn tiny_koopman() -> Dynamics {
    Dynamics::Koopman {
        modes: 2,
        act_hidden: 5,
        mu: koopman::nn::MuInit::Fixed(-0.2),
        dt0: 0.3,
        learn_dt: true,
        rollout: koopman::nn::RolloutMode::Scan,
    }
}

fn batch(c: &TdmpcConfig, seed: u64) -> ReplayBatch {
    let mut r = Rng::new(seed);
    let (b, h) = (c.batch, c.horizon);
    let mut v = |n: usize, s: f64| (0..n).map(|_| (s * r.normal()) as f32).collect::<Vec<_>>();
    ReplayBatch {
        obs: v(b * (h + 1) * c.obs_dim, 1.0),
        actions: v(b * h * c.act_dim, 0.5)
            .iter()
            .map(|a| a.clamp(-1.0, 1.0))
            .collect(),
        rewards: v(b * h, 1.0),
        terminal: vec![0.0; b * h],
        weights: vec![1.0, 0.5, 0.25, 0.8],
        indices: (0..b as u64).collect(),
    }
}

/// Perturbs every parameter (R's and Q's last layers start at zero, which would hide their terms).
fn perturbed(c: TdmpcConfig, seed: u64) -> Told {
    let mut told = Told::new(c, seed).unwrap();
    let mut r = Rng::new(seed + 100);
    let ps = told.params_mut();
    let ids: Vec<_> = ps.ids().collect();
    for id in ids {
        for x in ps.get_mut(id).data.iter_mut() {
            *x += (0.3 * r.normal()) as f32;
        }
    }
    told
}

/// TD-MPC's update written step by step as in `TDMPC.update` (one latent step at a time, host
/// arithmetic in f64): (consistency, reward, value, total) per-sample means.
fn reference_terms(told: &Told, bt: &ReplayBatch) -> (f64, f64, f64, f64) {
    let c = &told.cfg;
    let (b, h, o, a, l) = (c.batch, c.horizon, c.obs_dim, c.act_dim, c.latent_dim());
    let mut t: Tape<Cpu> = Tape::no_grad(told.params());
    let obs_at =
        |i: usize, k: usize| bt.obs[(i * (h + 1) + k) * o..(i * (h + 1) + k + 1) * o].to_vec();
    let (mut cons, mut rew, mut val, mut total) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..b {
        let o0 = t.constant([1, o], &obs_at(i, 0)).unwrap();
        let mut z = told.encode(&mut t, o0).unwrap();
        let (mut ci, mut ri, mut vi) = (0.0f64, 0.0f64, 0.0f64);
        for k in 0..h {
            let ak = &bt.actions[(i * h + k) * a..(i * h + k + 1) * a];
            let av = t.constant([1, a], ak).unwrap();
            let za = told.join(&mut t, z, av).unwrap();
            let (q1, q2) = told.q(&mut t, za, false).unwrap();
            let rhat = told.reward(&mut t, za).unwrap();
            let a3 = t.constant([1, 1, a], ak).unwrap();
            let zn = told.rollout(&mut t, z, a3).unwrap();
            z = t.reshape(zn, &[1, l]).unwrap();
            let on = t.constant([1, o], &obs_at(i, k + 1)).unwrap();
            let zt = told.encode(&mut t, on).unwrap();
            let pa = told.pi(&mut t, zt).unwrap();
            let pav: Vec<f32> = t
                .value(pa)
                .iter()
                .map(|x| x.clamp(-1.0 + 1e-6, 1.0 - 1e-6))
                .collect();
            let pac = t.constant([1, a], &pav).unwrap();
            let zpa = told.join(&mut t, zt, pac).unwrap();
            let (t1, t2) = told.q(&mut t, zpa, false).unwrap();
            let r = bt.rewards[i * h + k] as f64;
            let y = r + c.gamma * (t.value(t1)[0].min(t.value(t2)[0]) as f64);
            let rho = c.rho.powi(k as i32);
            let se: f64 = t
                .value(z)
                .iter()
                .zip(t.value(zt))
                .map(|(&p, &q)| ((p - q) as f64).powi(2))
                .sum();
            ci += rho * se / l as f64;
            ri += rho * (t.value(rhat)[0] as f64 - r).powi(2);
            let (e1, e2) = (t.value(q1)[0] as f64 - y, t.value(q2)[0] as f64 - y);
            vi += rho * (e1 * e1 + e2 * e2);
        }
        let w = bt.weights[i] as f64;
        cons += ci;
        rew += ri;
        val += vi;
        total += w
            * (c.consistency_coef * ci.min(c.loss_clamp)
                + c.reward_coef * ri.min(c.loss_clamp)
                + c.value_coef * vi.min(c.loss_clamp));
    }
    let n = b as f64;
    (cons / n, rew / n, val / n, total / n)
}

fn check_terms(dynamics: Dynamics) {
    let c = tiny(dynamics);
    let told = perturbed(c.clone(), 3);
    let bt = batch(&c, 4);
    let want = reference_terms(&told, &bt);
    let mut agent = Agent::new(told, Cpu::default(), PlannerConfig::tdmpc(c.horizon), 0).unwrap();
    let s = agent.update(&bt, None).unwrap();
    let got = (
        s.terms.consistency,
        s.terms.reward,
        s.terms.value,
        s.terms.total,
    );
    for (name, g, w) in [
        ("consistency", got.0, want.0),
        ("reward", got.1, want.1),
        ("value", got.2, want.2),
        ("total", got.3, want.3),
    ] {
        assert!(
            (g - w).abs() <= 1e-4 * w.abs().max(1e-3),
            "{name}: batched loss {g}, step-by-step reference {w}"
        );
        assert!(
            w > 1e-3,
            "{name} is {w}: the test would not see a wrong term"
        );
    }
}

#[test]
fn told_loss_matches_a_step_by_step_computation_mlp() {
    check_terms(Dynamics::Mlp);
}

#[test]
fn told_loss_matches_a_step_by_step_computation_koopman() {
    check_terms(tiny_koopman());
}

#[test]
fn target_is_an_exponential_moving_average_every_update_freq_updates() {
    let mut c = tiny(Dynamics::Mlp);
    c.update_freq = 2;
    c.tau = 0.25;
    let told = perturbed(c.clone(), 5);
    let mut agent = Agent::new(told, Cpu::default(), PlannerConfig::tdmpc(c.horizon), 0).unwrap();
    let s0 = agent.state().unwrap();
    agent.update(&batch(&c, 6), None).unwrap();
    let s1 = agent.state().unwrap();
    // After one update (update_freq 2) the target is still the initial copy, the online moved.
    let moved = s1
        .online
        .iter()
        .zip(s0.online.iter())
        .any(|((_, a), (_, b))| a.data != b.data);
    assert!(moved, "the update changed no online parameter");
    for ((_, a), (_, b)) in s1.target.iter().zip(s0.target.iter()) {
        assert_eq!(a.data, b.data, "target changed before update_freq updates");
    }
    agent.update(&batch(&c, 7), None).unwrap();
    let s2 = agent.state().unwrap();
    for (((name, tg), (_, old)), (_, on)) in
        s2.target.iter().zip(s1.target.iter()).zip(s2.online.iter())
    {
        for ((&t, &o), &p) in tg.data.iter().zip(&old.data).zip(&on.data) {
            let want = 0.75 * o + 0.25 * p;
            assert!(
                (t - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: target {t}, want {want}"
            );
        }
    }
}

#[test]
fn policy_update_trains_only_pi_and_the_told_update_leaves_pi_alone() {
    let c = tiny(Dynamics::Mlp);
    let told = perturbed(c.clone(), 8);
    let names: Vec<String> = told.params().iter().map(|(n, _)| n.to_string()).collect();
    let mut agent = Agent::new(told, Cpu::default(), PlannerConfig::tdmpc(c.horizon), 0).unwrap();
    let s0 = agent.state().unwrap();
    agent.update(&batch(&c, 9), None).unwrap();
    let s1 = agent.state().unwrap();
    for (i, name) in names.iter().enumerate() {
        let (a, b) = (
            &s0.online.iter().nth(i).unwrap().1.data,
            &s1.online.iter().nth(i).unwrap().1.data,
        );
        assert_ne!(a, b, "{name} did not change");
    }
    // π's moments are π's update's only: its first step is 1 and TOLD's is 1, counted apart.
    assert_eq!((s1.model_steps, s1.policy_steps, s1.updates), (1, 1, 1));
}

#[test]
fn a_nan_in_the_batch_is_a_clear_error_not_a_silent_update() {
    let c = tiny(Dynamics::Mlp);
    let told = perturbed(c.clone(), 10);
    let mut agent = Agent::new(told, Cpu::default(), PlannerConfig::tdmpc(c.horizon), 0).unwrap();
    let before = agent.state().unwrap();
    let mut bt = batch(&c, 11);
    bt.rewards[2] = f32::NAN;
    let e = agent.update(&bt, None).unwrap_err().to_string();
    assert!(e.contains("reward value 2 of the batch is NaN"), "{e}");
    let after = agent.state().unwrap();
    for ((_, a), (_, b)) in before.online.iter().zip(after.online.iter()) {
        assert_eq!(a.data, b.data, "a failed update changed the parameters");
    }
    bt.rewards[2] = 0.0;
    bt.rewards.pop();
    let e = agent.update(&bt, None).unwrap_err().to_string();
    assert!(e.contains("rewards"), "{e}");
}

/// A run small enough for a test: tiny networks, a small planner, few updates.
fn small_run(agent: &str, env_steps: u64) -> RunConfig {
    let mut c = RunConfig::new(agent, "cartpole-swingup").unwrap();
    c.env_steps = env_steps;
    c.seed_steps = 250;
    c.eval_every = 4000;
    c.eval_episodes = 2;
    c.checkpoint_every = 2;
    if let Some(sac) = c.sac.as_mut() {
        sac.batch = 128;
        sac.hidden = 128;
        sac.lr = 1e-3;
        return c;
    }
    let t = c.told_mut().unwrap();
    t.batch = 64;
    t.mlp_dim = 64;
    t.enc_dim = 64;
    let h = t.plan_horizon();
    c.planner = Some(PlannerConfig {
        samples: 64,
        elites: 8,
        policy_trajectories: 4,
        ..PlannerConfig::tdmpc(h)
    });
    c
}

fn opts(dir: &std::path::Path, resume: bool, stop_after: Option<u64>) -> RunOptions {
    RunOptions {
        out: dir.to_path_buf(),
        resume,
        progress: false,
        stop_after,
    }
}

/// The curves without the wall-clock column.
fn curves(dir: &std::path::Path) -> (String, String) {
    let train = std::fs::read_to_string(dir.join("train.csv")).unwrap();
    let train = train
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    (
        train,
        std::fs::read_to_string(dir.join("eval.csv")).unwrap(),
    )
}

/// Runs `cfg` straight through and, in a second folder, stopped after 3,000 env steps and resumed
/// from the checkpoint; the two must write the same curves. Returns the straight run's folder.
fn assert_resume_is_exact(cfg: &RunConfig) -> tempfile::TempDir {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run::train(cfg.clone(), Cpu::default(), &opts(a.path(), false, None)).unwrap();
    let stopped = opts(b.path(), false, Some(3000));
    run::train(cfg.clone(), Cpu::default(), &stopped).unwrap();
    let s = run::train(cfg.clone(), Cpu::default(), &opts(b.path(), true, None)).unwrap();
    assert_eq!(s.env_steps, cfg.env_steps);
    assert_eq!(
        curves(a.path()),
        curves(b.path()),
        "a resumed run differs from an uninterrupted one"
    );
    a
}

#[test]
fn the_same_seed_gives_the_same_run_and_resume_continues_it_exactly() {
    let cfg = small_run("tdmpc", 5000);
    // Interrupted after 3 episodes (with updates done), then resumed from the checkpoint.
    let a = assert_resume_is_exact(&cfg);
    let c = tempfile::tempdir().unwrap();
    run::train(cfg, Cpu::default(), &opts(c.path(), false, None)).unwrap();
    assert_eq!(
        curves(a.path()),
        curves(c.path()),
        "the same seed gave a different run"
    );
}

/// SAC with the actor updated every other update (as from pixels), stopped at an odd update count
/// (125) and resumed: its curves equal an uninterrupted run's. The actor's loss reported between
/// actor updates is its last one, which the checkpoint does not hold; each episode's row takes the
/// stats of its last update, after an actor update in the same episode.
#[test]
fn a_resumed_sac_run_with_sparse_actor_updates_continues_exactly() {
    let mut cfg = small_run("sac", 4000);
    cfg.sac.as_mut().unwrap().actor_every = 2;
    assert_resume_is_exact(&cfg);
}

#[test]
fn resume_refuses_a_checkpoint_of_another_run() {
    let cfg = small_run("tdmpc", 2000);
    let d = tempfile::tempdir().unwrap();
    run::train(cfg.clone(), Cpu::default(), &opts(d.path(), false, None)).unwrap();
    let mut other = small_run("tdmpc", 2000);
    other.task = "pendulum-swingup".into();
    other.action_repeat = 4;
    let told = other.told().unwrap().clone();
    let mut other = RunConfig {
        told: Some(TdmpcConfig {
            obs_dim: 3,
            act_dim: 1,
            ..told
        }),
        ..other
    };
    other.told_mut().unwrap().horizon = cfg.told().unwrap().horizon;
    let e = run::train(other, Cpu::default(), &opts(d.path(), true, None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("checkpoint.safetensors") && e.contains("cartpole-swingup"),
        "{e}"
    );
}

#[test]
fn bad_run_settings_are_clear_errors() {
    let e = RunConfig::new("dreamer", "cartpole-swingup")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown agent 'dreamer'") && e.contains("koopman-tdmpc"),
        "{e}"
    );
    let e = RunConfig::new("tdmpc", "cartpole-balance")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown environment") && e.contains("cartpole-swingup"),
        "{e}"
    );
    let mut c = small_run("tdmpc", 2000);
    c.action_repeat = 0;
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("action repeat 0"));
    let mut c = small_run("tdmpc", 2000);
    c.told_mut().unwrap().horizon = 200;
    c.planner = Some(PlannerConfig::tdmpc(200));
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("horizon 200 is longer than an episode of 125"),
        "{e}"
    );
}

/// The evaluation return after a short run, and the one before training.
fn learn(agent: &str) -> (f64, f64) {
    let d = tempfile::tempdir().unwrap();
    let s = run::train(
        small_run(agent, 12000),
        Cpu::default(),
        &opts(d.path(), false, None),
    )
    .unwrap();
    let eval = std::fs::read_to_string(d.path().join("eval.csv")).unwrap();
    let first: f64 = eval
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    eprintln!(
        "{agent}: evaluation return {first:.1} before training, {:.1} after",
        s.final_eval_return
    );
    (first, s.final_eval_return)
}

/// What "above random" means for the smoke runs on cartpole-swingup: held random actions score
/// 120.4, against ≈ 10–100 for an untrained greedy policy (the reward's smooth terms pay for
/// swinging the pole).
fn random_return() -> f64 {
    let c = RunConfig::new("tdmpc", "cartpole-swingup").unwrap();
    held_random::random_return("cartpole-swingup", c.action_repeat)
}

/// A smoke run must beat the untrained agent by 100, reach `floor`, and beat random actions.
fn assert_learned(agent: &str, floor: f64) {
    let (before, after) = learn(agent);
    let random = random_return();
    eprintln!("{agent}: uniform random actions return {random:.1}");
    assert!(
        after > before + 100.0 && after > floor && after > random,
        "{agent}: return {before:.1} → {after:.1} (random actions {random:.1})"
    );
}

#[test]
fn tdmpc_return_rises_above_random_on_cartpole_swingup() {
    assert_learned("tdmpc", 200.0);
}

#[test]
fn koopman_tdmpc_return_rises_above_random_on_cartpole_swingup() {
    assert_learned("koopman-tdmpc", 200.0);
}

/// The update and a plan on the CUDA backend (the GPU, or the emulated device under
/// KOOPMAN_CUDA=emu) against the CPU: the same loss terms and the same parameters after it.
#[cfg(feature = "cuda")]
#[test]
fn update_and_plan_on_cuda_match_the_cpu() {
    let Some(dev) = common::cuda_device() else {
        return;
    };
    for dynamics in [Dynamics::Mlp, tiny_koopman()] {
        let c = tiny(dynamics);
        let told = perturbed(c.clone(), 12);
        let bt = batch(&c, 13);
        let mut cpu = Agent::new(
            told.clone(),
            Cpu::default(),
            PlannerConfig::tdmpc(c.horizon),
            0,
        )
        .unwrap();
        let cuda = koopman::backend::Cuda::new(dev);
        let mut gpu = Agent::new(told, cuda, PlannerConfig::tdmpc(c.horizon), 0).unwrap();
        let (a, b) = (
            cpu.update(&bt, None).unwrap(),
            gpu.update(&bt, None).unwrap(),
        );
        for (name, x, y) in [
            ("consistency", a.terms.consistency, b.terms.consistency),
            ("reward", a.terms.reward, b.terms.reward),
            ("value", a.terms.value, b.terms.value),
            ("policy", a.policy, b.policy),
            ("grad norm", a.grad_norm, b.grad_norm),
        ] {
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                "{name}: cpu {x}, cuda {y}"
            );
        }
        let (sa, sb) = (cpu.state().unwrap(), gpu.state().unwrap());
        for (((name, x), (_, y)), ((_, tx), (_, ty))) in sa
            .online
            .iter()
            .zip(sb.online.iter())
            .zip(sa.target.iter().zip(sb.target.iter()))
        {
            common::assert_scaled(name, &y.data, &x.data, 1e-4);
            common::assert_scaled(name, &ty.data, &tx.data, 1e-4);
        }
        let obs = [0.1, -0.3, 0.5];
        let at = koopman::planner::PlanStep {
            step: 1 << 30,
            episode_start: true,
            explore: false,
        };
        let act = gpu.act(&obs, at).unwrap();
        assert!(
            act.len() == 2 && act.iter().all(|x| x.is_finite() && x.abs() <= 1.0),
            "{act:?}"
        );
    }
}

/// `koopman rl train` with bad settings: a non-zero exit, a message naming the problem, and no
/// run folder written.
#[test]
fn rl_train_cli_refuses_bad_settings_before_writing_anything() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let cases: [(&[&str], &str); 10] = [
        (&["--agent", "dreamer"], "unknown agent 'dreamer'"),
        (&["--env", "cartpole-balance"], "unknown environment"),
        (&["--action-repeat", "0"], "action repeat 0"),
        (&["--horizon", "200"], "longer than an episode"),
        (
            &["--modes", "8"],
            "--modes applies to --agent koopman-tdmpc only",
        ),
        (
            &["--init-alpha", "1"],
            "--init-alpha applies to the SAC agents, not --agent tdmpc",
        ),
        (
            &["--agent", "sac", "--lr", "0"],
            "sac: lr 0 must be finite and > 0",
        ),
        (&["--tau", "nan"], "agent: tau NaN must be in (0, 1]"),
        (
            &["--plan-horizon", "6"],
            "planner horizon 6 is longer than the training horizon 5",
        ),
        (
            &["--agent", "sac", "--plan-horizon", "3"],
            "--plan-horizon applies to the TD-MPC agents, not --agent sac",
        ),
    ];
    let o = out.to_str().unwrap();
    for (args, want) in cases {
        let err = rl_fails(&[&["rl", "train", "--out", o], args].concat());
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} created the run folder");
    }
    // Resuming where no run was written names the missing checkpoint (and writes nothing).
    let err = rl_fails(&["rl", "train", "--resume", "--device", "cpu", "--out", o]);
    assert!(err.contains("checkpoint.safetensors"), "{err}");
    assert!(!out.exists(), "--resume created the run folder");
}

/// A model trained over H steps may plan over fewer (`--plan-horizon`), never over more.
#[test]
fn the_planner_may_look_less_far_than_the_model_was_trained_but_not_further() {
    for dynamics in [Dynamics::Mlp, tiny_koopman()] {
        let c = tiny(dynamics);
        let at = koopman::planner::PlanStep {
            step: 1 << 30,
            episode_start: true,
            explore: false,
        };
        let told = perturbed(c.clone(), 15);
        let mut agent =
            Agent::new(told.clone(), Cpu::default(), PlannerConfig::tdmpc(2), 0).unwrap();
        agent.update(&batch(&c, 16), None).unwrap();
        let act = agent.act(&[0.1, 0.2, 0.3], at).unwrap();
        assert!(act.iter().all(|x| x.is_finite()), "{act:?}");
        assert_eq!(
            agent.planner().mean().len(),
            2 * c.act_dim,
            "planned 2 steps"
        );
        let e = Agent::new(told, Cpu::default(), PlannerConfig::tdmpc(4), 0)
            .err()
            .expect("a planner horizon of 4 over a model trained for 3 was accepted")
            .to_string();
        assert!(
            e.contains("planner horizon 4 is longer than the training horizon 3"),
            "{e}"
        );
    }
}

/// A long run's memory does not grow: once warm, updates and plans reuse their buffers.
#[test]
fn warm_updates_and_plans_hold_a_constant_number_of_buffers() {
    for dynamics in [Dynamics::Mlp, tiny_koopman()] {
        let c = tiny(dynamics);
        let told = perturbed(c.clone(), 14);
        let mut agent =
            Agent::new(told, Cpu::default(), PlannerConfig::tdmpc(c.horizon), 0).unwrap();
        let at = koopman::planner::PlanStep {
            step: 1 << 30,
            episode_start: false,
            explore: true,
        };
        let step = |agent: &mut Agent<Cpu>, k: u64| {
            agent.update(&batch(&c, 20 + k), None).unwrap();
            agent.act(&[0.1, 0.2, 0.3], at).unwrap();
        };
        for k in 0..3 {
            step(&mut agent, k);
        }
        let warm = agent.pooled_buffers();
        for k in 3..20 {
            step(&mut agent, k);
        }
        assert_eq!(
            agent.pooled_buffers(),
            warm,
            "buffers pile up across updates"
        );
    }
}

/// The three `koopman rl` commands together: a tiny run, a replay of its checkpoint, and an rliable
/// report of the run folder (the formats the trainer writes are the ones the report reads).
#[test]
fn rl_train_then_eval_then_report() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("runs").join("tiny-s0");
    let koopman = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_koopman"))
            .args(args)
            .output()
            .unwrap();
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        );
        assert!(o.status.success(), "{args:?}: {err}");
        out
    };
    let r = run.to_str().unwrap();
    let out = koopman(&[
        "rl",
        "train",
        "--agent",
        "koopman-tdmpc",
        "--env",
        "cartpole-swingup",
        "--steps",
        "2000",
        "--seed-steps",
        "125",
        "--eval-every",
        "1000",
        "--eval-episodes",
        "1",
        "--horizon",
        "3",
        "--batch",
        "16",
        "--mlp-dim",
        "16",
        "--enc-dim",
        "16",
        "--modes",
        "4",
        "--samples",
        "16",
        "--elites",
        "4",
        "--policy-trajectories",
        "2",
        "--iterations",
        "2",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        r,
    ]);
    assert!(out.contains("final evaluation return"), "{out}");
    for f in [
        "train.csv",
        "eval.csv",
        "curve.png",
        "run.json",
        "checkpoint.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let eval = |extra: &[&str]| {
        let args = [
            &[
                "rl",
                "eval",
                "--ckpt",
                r,
                "--episodes",
                "1",
                "--device",
                "cpu",
            ],
            extra,
        ];
        koopman(&args.concat())
    };
    let out = eval(&[]);
    assert!(
        out.contains("koopman-tdmpc on cartpole-swingup (2000 env steps trained): return"),
        "{out}"
    );
    // The same agent planning 2 steps ahead instead of its training horizon of 3.
    assert!(eval(&["--plan-horizon", "2"]).contains("return"));
    let err = rl_fails(&["rl", "eval", "--ckpt", r, "--plan-horizon", "4"]);
    assert!(
        err.contains("planner horizon 4 is longer than the training horizon 3"),
        "{err}"
    );
    let rep = d.path().join("report");
    koopman(&[
        "rl",
        "report",
        d.path().join("runs").to_str().unwrap(),
        "--out",
        rep.to_str().unwrap(),
        "--reps",
        "200",
    ]);
    let json = std::fs::read_to_string(rep.join("report.json")).unwrap();
    assert!(
        json.contains("koopman-tdmpc") && json.contains("cartpole-swingup"),
        "{json}"
    );

    // The run's replay buffer as a dataset: 2000 env steps at action repeat 8 are 2 episodes of 125
    // agent steps, each row's next observation the following row's observation within an episode.
    let replay = d.path().join("replay.npz");
    let out = koopman(&[
        "rl",
        "export",
        "--ckpt",
        r,
        "--out",
        replay.to_str().unwrap(),
    ]);
    assert!(out.contains("250 transitions (2 episodes"), "{out}");
    let ds = koopman::data::load_states(&replay).unwrap();
    let (od, next) = (ds.obs_dim, ds.next_observations.as_ref().unwrap());
    assert_eq!(ds.len(), 250);
    assert_eq!(
        (ds.timeouts.iter().filter(|&&t| t).count(), ds.timeouts[124]),
        (2, true)
    );
    assert!(!ds.terminals.iter().any(|&t| t));
    for i in (0..249).filter(|&i| i != 124) {
        assert_eq!(
            next[i * od..(i + 1) * od],
            ds.observations[(i + 1) * od..(i + 2) * od]
        );
    }

    // The trained agent as a data-collection policy: its task by default, each planned action held
    // for the task's action repeat (8) without noise, and varying within the hold with --noise.
    let collect = |noise: &str, out: &std::path::Path| {
        let mut args = vec![
            "collect",
            "--policy",
            r,
            "--episodes",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        if !noise.is_empty() {
            args.extend(["--noise", noise]);
        }
        koopman(&args)
    };
    let held = |path: &std::path::Path| {
        let ds = koopman::data::load_states(path).unwrap();
        assert_eq!(ds.len(), 1000);
        (0..999)
            .filter(|t| t % 8 != 7)
            .all(|t| ds.actions[t] == ds.actions[t + 1])
    };
    let clean = d.path().join("agent.npz");
    let out = collect("", &clean);
    assert!(
        out.contains("1000 transitions") && out.contains("episode return"),
        "{out}"
    );
    assert!(held(&clean), "the agent's actions are not held for 8 steps");
    let noisy = d.path().join("agent-noisy.npz");
    collect("0.2", &noisy);
    assert!(!held(&noisy), "--noise 0.2 left the actions unchanged");
    let other = d.path().join("other.npz");
    let other = other.to_str().unwrap();
    let err = rl_fails(&[
        "collect",
        "--policy",
        r,
        "--env",
        "acrobot-swingup",
        "--out",
        other,
    ]);
    assert!(err.contains("trained on cartpole-swingup"), "{err}");
    assert!(!d.path().join("other.npz").exists());

    // A damaged checkpoint or a NaN σ: a clear error naming the file or flag, nothing written.
    let bytes = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    let cut = d.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let fails = |args: &[&str], needle: &str| {
        let err = rl_fails(args);
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    let out = d.path().join("never.npz");
    let out = out.to_str().unwrap();
    let cut = cut.to_str().unwrap();
    fails(
        &["collect", "--policy", cut, "--out", out],
        "cut.safetensors",
    );
    fails(
        &["rl", "export", "--ckpt", cut, "--out", out],
        "cut.safetensors",
    );
    fails(
        &["collect", "--policy", r, "--noise", "nan", "--out", out],
        "--noise NaN",
    );
    assert!(!std::path::Path::new(out).exists());
}

#[test]
fn sac_return_rises_above_random_on_cartpole_swingup() {
    assert_learned("sac", 200.0);
}

/// SAC + SPR and Koopman SPR from states: the runner's K-step windows and the prediction loss
/// beside SAC's (from states it shapes no encoder, so this checks the plumbing and that SAC still
/// learns).
fn spr_rises_above_random(agent: &str) {
    assert_learned(agent, 150.0);
}

#[test]
fn sac_spr_return_rises_above_random_on_cartpole_swingup() {
    spr_rises_above_random("sac-spr");
}

#[test]
fn koopman_spr_return_rises_above_random_on_cartpole_swingup() {
    spr_rises_above_random("koopman-spr");
}

/// Runs `koopman` with `args`, which must fail without a panic; its stderr.
fn rl_fails(args: &[&str]) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_koopman"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success(), "{args:?} succeeded: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

/// `rl eval --plan-horizon` on a SAC run names the flag's agents instead of a missing section.
#[test]
fn rl_eval_refuses_a_plan_horizon_for_a_sac_run() {
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("sac");
    let r = run.to_str().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_koopman"))
        .args(["rl", "train", "--agent", "sac", "--env", "cartpole-swingup"])
        .args([
            "--steps",
            "160",
            "--seed-steps",
            "80",
            "--batch",
            "4",
            "--mlp-dim",
            "8",
        ])
        .args([
            "--eval-episodes",
            "1",
            "--device",
            "cpu",
            "--quiet",
            "--out",
            r,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = rl_fails(&["rl", "eval", "--ckpt", r, "--plan-horizon", "2"]);
    assert!(
        err.contains("--plan-horizon applies to the TD-MPC agents; this run is agent 'sac'")
            && err.contains("checkpoint.safetensors"),
        "{err}"
    );
}
