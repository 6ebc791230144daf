//! 84×84 frames of the dm_control tasks the crate has against dm_control itself (feature
//! `mujoco`; run `scripts/setup-mujoco.sh` first): cheetah-run, walker-walk, dmc-acrobot-swingup,
//! dmc-cartpole-swingup, ball_in_cup-catch and finger-spin from camera 0, quadruped-walk from
//! camera 2 (each task's `pixel_camera()`). The fixtures are written by `scripts/record_dmc_pixels.py` with
//! dm_control 1.0.50, mujoco 3.17.0 and Mesa's llvmpipe (MUJOCO_GL=egl): same library, XML, start
//! state and actions ⇒ the same scene, and MuJoCo's renderer on the same GL implementation draws
//! the same pixels, so frames must match exactly, at DMC's quality and at the fast one (no
//! shadows, no multisampling). Quadruped is recorded behind `action_scale.Wrapper(env, -1, 1)`
//! with actions clipped to [-1, 1], which the Rust task's own action rescaling reproduces; its
//! random reset orientation is part of the recorded start state.
//!
//! Without EGL (libegl1, libegl-mesa0, libgl1-mesa-dri) the tests print SKIP and pass, unless
//! `REQUIRE_EGL=1`, which CI sets so that a missing library fails instead.
#![cfg(feature = "mujoco")]

#[path = "common/cli.rs"]
mod common_cli;
#[path = "common/held_random.rs"]
mod held_random;
use common_cli::{fails, Scratch};
use koopman::data::npy::NpyArray;
use koopman::data::npz;
use koopman::envs::mujoco::render::{Quality, EGL_HINT, PIXELS};
use koopman::envs::mujoco::{
    DmcAcrobotSwingup, DmcBallInCupCatch, DmcCartpoleSwingup, DmcCheetahRun, DmcFingerSpin,
    DmcQuadruped, DmcTask, DmcWalkerWalk, QuadrupedTask, Renderer,
};
use koopman::envs::{make_pixels, Env};
use koopman::experiment::{collect, collect_pixels, Policy};
use std::collections::HashMap;
use std::path::Path;

fn fixture(file: &str) -> HashMap<String, NpyArray> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    npz::read_arrays(Path::new(&path))
        .unwrap()
        .into_iter()
        .collect()
}

