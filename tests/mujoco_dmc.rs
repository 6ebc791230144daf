//! The dm_control suite tasks on MuJoCo (cheetah-run, walker-walk, quadruped-walk/run, acrobot- and
//! cartpole-swingup, ball_in_cup-catch, finger-spin) against dm_control itself (feature `mujoco`; run `scripts/setup-mujoco.sh`
//! first). The fixtures are written by `scripts/record_dmc_fixtures.py` with dm_control 1.0.50
//! and mujoco 3.17.0: same XML, same library, same start state (set with `reset_context`) and
//! actions ⇒ the Rust port must reproduce qpos, qvel, observations and rewards bit for bit.
#![cfg(feature = "mujoco")]

use koopman::envs::mujoco::{
    DmcAcrobotSwingup, DmcBallInCupCatch, DmcCartpoleSwingup, DmcCheetahRun, DmcFingerSpin,
    DmcQuadruped, DmcWalkerWalk, QuadrupedTask, StepF64,
};
use koopman::envs::{make, Env, EPISODE_STEPS, NAMES};
use koopman::rl::run::action_repeat;
use serde_json::Value;

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array of hex bit patterns")
        .iter()
        .map(|x| f64::from_bits(u64::from_str_radix(x.as_str().unwrap(), 16).unwrap()))
        .collect()
}

fn f64_of(v: &Value) -> f64 {
    f64::from_bits(u64::from_str_radix(v.as_str().unwrap(), 16).unwrap())
}

fn fixture(file: &str) -> Value {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

trait Port: Env + Sized {
    const FIXTURE: &'static str;
    /// Observation components compared to within `LOOSE_ULPS` instead of bit for bit.
    const LOOSE: std::ops::Range<usize> = 0..0;
    const LOOSE_ULPS: u64 = 0;
    /// How far the reward may be from dm_control's, in ulps.
    const REWARD_ULPS: u64 = 0;
    fn load() -> Self;
    fn dt(&self) -> f64;
    fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]);
    fn step_f64(&mut self, action: &[f64]) -> StepF64;
    fn observe_f64(&self, obs: &mut [f64]);
    fn qpos(&self) -> &[f64];
    fn qvel(&self) -> &[f64];
}

macro_rules! port {
    ($ty:ty, $file:literal) => {
        port!($ty, $file, <$ty>::new().unwrap(), 0, 0..0, 0);
    };
    ($ty:ty, $file:literal, reward_ulps = $ulps:literal) => {
        port!($ty, $file, <$ty>::new().unwrap(), $ulps, 0..0, 0);
    };
    ($ty:ty, $file:literal, loose = $loose:expr, loose_ulps = $loose_ulps:literal) => {
        port!($ty, $file, <$ty>::new().unwrap(), 0, $loose, $loose_ulps);
    };
    ($ty:ty, $file:literal, $load:expr, $ulps:literal, $loose:expr, $loose_ulps:literal) => {
        impl Port for $ty {
            const FIXTURE: &'static str = $file;
            const REWARD_ULPS: u64 = $ulps;
            const LOOSE: std::ops::Range<usize> = $loose;
            const LOOSE_ULPS: u64 = $loose_ulps;
            fn load() -> Self {
                $load
            }
            fn dt(&self) -> f64 {
                <$ty>::dt(self)
            }
            fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
                <$ty>::reset_to(self, qpos, qvel)
            }
            fn step_f64(&mut self, action: &[f64]) -> StepF64 {
                <$ty>::step_f64(self, action)
            }
            fn observe_f64(&self, obs: &mut [f64]) {
                <$ty>::observe_f64(self, obs)
            }
            fn qpos(&self) -> &[f64] {
                <$ty>::qpos(self)
            }
            fn qvel(&self) -> &[f64] {
                <$ty>::qvel(self)
            }
        }
    };
}

