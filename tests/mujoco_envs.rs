//! Gymnasium MuJoCo environments against Python (feature `mujoco`; run
//! `scripts/setup-mujoco.sh` first). The fixture is written by `scripts/record_gym_fixtures.py`
//! with gymnasium 1.4.0 and mujoco 3.17.0: same XML, same library, same start state and actions
//! ⇒ the Rust port must reproduce qpos, qvel, observations and rewards bit for bit.
#![cfg(feature = "mujoco")]

use koopman::envs::mujoco::hopper::{Hopper, OBS_DIM};
use koopman::envs::{make, Env, NAMES};
use serde_json::Value;

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array of hex bit patterns")
        .iter()
        .map(|x| f64::from_bits(u64::from_str_radix(x.as_str().unwrap(), 16).unwrap()))
        .collect()
}

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/gym_hopper_v5.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn hopper_matches_gymnasium_bit_for_bit() {
    let fx = fixture();
    assert_eq!(fx["env"], "Hopper-v5");
    let mut env = Hopper::new().unwrap();
    env.reset_to(&f64s(&fx["qpos0"]), &f64s(&fx["qvel0"]));
    let steps = fx["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 200);
    let (mut healthy, mut unhealthy) = (0, 0);
    let mut obs = [0.0f64; OBS_DIM];
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
        if out.terminated {
            unhealthy += 1;
        } else {
            healthy += 1;
        }
    }
    // The fixture covers both branches of the healthy reward.
    assert!(healthy > 10 && unhealthy > 10, "{healthy} {unhealthy}");
}

#[test]
fn hopper_f32_interface_matches_f64() {
    let fx = fixture();
    let (q0, v0) = (f64s(&fx["qpos0"]), f64s(&fx["qvel0"]));
    let mut a = Hopper::new().unwrap();
    let mut b = Hopper::new().unwrap();
    a.reset_to(&q0, &v0);
    b.reset_to(&q0, &v0);
    let mut obs = [0.0f32; OBS_DIM];
    let mut obs64 = [0.0f64; OBS_DIM];
    for s in fx["steps"].as_array().unwrap().iter().take(50) {
        let act64 = f64s(&s["action"]);
        let act32: Vec<f32> = act64.iter().map(|&x| x as f32).collect();
        let (r, term, trunc) = a.step_into(&act32, &mut obs);
        let out = b.step_f64(&act64);
        b.observe_f64(&mut obs64);
        assert_eq!(r, out.reward as f32);
        assert_eq!((term, trunc), (out.terminated, out.truncated));
        for (o, o64) in obs.iter().zip(obs64) {
            assert_eq!(*o, o64 as f32);
        }
    }
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
