//! Gymnasium MuJoCo environments against Python (feature `mujoco`; run
//! `scripts/setup-mujoco.sh` first). The fixture is written by `scripts/record_gym_fixtures.py`
//! with gymnasium 1.4.0 and mujoco 3.17.0: same XML, same library, same start state and actions
//! ⇒ the Rust port must reproduce qpos, qvel, observations and rewards bit for bit.
#![cfg(feature = "mujoco")]

use koopman::envs::mujoco::{HalfCheetah, Hopper, StepF64, Walker2d};
use koopman::envs::{make, Env, NAMES};
use serde_json::Value;

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array of hex bit patterns")
        .iter()
        .map(|x| f64::from_bits(u64::from_str_radix(x.as_str().unwrap(), 16).unwrap()))
        .collect()
}

fn fixture(file: &str) -> Value {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The f64 interface the Gymnasium ports share, for the replay helpers.
trait Port: Env + Sized {
    const FIXTURE: &'static str;
    const GYM_ID: &'static str;
    const STEPS: usize;
    fn load() -> Self;
    fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]);
    fn step_f64(&mut self, action: &[f64]) -> StepF64;
    fn observe_f64(&self, obs: &mut [f64]);
    fn qpos(&self) -> &[f64];
    fn qvel(&self) -> &[f64];
}