port!(DmcCheetahRun, "dmc_cheetah_run.json");
port!(DmcWalkerWalk, "dmc_walker_walk.json");
// Their Gaussian rewards call `exp`: NumPy's (AVX-512 SIMD on the recording machine) and glibc's
// (Rust's) differ in the last bits for some arguments (measured: 2 ulps).
port!(
    DmcAcrobotSwingup,
    "dmc_acrobot_swingup.json",
    reward_ulps = 4
);
port!(
    DmcCartpoleSwingup,
    "dmc_cartpole_swingup.json",
    reward_ulps = 4
);
port!(DmcBallInCupCatch, "dmc_ball_in_cup_catch.json");
// `touch` (obs 7..9) is `log1p` of the touch sensors: NumPy's SIMD `log1p` and glibc's (Rust's
// `ln_1p`) differ in the last bit for some arguments; everything else is bit for bit.
port!(
    DmcFingerSpin,
    "dmc_finger_spin.json",
    loose = 7..9,
    loose_ulps = 2
);

/// Quadruped walk and run are one type; the fixture's task picks the model.
struct Walk(DmcQuadruped);
struct Run(DmcQuadruped);
macro_rules! quadruped {
    ($ty:ident, $task:ident, $file:literal) => {
        impl Env for $ty {
            fn name(&self) -> &'static str {
                self.0.name()
            }
            fn spec(&self) -> koopman::envs::Spec {
                self.0.spec()
            }
            fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
                self.0.reset_into(seed, obs)
            }
            fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
                self.0.step_into(action, obs)
            }
        }
        impl Port for $ty {
            const FIXTURE: &'static str = $file;
            // `force_torque` is `arcsinh` of the sensors: NumPy's SIMD `arcsinh` and Rust's
            // `asinh` may differ in the last bits; everything else is bit for bit.
            const LOOSE: std::ops::Range<usize> = 54..78;
            const LOOSE_ULPS: u64 = 4;
            fn load() -> Self {
                $ty(DmcQuadruped::new(QuadrupedTask::$task).unwrap())
            }
            fn dt(&self) -> f64 {
                self.0.dt()
            }
            fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
                self.0.reset_to(qpos, qvel)
            }
            fn step_f64(&mut self, action: &[f64]) -> StepF64 {
                self.0.step_f64(action)
            }
            fn observe_f64(&self, obs: &mut [f64]) {
                self.0.observe_f64(obs)
            }
            fn qpos(&self) -> &[f64] {
                self.0.qpos()
            }
            fn qvel(&self) -> &[f64] {
                self.0.qvel()
            }
        }
    };
}
quadruped!(Walk, Walk, "dmc_quadruped_walk.json");
quadruped!(Run, Run, "dmc_quadruped_run.json");

/// Distance in units in the last place between two finite f64 of the same sign (else ∞).
fn ulps(a: f64, b: f64) -> u64 {
    if a == b {
        0
    } else if a.is_sign_negative() == b.is_sign_negative() && a.is_finite() && b.is_finite() {
        a.to_bits().abs_diff(b.to_bits())
    } else {
        u64::MAX
    }
}

/// Checks an observation against the fixture's: bit for bit, except the components in
/// `E::LOOSE` (at most `E::LOOSE_ULPS` apart); returns the largest distance seen there.
fn check_obs<E: Port>(name: &str, what: &str, got: &[f64], want: &[f64]) -> u64 {
    assert_eq!(got.len(), want.len(), "{name}: {what} length");
    let mut worst = 0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if E::LOOSE.contains(&i) {
            let d = ulps(*g, *w);
            assert!(
                d <= E::LOOSE_ULPS,
                "{name}: {what}[{i}] {g:e} vs {w:e}: {d} ulps"
            );
            worst = worst.max(d);
        } else {
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "{name}: {what}[{i}] {g:e} vs {w:e}"
            );
        }
    }
    worst
}

