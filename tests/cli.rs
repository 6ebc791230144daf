//! The binary on bad input: each case exits non-zero with a message naming the file and the field,
//! never panics, and leaves no output file behind.
#[path = "common/cli.rs"]
mod common_cli;
use common_cli::arrays;
use koopman::data::npy::NpyArray;
use koopman::data::npz;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_koopman"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("koopman-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary, expecting failure; returns stderr.
fn fails(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "expected failure for {args:?}; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "panic for {args:?}: {err}");
    err
}

fn write(dir: &Path, name: &str, a: &[(&str, NpyArray)]) -> String {
    let p = dir.join(name);
    npz::write_arrays(&p, a).unwrap();
    p.display().to_string()
}

/// No temporary file of an atomic write is left in `dir`.
fn assert_no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            !name.ends_with(".tmp"),
            "left behind: {}",
            dir.join(name).display()
        );
    }
}

fn train_fails(data: &str, out: &Path, extra: &[&str]) -> String {
    let o = out.display().to_string();
    let mut args = vec![
        "train", "--data", data, "--out", &o, "--steps", "2", "--batch", "4", "--preset", "small",
    ];
    args.extend_from_slice(extra);
    let err = fails(&args);
    assert!(!out.exists(), "a failed run left {}", out.display());
    assert_no_temp_files(out.parent().unwrap());
    err
}