macro_rules! port {
    ($ty:ty, $file:literal, $id:literal, $steps:literal) => {
        impl Port for $ty {
            const FIXTURE: &'static str = $file;
            const GYM_ID: &'static str = $id;
            const STEPS: usize = $steps;
            fn load() -> Self {
                <$ty>::new().unwrap()
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

port!(Hopper, "gym_hopper_v5.json", "Hopper-v5", 200);
port!(Walker2d, "gym_walker2d_v5.json", "Walker2d-v5", 160);
port!(
    HalfCheetah,
    "gym_half_cheetah_v5.json",
    "HalfCheetah-v5",
    160
);

/// Replays the fixture's start state and actions and checks qpos, qvel, observation, reward and
/// termination bit for bit; returns the number of terminated steps.
fn replay_bit_for_bit<E: Port>() -> usize {
    let fx = fixture(E::FIXTURE);
    assert_eq!(fx["env"], E::GYM_ID);
    let mut env = E::load();
    env.reset_to(&f64s(&fx["qpos0"]), &f64s(&fx["qvel0"]));
    let steps = fx["steps"].as_array().unwrap();
    assert_eq!(steps.len(), E::STEPS);
    let mut terminated = 0;
    let mut obs = vec![0.0f64; env.spec().obs_dim];
    for (t, s) in steps.iter().enumerate() {
        let out = env.step_f64(&f64s(&s["action"]));
        assert_eq!(env.qpos(), &f64s(&s["qpos"])[..], "qpos at step {t}");
        assert_eq!(env.qvel(), &f64s(&s["qvel"])[..], "qvel at step {t}");
        env.observe_f64(&mut obs);
        assert_eq!(&obs[..], &f64s(&s["obs"])[..], "obs at step {t}");
        let reward = f64s(&Value::Array(vec![s["reward"].clone()]))[0];
        assert_eq!(out.reward, reward, "reward at step {t}");
        assert_eq!(Some(out.terminated), s["terminated"].as_bool(), "step {t}");
        assert!(!out.truncated);
        terminated += usize::from(out.terminated);
    }
    terminated
}

/// The f32 [`Env`] interface gives the f64 results narrowed, over the fixture's first 50 steps.
fn f32_interface_matches_f64<E: Port>() {
    let fx = fixture(E::FIXTURE);
    let (q0, v0) = (f64s(&fx["qpos0"]), f64s(&fx["qvel0"]));
    let mut a = E::load();
    let mut b = E::load();
    a.reset_to(&q0, &v0);
    b.reset_to(&q0, &v0);
    let dim = a.spec().obs_dim;
    let mut obs = vec![0.0f32; dim];
    let mut obs64 = vec![0.0f64; dim];
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

#[test]
fn hopper_matches_gymnasium_bit_for_bit() {
    let unhealthy = replay_bit_for_bit::<Hopper>();
    // The fixture covers both branches of the healthy reward.
    assert!(unhealthy > 10 && 200 - unhealthy > 10, "{unhealthy}");
}

#[test]
fn walker2d_matches_gymnasium_bit_for_bit() {
    let unhealthy = replay_bit_for_bit::<Walker2d>();
    assert!(unhealthy > 10 && 160 - unhealthy > 10, "{unhealthy}");
}

#[test]
fn half_cheetah_matches_gymnasium_bit_for_bit() {
    assert_eq!(
        replay_bit_for_bit::<HalfCheetah>(),
        0,
        "HalfCheetah never terminates"
    );
}

#[test]
fn f32_interfaces_match_f64() {
    f32_interface_matches_f64::<Hopper>();
    f32_interface_matches_f64::<Walker2d>();
    f32_interface_matches_f64::<HalfCheetah>();
}

#[test]
fn hopper_registry_reset_and_episode() {
    assert!(NAMES.contains(&"hopper"));
    let mut env = make("hopper").unwrap();
    assert_eq!(env.name(), "hopper");
    let spec = env.spec();
    assert_eq!((spec.obs_dim, spec.act_dim), (11, 3));
    let first = env.reset(7);
    assert_eq!(first.len(), 11);
    // Reset noise is U(±5e-3) around qpos0 = (0, 1.25, 0, 0, 0, 0) and zero velocity.
    assert!((first[0] - 1.25).abs() <= 5e-3 && first[1..].iter().all(|x| x.abs() <= 5e-3));
    assert_eq!(env.reset(7), first, "same seed, same start");
    assert_ne!(env.reset(8), first);
    // Standing still: healthy, reward ≈ 1 (healthy) + forward velocity, no termination.
    let step = env.step(&[0.0, 0.0, 0.0]);
    assert!(!step.terminated && step.reward.is_finite() && step.obs.iter().all(|x| x.is_finite()));
    assert!((step.reward - 1.0).abs() < 0.5, "{}", step.reward);
    // Full torque on every joint topples it within an episode.
    let mut terminated = false;
    for _ in 0..1000 {
        let s = env.step(&[1.0, -1.0, 1.0]);
        assert!(s.reward.is_finite() && s.obs.iter().all(|x| x.is_finite()));
        if s.terminated {
            terminated = true;
            break;
        }
    }
    assert!(terminated);
}

#[test]
fn walker2d_and_half_cheetah_registry_reset_and_episode() {
    for (name, init_z) in [("walker2d", 1.25), ("halfcheetah", 0.0)] {
        assert!(NAMES.contains(&name));
        let mut env = make(name).unwrap();
        assert_eq!(env.name(), name);
        let spec = env.spec();
        assert_eq!((spec.obs_dim, spec.act_dim), (17, 6), "{name}");
        let first = env.reset(7);
        assert_eq!(first.len(), 17);
        assert!(first.iter().all(|x| x.is_finite()), "{name}");
        assert!((first[0] - init_z).abs() <= 0.1, "{name}: z {}", first[0]);
        assert_eq!(env.reset(7), first, "{name}: same seed, same start");
        assert_ne!(env.reset(8), first, "{name}");
        let step = env.step(&[0.0; 6]);
        assert!(!step.terminated && step.reward.is_finite(), "{name}");
    }
    // HalfCheetah never terminates: a full episode ends only by truncation.
    let mut env = make("halfcheetah").unwrap();
    env.reset(1);
    let mut t = 0;
    loop {
        t += 1;
        let s = env.step(&[1.0, -1.0, 0.5, -0.5, 1.0, -1.0]);
        assert!(!s.terminated && s.reward.is_finite() && s.obs.iter().all(|x| x.is_finite()));
        if s.truncated {
            break;
        }
    }
    assert_eq!(t, koopman::envs::EPISODE_STEPS);
    // Walker2d falls over under full torque and terminates.
    let mut env = make("walker2d").unwrap();
    env.reset(1);
    assert!((0..1000).any(|_| env.step(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0]).terminated));
}