/// Replays the fixture: the reset observation, then per step qpos and qvel bit for bit, the
/// observation by [`check_obs`] and the reward within `E::REWARD_ULPS`. Returns the number of steps with a non-zero reward (so
/// the reward check is not vacuous) and the largest ulp distance in the loose components.
fn replay<E: Port>(name: &str) -> (usize, u64) {
    let fx = fixture(E::FIXTURE);
    assert_eq!(fx["env"], name);
    let mut env = E::load();
    assert_eq!(env.name(), name);
    assert_eq!(env.dt(), fx["control_timestep"].as_f64().unwrap());
    env.reset_to(&f64s(&fx["qpos0"]), &f64s(&fx["qvel0"]));
    let mut obs = vec![0.0f64; env.spec().obs_dim];
    env.observe_f64(&mut obs);
    let mut worst = check_obs::<E>(name, "obs0", &obs, &f64s(&fx["obs0"]));
    let steps = fx["steps"].as_array().unwrap();
    assert!(steps.len() >= 40, "{name}: {} steps", steps.len());
    let (mut rewarded, mut worst_reward) = (0, 0);
    for (t, s) in steps.iter().enumerate() {
        let out = env.step_f64(&f64s(&s["action"]));
        assert_eq!(
            env.qpos(),
            &f64s(&s["qpos"])[..],
            "{name}: qpos at step {t}"
        );
        assert_eq!(
            env.qvel(),
            &f64s(&s["qvel"])[..],
            "{name}: qvel at step {t}"
        );
        env.observe_f64(&mut obs);
        let what = format!("obs at step {t}");
        worst = worst.max(check_obs::<E>(name, &what, &obs, &f64s(&s["obs"])));
        let reward = f64_of(&s["reward"]);
        let d = ulps(out.reward, reward);
        assert!(
            d <= E::REWARD_ULPS,
            "{name}: reward at step {t}: {} vs {reward} ({d} ulps)",
            out.reward
        );
        worst_reward = worst_reward.max(d);
        assert!(!out.terminated && !out.truncated);
        rewarded += usize::from(reward > 0.0);
    }
    eprintln!("{name}: loose obs within {worst} ulps, reward within {worst_reward} ulps");
    (rewarded, worst)
}

/// [`replay`] for a task whose observation must match bit for bit everywhere.
fn replay_bit_for_bit<E: Port>(name: &str) -> usize {
    assert!(E::LOOSE.is_empty() && E::REWARD_ULPS == 0);
    replay::<E>(name).0
}

#[test]
fn cheetah_run_matches_dm_control_bit_for_bit() {
    let rewarded = replay_bit_for_bit::<DmcCheetahRun>("cheetah-run");
    assert!(rewarded >= 10, "{rewarded}");
}

#[test]
fn walker_walk_matches_dm_control_bit_for_bit() {
    assert_eq!(replay_bit_for_bit::<DmcWalkerWalk>("walker-walk"), 100);
}

#[test]
fn acrobot_swingup_matches_dm_control() {
    assert_eq!(replay::<DmcAcrobotSwingup>("dmc-acrobot-swingup").0, 100);
}

#[test]
fn cartpole_swingup_matches_dm_control() {
    assert_eq!(replay::<DmcCartpoleSwingup>("dmc-cartpole-swingup").0, 100);
}

/// From the ball resting in the cup (the fixture's start), until the actions shake it out: the
/// reward is 1 on 93 of the 100 steps, 0 on the others.
#[test]
fn ball_in_cup_catch_matches_dm_control_bit_for_bit() {
    assert_eq!(
        replay_bit_for_bit::<DmcBallInCupCatch>("ball_in_cup-catch"),
        93
    );
}

/// From the spinner turning at −40 rad/s (the fixture's start): spinning for 18 steps, then
/// slowed below 15 rad/s (by the task's hinge damping 0.03, its friction loss and the finger).
/// The touch observations are non-zero at 30 entries (the finger presses on the spinner).
#[test]
fn finger_spin_matches_dm_control() {
    let (rewarded, _) = replay::<DmcFingerSpin>("finger-spin");
    assert_eq!(rewarded, 18);
    let fx = fixture(DmcFingerSpin::FIXTURE);
    let touches = fx["steps"].as_array().unwrap().iter();
    let touched: usize = touches
        .map(|s| f64s(&s["obs"])[7..9].iter().filter(|&&x| x > 0.0).count())
        .sum();
    assert_eq!(touched, 30);
}