#[test]
fn bad_datasets_name_the_file_and_the_field() {
    let d = tmpdir("data");
    let out = d.join("model.safetensors");
    let n = 120;

    let missing: Vec<_> = arrays(n)
        .into_iter()
        .filter(|(k, _)| *k != "rewards")
        .collect();
    let f = write(&d, "missing.npz", &missing);
    let e = train_fails(&f, &out, &["--horizon", "10"]);
    assert!(e.contains("missing.npz") && e.contains("rewards"), "{e}");

    let mut short = arrays(n);
    short[1].1 = NpyArray::from_f32(vec![n - 5, 1], &vec![0.0; n - 5]);
    let f = write(&d, "short.npz", &short);
    let e = train_fails(&f, &out, &["--horizon", "10"]);
    assert!(e.contains("short.npz") && e.contains("actions"), "{e}");

    let mut nan = arrays(n);
    let mut obs = vec![0.5f32; n * 3];
    obs[7] = f32::NAN;
    nan[0].1 = NpyArray::from_f32(vec![n, 3], &obs);
    let f = write(&d, "nan.npz", &nan);
    let e = train_fails(&f, &out, &["--horizon", "10"]);
    assert!(e.contains("nan.npz") && e.contains("observations"), "{e}");

    let mut inf = arrays(n);
    let mut rew = vec![0.0f32; n];
    rew[3] = f32::INFINITY;
    inf[2].1 = NpyArray::from_f32(vec![n], &rew);
    let f = write(&d, "inf.npz", &inf);
    let e = train_fails(&f, &out, &["--horizon", "10"]);
    assert!(e.contains("inf.npz") && e.contains("rewards"), "{e}");

    let empty: Vec<_> = arrays(0).into_iter().collect();
    let f = write(&d, "empty.npz", &empty);
    let e = train_fails(&f, &out, &["--horizon", "10"]);
    assert!(e.contains("empty.npz"), "{e}");

    let f = write(&d, "ok.npz", &arrays(n));
    let e = train_fails(&f, &out, &["--horizon", "100"]);
    assert!(
        e.contains("ok.npz") && e.to_lowercase().contains("horizon"),
        "{e}"
    );

    let bytes = std::fs::read(&f).unwrap();
    let cut = d.join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = train_fails(&cut.display().to_string(), &out, &["--horizon", "10"]);
    assert!(e.contains("cut.npz"), "{e}");

    let e = train_fails(&f, &out, &["--horizon", "10", "--model", "lstm"]);
    assert!(e.contains("lstm") && e.contains("koopman"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn unknown_names_and_bad_checkpoints() {
    let d = tmpdir("names");
    let out = d.join("x.npz");
    let o = out.display().to_string();
    let e = fails(&[
        "collect",
        "--env",
        "humanoid-run",
        "--episodes",
        "1",
        "--out",
        &o,
    ]);
    assert!(
        e.contains("humanoid-run") && e.contains("cartpole-swingup"),
        "{e}"
    );
    assert!(!out.exists());
    let e = fails(&[
        "collect",
        "--env",
        "pendulum-swingup",
        "--policy",
        "greedy",
        "--episodes",
        "1",
        "--out",
        &o,
    ]);
    assert!(e.contains("greedy"), "{e}");
    let e = fails(&[
        "collect",
        "--env",
        "pendulum-swingup",
        "--episodes",
        "1",
        "--out",
        &o,
        "--device",
        "tpu",
    ]);
    assert!(e.contains("tpu"), "{e}");

    let ok = write(&d, "ok.npz", &arrays(120));
    let bogus = d.join("bogus.safetensors");
    std::fs::write(&bogus, b"not a checkpoint").unwrap();
    let e = fails(&[
        "eval",
        "--data",
        &ok,
        "--ckpt",
        &bogus.display().to_string(),
        "--horizon",
        "10",
        "--windows",
        "4",
    ]);
    assert!(e.contains("bogus.safetensors"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn collect_train_eval_inspect_end_to_end() {
    let d = tmpdir("e2e");
    let data = d.join("p.npz").display().to_string();
    let ckpt = d.join("k.safetensors").display().to_string();
    let ok = |args: &[&str]| {
        let out = bin().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    ok(&[
        "collect",
        "--env",
        "pendulum-swingup",
        "--episodes",
        "5",
        "--out",
        &data,
    ]);
    let common = [
        "--data",
        &data,
        "--out",
        &ckpt,
        "--preset",
        "small",
        "--batch",
        "8",
        "--horizon",
        "20",
    ];
    ok(&[&["train", "--steps", "4", "--ckpt-every", "2"][..], &common].concat());
    // Resume continues from step 4 to 6.
    let s = ok(&[&["train", "--steps", "6", "--resume"][..], &common].concat());
    assert!(s.contains("done: 6 steps"), "{s}");
    let json = d.join("eval.json").display().to_string();
    let s = ok(&[
        "eval",
        "--data",
        &data,
        "--ckpt",
        &ckpt,
        "--horizon",
        "20",
        "--windows",
        "16",
        "--json",
        &json,
    ]);
    assert!(s.contains("state MSE"), "{s}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["state_mse_per_step"].as_array().unwrap().len(), 20);
    assert!(!d.join("k.eval.csv").exists() && !d.join("k.eval.png").exists());
    let s = ok(&["inspect", "--ckpt", &ckpt]);
    assert!(s.contains("Δt"), "{s}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn pixels_need_a_dm_control_task_on_mujoco() {
    let d = tmpdir("pixels");
    let out = d.join("x.npz");
    let o = out.display().to_string();
    let args = [
        "collect",
        "--env",
        "pendulum-swingup",
        "--episodes",
        "1",
        "--pixels",
        "--out",
        &o,
    ];
    let e = fails(&args);
    assert!(e.contains("--pixels"), "{e}");
    if cfg!(feature = "mujoco") {
        assert!(
            e.contains("pendulum-swingup") && e.contains("cheetah-run"),
            "{e}"
        );
    } else {
        assert!(e.contains("--features mujoco"), "{e}");
    }
    assert!(!out.exists());
    std::fs::remove_dir_all(&d).ok();
}

/// `rl train --pixels`: only SAC learns from pixels, only a dm_control task on MuJoCo renders, a
/// state run's checkpoint does not resume as a pixel run; nothing is written for a refused run.
#[test]
fn pixel_agents_refuse_what_cannot_render_or_does_not_match() {
    let d = tmpdir("pixel-agents");
    let out = d.join("run");
    let o = out.display().to_string();
    let e = fails(&["rl", "train", "--agent", "tdmpc", "--pixels", "--out", &o]);
    assert!(e.contains("pixel observations are for --agent sac"), "{e}");
    let e = fails(&[
        "rl",
        "train",
        "--agent",
        "sac",
        "--frame-size",
        "48",
        "--out",
        &o,
    ]);
    assert!(
        e.contains("--frame-size applies to pixel agents (--pixels)"),
        "{e}"
    );
    let e = fails(&[
        "rl",
        "train",
        "--agent",
        "sac",
        "--pixels",
        "--env",
        "cartpole-swingup",
        "--out",
        &o,
    ]);
    if cfg!(feature = "mujoco") {
        assert!(
            e.contains("\"cartpole-swingup\" is not a dm_control task on MuJoCo")
                && e.contains("dmc-cartpole-swingup"),
            "{e}"
        );
    } else {
        assert!(e.contains("--features mujoco"), "{e}");
    }
    assert!(!out.exists());
    // A state-based SAC run, then the same folder resumed as a pixel run (a task that renders
    // needs MuJoCo; without it the pixel run is refused before the checkpoint is read).
    let task = if cfg!(feature = "mujoco") {
        "dmc-cartpole-swingup"
    } else {
        "point_mass-easy"
    };
    let ok = bin()
        .args([
            "rl",
            "train",
            "--agent",
            "sac",
            "--env",
            task,
            "--steps",
            "2000",
            "--seed-steps",
            "200",
            "--batch",
            "8",
            "--mlp-dim",
            "8",
            "--eval-episodes",
            "1",
            "--quiet",
            "--device",
            "cpu",
            "--out",
            &o,
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let e = fails(&[
        "rl", "train", "--agent", "sac", "--pixels", "--env", task, "--resume", "--out", &o,
    ]);
    if cfg!(feature = "mujoco") {
        assert!(
            e.contains("learned from states, this run learns from pixels"),
            "{e}"
        );
    } else {
        assert!(e.contains("--features mujoco"), "{e}");
    }
    std::fs::remove_dir_all(&d).ok();
}

/// `bench --planner` times the full plan of every planning agent (the non-planning SAC is not
/// one of them) and writes them to its JSON, each with its share of the GEMM rate per round.
#[test]
fn bench_planner_times_every_planning_agent() {
    let d = tmpdir("bench-planner");
    let json = d.join("p.json");
    let out = bin()
        .args([
            "bench",
            "--planner",
            "--horizons",
            "1",
            "--starts",
            "1",
            "--outputs",
            "rewards",
            "--models",
            "koopman",
            "--iters",
            "1",
            "--warmup",
            "0",
            "--device",
            "cpu",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.contains("\"tdmpc\"")
            && text.contains("\"koopman-tdmpc\"")
            && !text.contains("\"sac\""),
        "{text}"
    );
    // Each plan's rate over the GEMM timed just before it: a positive, finite share.
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let results = report["results"].as_array().unwrap();
    let plans: Vec<_> = results
        .iter()
        .filter(|r| r.get("agent").is_some())
        .collect();
    assert_eq!(plans.len(), 2, "{text}");
    for plan in plans {
        let share = plan["share_of_gemm_per_round_median"].as_f64().unwrap();
        assert!(share > 0.0 && share.is_finite(), "{plan}");
    }
}

/// `koopman concat` writes the parts one after another; a truncated part or one of another width
/// is an error naming that file, and no output is written.
#[test]
fn concat_writes_medium_expert_and_refuses_bad_parts() {
    let d = tmpdir("concat");
    let (a, b) = (
        write(&d, "a.npz", &arrays(30)),
        write(&d, "b.npz", &arrays(60)),
    );
    let out = d.join("ab.npz").display().to_string();
    let o = bin()
        .args(["concat", &a, &b, "--out", &out])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("90 transitions, 6 episodes"), "{stdout}");
    let cat = koopman::data::load(Path::new(&out)).unwrap();
    let (pa, pb) = (
        koopman::data::load(Path::new(&a)).unwrap(),
        koopman::data::load(Path::new(&b)).unwrap(),
    );
    assert_eq!(
        cat.observations,
        [pa.observations, pb.observations].concat()
    );
    assert_eq!(cat.rewards, [pa.rewards, pb.rewards].concat());

    let mut wide = arrays(30);
    wide[1] = ("actions", NpyArray::from_f32(vec![30, 2], &[0.5; 60]));
    let w = write(&d, "wide.npz", &wide);
    let bad = d.join("bad.npz").display().to_string();
    let e = fails(&["concat", &a, &w, "--out", &bad]);
    assert!(e.contains("wide.npz") && e.contains("actions"), "{e}");
    let bytes = std::fs::read(&b).unwrap();
    let cut = d.join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = fails(&["concat", &a, &cut.display().to_string(), "--out", &bad]);
    assert!(e.contains("cut.npz"), "{e}");
    assert!(!Path::new(&bad).exists());
    assert_no_temp_files(&d);
}