/// Exact f64 values (the crate's `to_f32` would round them).
fn f64s(a: &NpyArray) -> Vec<f64> {
    assert_eq!(a.descr, "<f8");
    a.data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn i64s(a: &NpyArray) -> Vec<i64> {
    assert_eq!(a.descr, "<i8");
    a.data
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// A renderer for `task`, or `None` (test skipped) when EGL is missing and not required.
fn renderer(task: &dyn DmcTask, quality: Quality) -> Option<Renderer> {
    match Renderer::new(task.sim(), task.pixel_camera(), PIXELS, PIXELS, quality) {
        Ok(r) => Some(r),
        Err(e) if e.starts_with("EGL not available") => {
            if std::env::var("REQUIRE_EGL").is_ok_and(|v| v == "1") {
                panic!("REQUIRE_EGL=1 but {e}");
            }
            eprintln!(
                "SKIP {}: {e} (set REQUIRE_EGL=1 to fail instead)",
                task.name()
            );
            None
        }
        Err(e) => panic!("{}: {e}", task.name()),
    }
}

/// Replays the fixture's actions and compares each recorded frame of `key` (rendered at
/// `quality`); returns the number of frames compared.
fn frames_match<E: DmcTask>(mut env: E, file: &str, key: &str, quality: Quality) -> usize {
    let Some(mut r) = renderer(&env, quality) else {
        return 0;
    };
    let fx = fixture(file);
    let (qpos0, qvel0) = (f64s(&fx["qpos0"]), f64s(&fx["qvel0"]));
    let actions = f64s(&fx["actions"]);
    let nu = env.spec().act_dim;
    let steps = i64s(&fx["steps"]);
    let qpos = f64s(&fx["qpos"]);
    let frames = &fx[key];
    let frame_len = PIXELS * PIXELS * 3;
    assert_eq!(frames.shape, [steps.len(), PIXELS, PIXELS, 3]);
    let nq = qpos.len() / steps.len();

    reset_to(&mut env, &qpos0, &qvel0);
    let mut t = 0;
    for (k, &at) in steps.iter().enumerate() {
        while t < at as usize {
            step(&mut env, &actions[t * nu..(t + 1) * nu]);
            t += 1;
        }
        // The physics is checked bit for bit elsewhere; here it rules out a state difference.
        assert_eq!(
            env.sim().qpos(),
            &qpos[k * nq..(k + 1) * nq],
            "{file} step {at}"
        );
        let got = r.render(env.sim_mut()).unwrap();
        let want = &frames.data[k * frame_len..(k + 1) * frame_len];
        let diff = got.iter().zip(want).map(|(a, b)| a.abs_diff(*b));
        let (max, count) = diff.fold((0, 0), |(m, n), d| (m.max(d), n + usize::from(d > 0)));
        eprintln!("{file} {key} step {at}: max pixel diff {max}, {count} differing bytes");
        assert_eq!((max, count), (0, 0), "{file} {key} step {at}");
    }
    steps.len()
}

// The fixture's actions are f64 (dm_control's dtype); the f64 step is the bit-exact path.
fn reset_to<E: DmcTask>(env: &mut E, qpos: &[f64], qvel: &[f64]) {
    let sim = env.sim_mut();
    sim.reset();
    sim.set_state(qpos, qvel);
}

fn step<E: DmcTask>(env: &mut E, action: &[f64]) {
    let a: Vec<f32> = action.iter().map(|&x| x as f32).collect();
    let mut obs = vec![0.0; env.spec().obs_dim];
    env.step_into(&a, &mut obs);
}

/// Both qualities; the fast frames must also differ from the default ones, or the setting did
/// nothing.
fn both_qualities<E: DmcTask>(make: fn() -> E, file: &str) {
    for (key, quality) in [("frames", Quality::Dmc), ("frames_fast", Quality::Fast)] {
        let n = frames_match(make(), file, key, quality);
        assert!(n == 0 || n == 4, "{file} {key}: {n} frames");
    }
    let fx = fixture(file);
    assert_ne!(fx["frames"].data, fx["frames_fast"].data);
}

#[test]
fn cheetah_frames_equal_dm_control() {
    both_qualities(
        || DmcCheetahRun::new().unwrap(),
        "dmc_cheetah_run_pixels.npz",
    );
}

#[test]
fn walker_frames_equal_dm_control() {
    both_qualities(
        || DmcWalkerWalk::new().unwrap(),
        "dmc_walker_walk_pixels.npz",
    );
}

/// Camera 2 (`pixel_camera`); the fixture's actions are in [-1, 1] and were stepped behind
/// `action_scale.Wrapper(env, -1, 1)`, as the Rust task rescales them.
#[test]
fn quadruped_walk_frames_equal_dm_control() {
    both_qualities(
        || DmcQuadruped::new(QuadrupedTask::Walk).unwrap(),
        "dmc_quadruped_walk_pixels.npz",
    );
}

#[test]
fn acrobot_frames_equal_dm_control() {
    both_qualities(
        || DmcAcrobotSwingup::new().unwrap(),
        "dmc_acrobot_swingup_pixels.npz",
    );
}

#[test]
fn cartpole_frames_equal_dm_control() {
    both_qualities(
        || DmcCartpoleSwingup::new().unwrap(),
        "dmc_cartpole_swingup_pixels.npz",
    );
}

#[test]
fn ball_in_cup_frames_equal_dm_control() {
    both_qualities(
        || DmcBallInCupCatch::new().unwrap(),
        "dmc_ball_in_cup_catch_pixels.npz",
    );
}

/// The frames show the spin task's model edits: its target and tip sites are hidden (drawn, they
/// change 123 bytes of the first frame under dm_control).
#[test]
fn finger_frames_equal_dm_control() {
    both_qualities(
        || DmcFingerSpin::new().unwrap(),
        "dmc_finger_spin_pixels.npz",
    );
}

#[test]
fn bad_camera_and_size_are_errors() {
    let env = DmcCheetahRun::new().unwrap();
    let Some(_) = renderer(&env, Quality::Dmc) else {
        return;
    };
    let sim = env.sim();
    let q = Quality::Dmc;
    let e = Renderer::new(sim, 99, PIXELS, PIXELS, q).err().unwrap();
    assert!(e.contains("camera 99"), "{e}");
    let e = Renderer::new(sim, 0, 4096, PIXELS, q).err().unwrap();
    assert!(e.contains("offscreen buffer"), "{e}");
    let e = Renderer::new(sim, 0, 0, PIXELS, q).err().unwrap();
    assert!(e.contains("non-empty"), "{e}");
    assert!(EGL_HINT.contains("libegl-mesa0"));
}

/// `collect_pixels` gives `collect`'s episodes plus one frame per observation row, the first
/// being the reset state's (episode 0 of seed 0 is reset with seed 0, as `new` does).
#[test]
fn collected_pixels_are_the_observations_frames() {
    let mut env = DmcWalkerWalk::new().unwrap();
    let Some(mut r) = renderer(&env, Quality::Fast) else {
        return;
    };
    let first = r.render(env.sim_mut()).unwrap().to_vec();
    let with = collect_pixels("walker-walk", Policy::Random, 1, 0, true).unwrap();
    let without = collect("walker-walk", Policy::Random, 1, 0).unwrap();
    let p = with.pixels.as_ref().unwrap();
    assert_eq!((p.height, p.width, p.channels), (PIXELS, PIXELS, 3));
    assert_eq!(p.len(), without.len());
    assert_eq!(p.frame(0), &first[..]);
    assert_ne!(p.frame(0), p.frame(with.len() - 1));
    let mut states = with.clone();
    states.pixels = None;
    assert_eq!(states, without);

    let e = collect_pixels("pendulum-swingup", Policy::Random, 1, 0, true).unwrap_err();
    assert!(e.to_string().contains("cheetah-run"), "{e}");
}

/// A frame as the pixel agents see it: channels first, f32 values 0–255.
fn chw(rgb: &[u8]) -> Vec<f32> {
    (0..3)
        .flat_map(|c| rgb.iter().skip(c).step_by(3).map(|&v| v as f32))
        .collect()
}

/// `make_pixels` (the pixel agents' environment): a reset stacks the first frame 3 times; each
/// agent step applies the action `repeat` times, sums the rewards, and pushes the frame the task's
/// own renderer draws of the new state (at DMC's quality, the camera of `pixel_camera`).
#[test]
fn pixel_env_stacks_the_frames_of_each_agent_step() {
    let mut direct = DmcCartpoleSwingup::new().unwrap();
    let Some(mut r) = renderer(&direct, Quality::Dmc) else {
        return;
    };
    let mut px = make_pixels("dmc-cartpole-swingup", 2, 3, PIXELS).unwrap();
    let frame = 3 * PIXELS * PIXELS;
    assert_eq!(px.spec().obs_dim, 3 * frame);
    assert_eq!(px.spec().act_dim, 1);
    let mut obs = vec![0.0; 3 * frame];
    let mut state = vec![0.0; direct.spec().obs_dim];
    px.reset_into(5, &mut obs);
    direct.reset_into(5, &mut state);
    let mut want: Vec<Vec<f32>> = vec![chw(r.render(direct.sim_mut()).unwrap()); 3];
    assert_eq!(obs, want.concat());
    for k in 0..3 {
        let a = [if k % 2 == 0 { 0.7f32 } else { -0.4 }];
        let (reward, term, trunc) = px.step_into(&a, &mut obs);
        let mut sum = 0.0;
        for _ in 0..2 {
            sum += direct.step_into(&a, &mut state).0;
        }
        assert_eq!((reward, term, trunc), (sum, false, false), "step {k}");
        want.remove(0);
        want.push(chw(r.render(direct.sim_mut()).unwrap()));
        assert_eq!(obs, want.concat(), "step {k}");
        assert!(px.take_error().is_none());
    }
    assert_ne!(want[0], want[2]);
    let e = make_pixels("cartpole-swingup", 8, 3, PIXELS).err().unwrap();
    assert!(e.contains("dmc-cartpole-swingup"), "{e}");
}

/// `rl train --agent sac --pixels` on dmc-cartpole-swingup into `dir/run` (with `extra` flags), on
/// one rayon thread (the other core stays with the tests beside it), or `None` (test skipped)
/// when EGL is missing and not required.
fn pixel_sac_run(dir: &Scratch, extra: &[&str]) -> Option<common_cli::Out> {
    renderer(&DmcCartpoleSwingup::new().unwrap(), Quality::Dmc)?;
    let run = dir.s("run");
    let mut args = vec![
        "rl",
        "train",
        "--agent",
        "sac",
        "--pixels",
        "--env",
        "dmc-cartpole-swingup",
        "--quiet",
        "--device",
        "cpu",
        "--out",
        &run,
    ];
    args.extend_from_slice(extra);
    let mut cmd = std::process::Command::new(common_cli::bin());
    cmd.args(&args)
        .current_dir(&dir.0)
        .env("RAYON_NUM_THREADS", "1");
    Some(common_cli::run_cmd(
        cmd,
        std::time::Duration::from_secs(2400),
    ))
}

/// `collect --policy` and `rl export` write state datasets, so both refuse a pixel agent's run
/// with a clean error that names it, and leave no output behind.
#[test]
fn a_pixel_run_is_refused_by_collect_and_export() {
    let dir = Scratch::new("pixel-refusals");
    let (run, data) = (dir.s("run"), dir.s("data.npz"));
    let extra = [
        "--steps",
        "160",
        "--seed-steps",
        "80",
        "--batch",
        "4",
        "--mlp-dim",
        "8",
    ];
    let Some(trained) = pixel_sac_run(&dir, &[&extra[..], &["--eval-episodes", "1"]].concat())
    else {
        return;
    };
    assert!(trained.ok(), "{:?}: {}", trained.status, trained.stderr);
    let e = fails(
        &dir.0,
        &[
            "collect",
            "--policy",
            &run,
            "--episodes",
            "1",
            "--out",
            &data,
        ],
    );
    assert!(
        e.contains("agent 'sac' learned from pixels; --policy drives the task from its state"),
        "{e}"
    );
    let e = fails(&dir.0, &["rl", "export", "--ckpt", &run, "--out", &data]);
    assert!(
        e.contains("rl export: the run of 'sac' on 'dmc-cartpole-swingup' learned from pixels"),
        "{e}"
    );
    assert_eq!(dir.names(), ["run"]);
}

/// `--frame-size`: frames the offscreen buffer cannot hold are a clean error that leaves no run
/// folder; a smaller frame makes a smaller observation (3 stacked 48 × 48 RGB frames).
#[test]
fn frame_size_sets_the_frames_or_is_refused() {
    let dir = Scratch::new("frame-size");
    let Some(big) = pixel_sac_run(&dir, &["--frame-size", "2000", "--steps", "200"]) else {
        return;
    };
    big.assert_clean_error("--frame-size 2000");
    assert!(
        big.stderr
            .contains("frame 2000x2000 must be non-empty and fit the model's offscreen buffer"),
        "{}",
        big.stderr
    );
    assert!(dir.names().is_empty(), "{:?}", dir.names());
    let mut px = make_pixels("dmc-cartpole-swingup", 8, 3, 48).unwrap();
    assert_eq!(px.spec().obs_dim, 3 * 3 * 48 * 48);
    let mut obs = vec![0.0; 3 * 3 * 48 * 48];
    px.reset_into(1, &mut obs);
    px.step_into(&[0.5], &mut obs);
    assert!(px.take_error().is_none());
    // The newest frame shows the scene: pixels of more than one value, all in 0..=255.
    let newest = &obs[2 * 3 * 48 * 48..];
    assert!(newest.iter().all(|v| (0.0..=255.0).contains(v)));
    assert!(newest.iter().any(|v| *v != newest[0]));
}

/// The CI smoke run of the pixel path: SAC from 48 × 48 frames (DrQ's encoder, batch 32, one
/// thread) on dmc-cartpole-swingup must beat held random actions (118.8 here) by its evaluation
/// at 30,000 or 40,000 env steps (4,875 updates; ≈ 10 minutes on one core, the longest test in
/// CI). Shorter runs do not beat them reliably: with these settings seeds 0 / 1 / 2 scored
/// 154.6 / 118.1 / 76.0 at 10k, 143.8 / 99.8 / 198.5 at 20k, 217.2 / 103.0 / 160.5 at 30k and
/// 199.4 / 202.1 / 220.5 at 40k (EXPERIMENTS.md). The run is seed 2's, with the same flags (it
/// reproduced that row exactly); another CPU may round differently and take another path, hence
/// the better of the last two evaluations.
#[test]
fn pixel_sac_rises_above_random_actions() {
    let dir = Scratch::new("pixel-smoke");
    let extra = [
        "--frame-size",
        "48",
        "--steps",
        "40000",
        "--seed-steps",
        "125",
        "--batch",
        "32",
        "--eval-every",
        "10000",
        "--eval-episodes",
        "5",
        "--checkpoint-every",
        "5",
        "--seed",
        "2",
    ];
    let Some(out) = pixel_sac_run(&dir, &extra) else {
        return;
    };
    assert!(out.ok(), "{:?}: {}", out.status, out.stderr);
    let evals = std::fs::read_to_string(dir.path("run").join("eval.csv")).unwrap();
    let returns: Vec<f64> = evals
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(returns.len(), 5, "{evals}");
    let (first, best) = (returns[0], returns[3].max(returns[4]));
    let task = "dmc-cartpole-swingup";
    let repeat = koopman::rl::run::RunConfig::new("sac", task)
        .unwrap()
        .action_repeat;
    let random = held_random::random_return(task, repeat);
    eprintln!("pixel sac: {returns:?} at 0 / 10k / 20k / 30k / 40k, random actions {random:.1}");
    assert!(
        best > first + 100.0 && best > random,
        "{returns:?} at 0 / 10k / 20k / 30k / 40k env steps, random actions {random}"
    );
}