#[test]
fn quadruped_walk_matches_dm_control() {
    let (rewarded, _) = replay::<Walk>("quadruped-walk");
    assert!(rewarded >= 20, "{rewarded}");
}

#[test]
fn quadruped_run_matches_dm_control() {
    let (rewarded, _) = replay::<Run>("quadruped-run");
    assert_eq!(rewarded, 40);
}

/// Registry, seeded resets, the f32 interface and a full 1000-step episode without termination.
#[test]
fn registry_reset_and_episode() {
    for (name, obs_dim, act_dim) in [
        ("cheetah-run", 17, 6),
        ("walker-walk", 24, 6),
        ("quadruped-walk", 78, 12),
        ("quadruped-run", 78, 12),
        ("dmc-acrobot-swingup", 6, 1),
        ("dmc-cartpole-swingup", 5, 1),
        ("ball_in_cup-catch", 8, 2),
        ("finger-spin", 9, 2),
    ] {
        assert!(NAMES.contains(&name));
        let mut env = make(name).unwrap();
        assert_eq!(env.name(), name);
        let spec = env.spec();
        assert_eq!((spec.obs_dim, spec.act_dim), (obs_dim, act_dim), "{name}");
        let first = env.reset(7);
        assert!(first.iter().all(|x| x.is_finite()), "{name}");
        assert_eq!(env.reset(7), first, "{name}: same seed, same start");
        assert_ne!(env.reset(8), first, "{name}");
        let mut t = 0;
        loop {
            t += 1;
            let a: Vec<f32> = (0..act_dim)
                .map(|i| [1.0, -1.0, 0.5, -0.5][i % 4] * (t as f32 * 0.1 + i as f32).sin())
                .collect();
            let s = env.step(&a);
            assert!(!s.terminated, "{name}");
            assert!(
                (0.0..=1.0).contains(&s.reward),
                "{name}: reward {}",
                s.reward
            );
            assert!(s.obs.iter().all(|x| x.is_finite()), "{name}");
            if s.truncated {
                break;
            }
        }
        assert_eq!(t, EPISODE_STEPS, "{name}");
    }
}

/// TD-MPC's action repeats (`cfgs/tasks/*.yaml`) for the dm_control tasks on MuJoCo.
#[test]
fn action_repeats_are_tdmpcs() {
    for (name, repeat) in [
        ("cheetah-run", 4),
        ("walker-walk", 2),
        ("quadruped-walk", 4),
        ("quadruped-run", 4),
        ("dmc-acrobot-swingup", 4),
        ("dmc-cartpole-swingup", 8),
        ("ball_in_cup-catch", 4),
        ("finger-spin", 2),
    ] {
        assert_eq!(action_repeat(name), repeat, "{name}");
    }
}

/// The cheetah's reset settles it on its feet: after 200 steps it is upright and near rest (as
/// under dm_control: rootz ≈ −0.1, max |qvel| < 0.2 for seeds 0..20).
#[test]
fn cheetah_reset_settles() {
    let mut env = DmcCheetahRun::new().unwrap();
    for seed in 0..20 {
        env.reset(seed);
        let v = env.qvel().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (z, pitch) = (env.qpos()[1], env.qpos()[2]);
        assert!(v < 0.5, "seed {seed}: max |qvel| {v}");
        assert!(
            z.abs() < 0.2 && pitch.abs() < 0.5,
            "seed {seed}: not upright, {z} {pitch}"
        );
    }
}

