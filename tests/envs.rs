//! Built-in environments: physics sanity, reward bounds, determinism, specs and episode limits.

use koopman::envs::{make, Acrobot, Cartpole, Env, Pendulum, EPISODE_STEPS, NAMES};
use koopman::util::rng::Rng;

/// The pure-Rust dm_control ports; `NAMES` also lists the MuJoCo tasks when the `mujoco` feature
/// is on (those have their own tests in `tests/mujoco_envs.rs` and `tests/mujoco_dmc.rs`).
const DMC: &[&str] = &[
    "pendulum-swingup",
    "acrobot-swingup",
    "cartpole-swingup",
    "point_mass-easy",
];

/// Uniform random actions in [-1, 1] from a seeded stream.
fn random_action(rng: &mut Rng, dim: usize) -> Vec<f32> {
    (0..dim).map(|_| rng.range(-1.0, 1.0) as f32).collect()
}

#[test]
fn every_name_builds_and_matches_its_spec() {
    let expected = [
        ("pendulum-swingup", 3, 1),
        ("acrobot-swingup", 6, 1),
        ("cartpole-swingup", 5, 1),
        ("point_mass-easy", 4, 2),
    ];
    assert_eq!(DMC.len(), expected.len());
    assert_eq!(
        NAMES.len(),
        DMC.len() + if cfg!(feature = "mujoco") { 11 } else { 0 }
    );
    for (name, obs_dim, act_dim) in expected {
        assert!(NAMES.contains(&name));
        let mut env = make(name).unwrap();
        assert_eq!(env.name(), name);
        let spec = env.spec();
        assert_eq!((spec.obs_dim, spec.act_dim), (obs_dim, act_dim), "{name}");
        assert_eq!(env.reset(3).len(), obs_dim, "{name}");
        let step = env.step(&vec![0.5; act_dim]);
        assert_eq!(step.obs.len(), obs_dim, "{name}");
        assert!(step.obs.iter().all(|x| x.is_finite()), "{name}");
    }
}

#[test]
fn unknown_name_lists_known_envs() {
    let err = make("humanoid-run")
        .err()
        .expect("unknown name must be an error");
    assert!(err.contains("humanoid-run"));
    for name in NAMES {
        assert!(err.contains(name), "{err}");
    }
}

#[test]
fn truncates_at_episode_limit() {
    for name in DMC {
        let mut env = make(name).unwrap();
        let act = vec![0.0; env.spec().act_dim];
        env.reset(1);
        for t in 1..=EPISODE_STEPS {
            let step = env.step(&act);
            assert!(!step.terminated, "{name}");
            assert_eq!(step.truncated, t == EPISODE_STEPS, "{name} step {t}");
        }
        // A reset starts a fresh episode.
        env.reset(2);
        assert!(!env.step(&act).truncated, "{name}");
    }
}

#[test]
fn rewards_stay_in_unit_interval_under_random_actions() {
    for name in DMC {
        let mut env = make(name).unwrap();
        let dim = env.spec().act_dim;
        let mut rng = Rng::new(7);
        let mut obs = vec![0.0; env.spec().obs_dim];
        for episode in 0..3 {
            env.reset_into(episode, &mut obs);
            for _ in 0..EPISODE_STEPS {
                let (r, _, _) = env.step_into(&random_action(&mut rng, dim), &mut obs);
                assert!((0.0..=1.0).contains(&r), "{name}: reward {r}");
                assert!(obs.iter().all(|x| x.is_finite()), "{name}: {obs:?}");
            }
        }
    }
}

#[test]
fn out_of_range_and_malformed_actions_are_tolerated() {
    for name in DMC {
        let mut a = make(name).unwrap();
        let mut b = make(name).unwrap();
        let dim = a.spec().act_dim;
        a.reset(5);
        b.reset(5);
        for _ in 0..50 {
            // Clamping: 7 acts as 1, -3 as -1; NaN and missing components act as 0.
            let big = a.step(&vec![7.0; dim]);
            let one = b.step(&vec![1.0; dim]);
            assert_eq!(big, one, "{name}");
            let odd = a.step(&[f32::NAN]);
            let zero = b.step(&vec![0.0; dim]);
            assert_eq!(odd, zero, "{name}");
        }
    }
}

#[test]
fn same_seed_same_trajectory_and_seeds_differ() {
    let rollout = |name: &str, seed: u64| {
        let mut env = make(name).unwrap();
        let dim = env.spec().act_dim;
        let mut rng = Rng::new(11);
        let mut trace = env.reset(seed);
        for _ in 0..200 {
            let step = env.step(&random_action(&mut rng, dim));
            trace.extend(step.obs);
            trace.push(step.reward);
        }
        trace
    };
    for name in DMC {
        let a = rollout(name, 42);
        assert_eq!(a, rollout(name, 42), "{name}");
        assert_ne!(a, rollout(name, 43), "{name}");
    }
}

