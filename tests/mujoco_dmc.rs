//! dm_control cheetah-run and walker-walk on MuJoCo against dm_control itself (feature `mujoco`;
//! run `scripts/setup-mujoco.sh` first). The fixtures are written by
//! `scripts/record_dmc_fixtures.py` with dm_control 1.0.50 and mujoco 3.17.0: same XML, same
//! library, same start state (set with `reset_context`) and actions ⇒ the Rust port must
//! reproduce qpos, qvel, observations and rewards bit for bit.
#![cfg(feature = "mujoco")]

use koopman::envs::mujoco::{DmcCheetahRun, DmcWalkerWalk, StepF64};
use koopman::envs::{make, Env, EPISODE_STEPS, NAMES};
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
        impl Port for $ty {
            const FIXTURE: &'static str = $file;
            fn load() -> Self {
                <$ty>::new().unwrap()
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

/// Replays the fixture and checks qpos, qvel, observation and reward bit for bit; returns the
/// number of steps with a non-zero reward (so the reward check is not vacuous).
fn replay_bit_for_bit<E: Port>(name: &str) -> usize {
    let fx = fixture(E::FIXTURE);
    assert_eq!(fx["env"], name);
    let mut env = E::load();
    assert_eq!(env.name(), name);
    assert_eq!(env.dt(), fx["control_timestep"].as_f64().unwrap());
    env.reset_to(&f64s(&fx["qpos0"]), &f64s(&fx["qvel0"]));
    let steps = fx["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 100);
    let mut obs = vec![0.0f64; env.spec().obs_dim];
    let mut rewarded = 0;
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
        assert_eq!(&obs[..], &f64s(&s["obs"])[..], "{name}: obs at step {t}");
        let reward = f64_of(&s["reward"]);
        assert_eq!(out.reward, reward, "{name}: reward at step {t}");
        assert!(!out.terminated && !out.truncated);
        rewarded += usize::from(reward > 0.0);
    }
    rewarded
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

/// Registry, seeded resets, the f32 interface and a full 1000-step episode without termination.
#[test]
fn registry_reset_and_episode() {
    for (name, obs_dim) in [("cheetah-run", 17), ("walker-walk", 24)] {
        assert!(NAMES.contains(&name));
        let mut env = make(name).unwrap();
        assert_eq!(env.name(), name);
        let spec = env.spec();
        assert_eq!((spec.obs_dim, spec.act_dim), (obs_dim, 6), "{name}");
        let first = env.reset(7);
        assert!(first.iter().all(|x| x.is_finite()), "{name}");
        assert_eq!(env.reset(7), first, "{name}: same seed, same start");
        assert_ne!(env.reset(8), first, "{name}");
        let mut t = 0;
        loop {
            t += 1;
            let a = [1.0, -1.0, 0.5, -0.5, 1.0, -1.0].map(|x: f32| x * (t as f32 * 0.1).sin());
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
}