/// The settling of cheetah's reset reproduces dm_control's `Physics.step(200)` inside
/// `reset_context` from the same joint draw, bit for bit.
#[test]
fn cheetah_settle_matches_dm_control() {
    let fx = fixture(DmcCheetahRun::FIXTURE);
    let settle = &fx["settle"];
    let mut env = DmcCheetahRun::new().unwrap();
    env.reset_settled(&f64s(&settle["qpos_in"]));
    assert_eq!(env.qpos(), &f64s(&settle["qpos"])[..]);
    assert_eq!(env.qvel(), &f64s(&settle["qvel"])[..]);
    assert_ne!(env.qpos(), &f64s(&settle["qpos_in"])[..]);
}

/// The f32 interface gives the f64 results narrowed.
#[test]
fn f32_interface_matches_f64() {
    fn check<E: Port>() {
        let fx = fixture(E::FIXTURE);
        let (q0, v0) = (f64s(&fx["qpos0"]), f64s(&fx["qvel0"]));
        let (mut a, mut b) = (E::load(), E::load());
        a.reset_to(&q0, &v0);
        b.reset_to(&q0, &v0);
        let dim = a.spec().obs_dim;
        let (mut obs, mut obs64) = (vec![0.0f32; dim], vec![0.0f64; dim]);
        for s in fx["steps"].as_array().unwrap().iter().take(50) {
            let act64 = f64s(&s["action"]);
            let act32: Vec<f32> = act64.iter().map(|&x| x as f32).collect();
            let (r, term, trunc) = a.step_into(&act32, &mut obs);
            let out = b.step_f64(&act64);
            b.observe_f64(&mut obs64);
            assert_eq!(r, out.reward as f32);
            assert_eq!((term, trunc), (out.terminated, out.truncated));
            for (o, o64) in obs.iter().zip(&obs64) {
                assert_eq!(*o, *o64 as f32);
            }
        }
    }
    check::<DmcCheetahRun>();
    check::<DmcWalkerWalk>();
    check::<DmcAcrobotSwingup>();
    check::<DmcCartpoleSwingup>();
    check::<DmcBallInCupCatch>();
    check::<DmcFingerSpin>();
    check::<Walk>();
    check::<Run>();
}

/// Quadruped's reset from dm_control's orientation (`qpos0[3:7]` of the fixture, drawn there by
/// NumPy) finds the same collision-free height and the same first observation; and seeded resets
/// start in the air, unrotated legs, at rest.
#[test]
fn quadruped_reset_matches_dm_control() {
    for task in [QuadrupedTask::Walk, QuadrupedTask::Run] {
        let fx = fixture(match task {
            QuadrupedTask::Walk => Walk::FIXTURE,
            QuadrupedTask::Run => Run::FIXTURE,
        });
        let (q0, v0) = (f64s(&fx["qpos0"]), f64s(&fx["qvel0"]));
        let mut env = DmcQuadruped::new(task).unwrap();
        env.reset_with_orientation([q0[3], q0[4], q0[5], q0[6]]);
        assert_eq!(env.qpos(), &q0[..], "{task:?}");
        assert!(q0[2] > 0.0 && v0.iter().all(|&v| v == 0.0));
        assert_eq!(env.qvel(), &v0[..]);
        let mut obs = vec![0.0; env.spec().obs_dim];
        env.observe_f64(&mut obs);
        check_obs::<Walk>(task.name(), "obs0", &obs, &f64s(&fx["obs0"]));
        for seed in 0..5 {
            env.reset(seed);
            let q = env.qpos();
            let norm = q[3..7].iter().map(|x| x * x).sum::<f64>();
            assert!((norm - 1.0).abs() < 1e-12, "seed {seed}: |quat|² {norm}");
            assert!(q[2] > 0.0 && q[2] < 2.0, "seed {seed}: height {}", q[2]);
            assert!(q[7..].iter().all(|&x| x == 0.0) && env.qvel().iter().all(|&v| v == 0.0));
        }
    }
}