#[test]
fn reset_reseeds_regardless_of_history() {
    for name in DMC {
        let mut env = make(name).unwrap();
        let first = env.reset(9);
        env.step(&vec![1.0; env.spec().act_dim]);
        env.reset(123);
        assert_eq!(env.reset(9), first, "{name}");
    }
}

#[test]
fn initial_states_follow_dm_control() {
    // cartpole hangs down near the centre; pendulum and acrobot angles cover [-pi, pi).
    let mut env = make("cartpole-swingup").unwrap();
    for seed in 0..20 {
        let obs = env.reset(seed);
        assert!(
            obs[0].abs() < 0.1 && obs[1] < -0.99 && obs[3].abs() < 0.1 && obs[4].abs() < 0.1,
            "{obs:?}"
        );
    }
    let mut env = make("point_mass-easy").unwrap();
    for seed in 0..20 {
        let obs = env.reset(seed);
        assert!(obs[0].abs() <= 0.29 && obs[1].abs() <= 0.29 && obs[2] == 0.0 && obs[3] == 0.0);
    }
    let mut env = make("pendulum-swingup").unwrap();
    let cosines: Vec<f32> = (0..200).map(|s| env.reset(s)[0]).collect();
    assert!(cosines.iter().any(|&c| c > 0.9) && cosines.iter().any(|&c| c < -0.9));
}

/// Largest one-step energy change over a rollout (positive means a rise), and the total change.
fn energy_trace(mut energy_after_step: impl FnMut() -> f64, e0: f64, steps: usize) -> (f64, f64) {
    let mut prev = e0;
    let mut worst_rise = f64::NEG_INFINITY;
    for _ in 0..steps {
        let e = energy_after_step();
        worst_rise = worst_rise.max(e - prev);
        prev = e;
    }
    (worst_rise, prev - e0)
}

#[test]
fn acrobot_energy_never_increases_without_control() {
    let mut env = Acrobot::new();
    let mut obs = [0.0; 6];
    for seed in 0..10 {
        env.reset_into(seed, &mut obs);
        let e0 = env.energy();
        let (rise, total) = energy_trace(
            || {
                env.step_into(&[0.0], &mut obs);
                env.energy()
            },
            e0,
            EPISODE_STEPS as usize,
        );
        // RK4's truncation error is ~1e-10 per step; damping removes far more over an episode.
        assert!(rise < 1e-8, "seed {seed}: energy rose by {rise}");
        assert!(total < 0.0, "seed {seed}: total change {total}");
    }
}

#[test]
fn pendulum_energy_never_increases_without_control() {
    let mut env = Pendulum::new();
    let mut obs = [0.0; 3];
    for seed in 0..20 {
        env.reset_into(seed, &mut obs);
        let e0 = env.energy();
        let (rise, total) = energy_trace(
            || {
                env.step_into(&[0.0], &mut obs);
                env.energy()
            },
            e0,
            EPISODE_STEPS as usize,
        );
        // Semi-implicit Euler's O(h) energy oscillation is smaller than what damping removes
        // (h^2 w0^2 < 2 h b / I for these constants), so the decrease is strict.
        assert!(rise <= 0.0, "seed {seed}: energy rose by {rise}");
        assert!(total < 0.0, "seed {seed}: total change {total}");
    }
}

#[test]
fn cartpole_energy_never_increases_without_control() {
    let mut env = Cartpole::new();
    let mut obs = [0.0; 5];
    // Start off the bottom so the pole swings; the cart stays well inside the rail.
    env.reset_into(0, &mut obs);
    env.set_state([0.0, 2.0, 0.0, 0.0]);
    let e0 = env.energy();
    let (rise, total) = energy_trace(
        || {
            env.step_into(&[0.0], &mut obs);
            env.energy()
        },
        e0,
        EPISODE_STEPS as usize,
    );
    assert!(env.state()[0].abs() < 1.8);
    assert!(rise < 1e-8, "energy rose by {rise}");
    assert!(total <= 0.0, "total change {total}");
}

#[test]
fn pendulum_small_angle_period() {
    // Hanging down is theta = pi; small oscillations have period 2 pi sqrt(I / (m g l)).
    let mut env = Pendulum::new();
    let mut obs = [0.0; 3];
    env.set_state(std::f64::consts::PI + 0.05, 0.0);
    let expected = std::f64::consts::TAU * (koopman::envs::pendulum::INERTIA / (9.81 * 0.5)).sqrt();
    // Times of downward zero crossings of the deviation, linearly interpolated.
    let dt = 0.02;
    let mut crossings = Vec::new();
    let mut prev = env.state().0 - std::f64::consts::PI;
    for k in 1..=400 {
        env.step_into(&[0.0], &mut obs);
        let dev = env.state().0 - std::f64::consts::PI;
        if prev > 0.0 && dev <= 0.0 {
            crossings.push(dt * (k as f64 - 1.0 + prev / (prev - dev)));
        }
        prev = dev;
    }
    assert!(crossings.len() >= 4, "{crossings:?}");
    let periods = crossings.len() - 1;
    let measured = (crossings[periods] - crossings[0]) / periods as f64;
    let rel = (measured - expected).abs() / expected;
    assert!(rel < 0.02, "period {measured} vs {expected} (rel {rel})");
}