/// Quadruped's actions in [−1, 1] cover each actuator's `ctrlrange` (lift reaches 1.1, extend
/// stops at 0.8), and the action at −1 is the range's low end.
#[test]
fn quadruped_actions_span_ctrlrange() {
    let mut env = DmcQuadruped::new(QuadrupedTask::Walk).unwrap();
    let mut obs = vec![0.0; env.spec().obs_dim];
    // The activations (obs 32..44) filter the controls with time constant 0.1 s: after 200 steps
    // of a constant action they sit at the control.
    for (a, want) in [(1.0f32, [1.0, 1.1, 0.8]), (-1.0, [-1.0, -1.0, -0.8])] {
        env.reset(0);
        for _ in 0..200 {
            env.step_into(&[a; 12], &mut obs);
        }
        for (i, act) in obs[32..44].iter().enumerate() {
            let w = want[i % 3] as f32;
            assert!(
                (act - w).abs() < 1e-3,
                "action {a}: activation {i} = {act}, want {w}"
            );
        }
    }
}

/// One task's seeded resets against `dmc_resets.json` (scripts/record_dmc_resets.py: a fresh
/// `suite.load(..., task_kwargs={'random': seed})` and its first `env.reset()` per seed): qpos
/// and qvel bit for bit, the observation by [`check_obs`] (quadruped's `arcsinh` components
/// within a few ulps, as in its replay), and the f32 observation of `reset_into` its rounding.
/// Also: a seed ≥ 2³² starts where its low 32 bits do. Returns the largest ulp distance seen.
fn seeded_resets<E: Port>(name: &str, fx: &Value) -> u64 {
    let mut env = E::load();
    let mut worst = 0;
    let resets = fx["tasks"][name]
        .as_array()
        .expect("task in dmc_resets.json");
    assert_eq!(resets.len(), 5, "{name}");
    for r in resets {
        let seed = r["seed"].as_u64().unwrap();
        let obs32 = env.reset(seed);
        let what = format!("seed {seed}");
        assert_eq!(env.qpos(), &f64s(&r["qpos"])[..], "{name}: {what} qpos");
        assert_eq!(env.qvel(), &f64s(&r["qvel"])[..], "{name}: {what} qvel");
        let want = f64s(&r["obs0"]);
        let mut obs = vec![0.0; want.len()];
        env.observe_f64(&mut obs);
        worst = worst.max(check_obs::<E>(name, &format!("{what} obs0"), &obs, &want));
        let rounded: Vec<f32> = obs.iter().map(|&x| x as f32).collect();
        assert_eq!(obs32, rounded, "{name}: {what} f32 observation");
        assert_eq!(
            env.reset(seed + (1 << 32)),
            obs32,
            "{name}: seed {seed} + 2³²"
        );
    }
    worst
}

/// `reset_into(seed)` starts exactly where dm_control 1.0.50 starts for `random=seed` (seeds
/// 0..3 and 2³² − 1), for every task: NumPy's legacy `RandomState` draws replayed in
/// dm_control's order, then the same physics (cheetah's settling, quadruped's height search,
/// the redraws of ball_in_cup's ball (seeds 1 and 3) and finger's joints (seed 1) while they
/// penetrate).
#[test]
fn dmc_seeded_resets_match_dm_control() {
    let fx = fixture("dmc_resets.json");
    let worst = [
        seeded_resets::<DmcCheetahRun>("cheetah-run", &fx),
        seeded_resets::<DmcWalkerWalk>("walker-walk", &fx),
        seeded_resets::<Walk>("quadruped-walk", &fx),
        seeded_resets::<Run>("quadruped-run", &fx),
        seeded_resets::<DmcAcrobotSwingup>("dmc-acrobot-swingup", &fx),
        seeded_resets::<DmcCartpoleSwingup>("dmc-cartpole-swingup", &fx),
        seeded_resets::<DmcBallInCupCatch>("ball_in_cup-catch", &fx),
        seeded_resets::<DmcFingerSpin>("finger-spin", &fx),
    ];
    eprintln!("largest ulp distance in the loose observation components: {worst:?}");
}