#[test]
fn pendulum_reward_is_sparse_upright_indicator() {
    let mut env = Pendulum::new();
    let mut obs = [0.0; 3];
    env.set_state(0.0, 0.0);
    let (r_up, _, _) = env.step_into(&[0.0], &mut obs);
    env.set_state(std::f64::consts::PI, 0.0);
    let (r_down, _, _) = env.step_into(&[0.0], &mut obs);
    assert_eq!((r_up, r_down), (1.0, 0.0));
}

#[test]
fn fast_path_is_fast() {
    // Throughput smoke test: far above the 50k steps/s target in release builds; the bound is
    // loose so that debug builds and busy machines still pass.
    for name in DMC {
        let mut env = make(name).unwrap();
        let mut obs = vec![0.0; env.spec().obs_dim];
        let act = vec![0.3; env.spec().act_dim];
        env.reset_into(0, &mut obs);
        let n = 20_000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            env.step_into(&act, &mut obs);
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        eprintln!("{name}: {rate:.0} steps/s");
        assert!(rate > 20_000.0, "{name}: {rate:.0} steps/s");
    }
}

/// Action schedules shared with `scripts/envs_vs_mujoco.py`: constant push, 0.5 Hz bang-bang, and
/// a hash-based pseudo-random sequence (0, 1, 2).
fn schedule(kind: usize, t: usize, j: usize) -> f32 {
    let v = match kind {
        0 => 1.0,
        1 if (std::f64::consts::PI * t as f64 * 0.01).sin() >= 0.0 => 1.0,
        1 => -1.0,
        _ => {
            let x = ((t * 7 + j * 13) as f64 * 12.9898).sin() * 43758.5453;
            (x - x.floor()) * 2.0 - 1.0
        }
    };
    v as f32
}

/// Writes trajectories from fixed states under fixed action schedules for the libmujoco
/// cross-check (`KOOPMAN_ENVS_DUMP=dir cargo test --release --test envs -- --ignored`, then
/// `python scripts/envs_vs_mujoco.py dir`).
#[test]
#[ignore = "writes files for scripts/envs_vs_mujoco.py"]
fn dump_trajectories_for_mujoco_crosscheck() {
    use koopman::envs::PointMass;
    use std::fmt::Write as _;
    let Ok(dir) = std::env::var("KOOPMAN_ENVS_DUMP") else {
        return;
    };
    let steps = 2000;
    let save =
        |name: String, rows: String| std::fs::write(format!("{dir}/{name}.csv"), rows).unwrap();
    for kind in 0..3 {
        let mut rows = String::new();
        let mut env = Cartpole::new();
        env.set_state([0.1, 3.0, 0.05, -0.2]);
        let mut obs = [0.0; 5];
        for t in 0..steps {
            env.step_into(&[schedule(kind, t, 0)], &mut obs);
            let [a, b, c, d] = env.state();
            writeln!(rows, "{a:e},{b:e},{c:e},{d:e}").unwrap();
        }
        save(format!("cartpole_{kind}"), rows);

        let mut rows = String::new();
        let mut env = Acrobot::new();
        env.set_state([0.7, -2.0, 0.0, 0.0]);
        let mut obs = [0.0; 6];
        for t in 0..steps {
            env.step_into(&[schedule(kind, t, 0)], &mut obs);
            let [a, b, c, d] = env.state();
            writeln!(rows, "{a:e},{b:e},{c:e},{d:e}").unwrap();
        }
        save(format!("acrobot_{kind}"), rows);

        let mut rows = String::new();
        let mut env = Pendulum::new();
        env.set_state(2.5, 0.0);
        let mut obs = [0.0; 3];
        for t in 0..steps {
            env.step_into(&[schedule(kind, t, 0)], &mut obs);
            let (a, b) = env.state();
            writeln!(rows, "{a:e},{b:e}").unwrap();
        }
        save(format!("pendulum_{kind}"), rows);

        let mut rows = String::new();
        let mut env = PointMass::new();
        env.set_state([0.2, -0.1], [0.0, 0.0]);
        let mut obs = [0.0; 4];
        for t in 0..steps {
            env.step_into(&[schedule(kind, t, 0), -schedule(kind, t, 1)], &mut obs);
            let ([a, b], [c, d]) = env.state();
            writeln!(rows, "{a:e},{b:e},{c:e},{d:e}").unwrap();
        }
        save(format!("point_mass_{kind}"), rows);
    }
}
