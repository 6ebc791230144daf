//! rliable's aggregate metrics on a published test vector, the stratified bootstrap, the
//! probability of improvement and NumPy's percentile, and `koopman rl report` end to end with good
//! and bad run folders.
use koopman::rl::rliable::{
    aggregates, iqm, mean, median, optimality_gap, percentile, percentile_interval,
    performance_profile, probability_of_improvement, run_score_fraction, stratified_bootstrap_ci,
    stratified_bootstrap_ci_pair,
};
use std::path::Path;
use std::process::Command;

/// TD-MPC at 500k environment steps, seeds 1–5 (`nicklashansen/tdmpc` `results/*.csv`), one row
/// per task: acrobot-swingup, cheetah-run, quadruped-run, quadruped-walk; divided by 1000.
fn tdmpc() -> Vec<Vec<f64>> {
    [
        [240.0, 262.0, 536.0, 380.0, 291.0],
        [868.0, 817.0, 815.0, 794.0, 775.0],
        [865.0, 722.0, 742.0, 768.0, 886.0],
        [956.0, 937.0, 926.0, 948.0, 888.0],
    ]
    .iter()
    .map(|t| t.iter().map(|r| r / 1000.0).collect())
    .collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol,
        "{what}: got {a}, expected {b} ± {tol}"
    );
}

#[test]
fn test_vector_point_estimates() {
    let s = tdmpc();
    close(iqm(&s), 0.8052, 1e-4, "IQM");
    close(optimality_gap(&s), 0.2792, 1e-4, "optimality gap");
    close(mean(&s), 0.7208, 1e-4, "mean");
    // Task means 0.3418, 0.8138, 0.7966, 0.931: median = (0.7966 + 0.8138) / 2.
    close(median(&s), 0.8052, 1e-4, "median");
    // Exact to rounding: IQM = mean of ranks 6..15 of the 20 scores.
    close(iqm(&s), 8.052 / 10.0, 1e-12, "IQM exact");
}

#[test]
fn iqm_trims_a_quarter_from_each_end() {
    // n = 8, k = 2: mean of the middle four.
    let s = vec![vec![8.0, 1.0, 7.0, 2.0], vec![3.0, 6.0, 4.0, 5.0]];
    close(iqm(&s), 4.5, 1e-12, "n = 8");
    // n = 3, k = 0: the plain mean; n = 5, k = 1: mean of the middle three.
    close(iqm(&[vec![1.0, 2.0, 9.0]]), 4.0, 1e-12, "n = 3");
    close(
        iqm(&[vec![0.0, 1.0, 2.0], vec![3.0, 100.0]]),
        2.0,
        1e-12,
        "n = 5",
    );
    // Optimality gap clips at 1.
    close(optimality_gap(&[vec![1.5, 0.5]]), 0.25, 1e-12, "gap clips");
    assert!(iqm(&[]).is_nan() && mean(&[]).is_nan() && median(&[]).is_nan());
}

#[test]
fn bootstrap_intervals_of_the_test_vector() {
    let s = tdmpc();
    let (lo, hi) = stratified_bootstrap_ci(&s, iqm, 20_000, 0);
    close(lo, 0.775, 0.01, "IQM CI low");
    close(hi, 0.838, 0.01, "IQM CI high");
    let (lo, hi) = stratified_bootstrap_ci(&s, optimality_gap, 20_000, 0);
    close(lo, 0.249, 0.01, "OG CI low");
    close(hi, 0.306, 0.01, "OG CI high");
}

#[test]
fn bootstrap_is_deterministic_for_a_seed_whatever_the_threads() {
    let s = tdmpc();
    let with_threads = |n: usize, seed: u64| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(|| stratified_bootstrap_ci(&s, iqm, 5_000, seed))
    };
    let one = with_threads(1, 7);
    assert_eq!(one, with_threads(4, 7));
    assert_eq!(one, stratified_bootstrap_ci(&s, iqm, 5_000, 7));
    assert_ne!(
        one,
        with_threads(1, 8),
        "another seed gives another interval"
    );
    // The four-metric bootstrap draws the same resamples as the one-metric one.
    let a = aggregates(&s, 5_000, 7);
    assert_eq!((a.iqm.ci[0], a.iqm.ci[1]), one);
    assert_eq!(a.iqm.value, iqm(&s));
    for e in [a.iqm, a.optimality_gap, a.mean, a.median] {
        assert!(e.ci[0] <= e.value && e.value <= e.ci[1], "{e:?}");
    }
}

#[test]
fn fifty_thousand_replicates_run_fast() {
    let s = tdmpc();
    let t = std::time::Instant::now();
    let a = aggregates(&s, 50_000, 0);
    let secs = t.elapsed().as_secs_f64();
    eprintln!("50,000 replicates of 4 metrics: {secs:.2} s");
    assert!(secs < 20.0, "{secs} s");
    close(a.iqm.ci[0], 0.775, 0.01, "IQM CI low");
    close(a.iqm.ci[1], 0.838, 0.01, "IQM CI high");
    close(a.optimality_gap.ci[0], 0.249, 0.01, "OG CI low");
    close(a.optimality_gap.ci[1], 0.306, 0.01, "OG CI high");
}

#[test]
fn probability_of_improvement_cases() {
    let s = tdmpc();
    assert_eq!(probability_of_improvement(&s, &s), 0.5);
    let better: Vec<Vec<f64>> = s
        .iter()
        .map(|t| t.iter().map(|v| v + 1.0).collect())
        .collect();
    assert_eq!(probability_of_improvement(&better, &s), 1.0);
    assert_eq!(probability_of_improvement(&s, &better), 0.0);
    // Task 1: x = [1, 2, 3], y = [2, 0]: pairs won 1 (1>0) + 1.5 (2=2, 2>0) + 2 (3>2, 3>0) = 4.5
    // of 6 = 0.75. Task 2: x = [0.5, 0.5], y = [0.5, 0.7, 0.1]: each x wins 0.5 + 0 + 1 = 1.5,
    // 3 of 6 = 0.5. Mean 0.625.
    let x = vec![vec![1.0, 2.0, 3.0], vec![0.5, 0.5]];
    let y = vec![vec![2.0, 0.0], vec![0.5, 0.7, 0.1]];
    close(
        probability_of_improvement(&x, &y),
        0.625,
        1e-12,
        "hand case",
    );
    close(probability_of_improvement(&y, &x), 0.375, 1e-12, "reverse");
    // Different task lists: no answer rather than a wrong one.
    assert!(probability_of_improvement(&x, &y[..1]).is_nan());
    let (lo, hi) = stratified_bootstrap_ci_pair(&x, &y, probability_of_improvement, 2000, 0);
    assert!(
        (0.0..=0.625).contains(&lo) && (0.625..=1.0).contains(&hi),
        "{lo} {hi}"
    );
}

#[test]
fn percentile_interpolates_as_numpy() {
    // np.percentile([1, 2, 3, 4], [2.5, 97.5]) = [1.075, 3.925]
    let (lo, hi) = percentile_interval(&[4.0, 2.0, 1.0, 3.0]);
    close(lo, 1.075, 1e-12, "2.5th");
    close(hi, 3.925, 1e-12, "97.5th");
    // np.percentile([10, 0, 5], 40) = 4.0; np.percentile([3, 1, 4, 1, 5], 90) = 4.6
    close(percentile(&[10.0, 0.0, 5.0], 40.0), 4.0, 1e-12, "40th");
    close(
        percentile(&[3.0, 1.0, 4.0, 1.0, 5.0], 90.0),
        4.6,
        1e-12,
        "90th",
    );
    assert_eq!(percentile(&[3.0, 1.0, 4.0], 0.0), 1.0);
    assert_eq!(percentile(&[3.0, 1.0, 4.0], 100.0), 4.0);
    assert_eq!(percentile(&[7.0], 2.5), 7.0);
    assert!(percentile(&[], 50.0).is_nan());
}

#[test]
fn performance_profile_with_bands() {
    let s = tdmpc();
    // 10 of the 20 scores are above 0.8.
    assert_eq!(run_score_fraction(&s, 0.8), 0.5);
    let taus = [0.0, 0.5, 0.8, 0.9, 1.0];
    let p = performance_profile(&s, &taus, 2000, 0);
    assert_eq!(p.fraction, vec![1.0, 0.8, 0.5, 0.2, 0.0]);
    for (i, tau) in taus.iter().enumerate() {
        assert!(
            p.lo[i] <= p.fraction[i] && p.fraction[i] <= p.hi[i],
            "τ = {tau}"
        );
    }
    assert_eq!(p, performance_profile(&s, &taus, 2000, 0));
}

// ---- `koopman rl report` ----

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_koopman"))
}

/// Writes a run folder: `run.json` with the given return and an `eval.csv` reaching it.
fn write_run(dir: &Path, agent: &str, task: &str, seed: u64, ret: f64, steps: &[u64]) {
    std::fs::create_dir_all(dir).unwrap();
    let json = format!(
        "{{\"agent\": \"{agent}\", \"task\": \"{task}\", \"seed\": {seed}, \"env_steps\": {}, \
         \"final_eval_return\": {ret}, \"wall_seconds\": 12.5}}",
        steps.last().unwrap()
    );
    std::fs::write(dir.join("run.json"), json).unwrap();
    let mut csv = String::from("env_step,return_mean,return_std,episodes\n");
    for (i, s) in steps.iter().enumerate() {
        let r = ret * (i + 1) as f64 / steps.len() as f64;
        csv.push_str(&format!("{s},{r},{:.1},10\n", 0.1 * r));
    }
    std::fs::write(dir.join("eval.csv"), csv).unwrap();
}

/// 2 agents × 2 tasks × 3 seeds. "good": task-a 800, 850, 900 and task-b 600, 700, 650 → IQM of
/// {0.6, 0.65, 0.7, 0.8, 0.85, 0.9} = mean(0.65, 0.7, 0.8, 0.85) = 0.75. "weak": 100, 200, 300 and
/// 400, 500, 600 → IQM 0.35. P(good > weak) = (1 + 8.5/9) / 2.
fn write_fixture(root: &Path) {
    let steps = [0, 5000, 10000];
    for (agent, a, b) in [
        ("good", [800.0, 850.0, 900.0], [600.0, 700.0, 650.0]),
        ("weak", [100.0, 200.0, 300.0], [400.0, 500.0, 600.0]),
    ] {
        for seed in 0..3 {
            let i = seed as usize;
            let base = root.join(agent);
            write_run(
                &base.join(format!("task-a-{seed}")),
                agent,
                "task-a",
                seed,
                a[i],
                &steps,
            );
            // One run of "weak" was also evaluated at 7500 steps.
            let extra = [0, 5000, 7500, 10000];
            let st: &[u64] = if agent == "weak" && seed == 2 {
                &extra
            } else {
                &steps
            };
            write_run(
                &base.join(format!("task-b-{seed}")),
                agent,
                "task-b",
                seed,
                b[i],
                st,
            );
        }
    }
}

fn report(args: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut c = bin();
    c.args(["rl", "report"]).args(args).args(extra);
    c.output().unwrap()
}

#[test]
fn report_writes_tables_json_and_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    write_fixture(&runs);
    let out = tmp.path().join("report");
    let o = report(
        &[&runs],
        &[
            "--out",
            out.to_str().unwrap(),
            "--reps",
            "2000",
            "--seed",
            "3",
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stderr: {stderr}\nstdout: {stdout}");
    assert!(stdout.contains("P(good > weak)"), "{stdout}");
    for f in ["report.json", "report.md", "profile.png", "curves.png"] {
        let p = out.join(f);
        assert!(p.is_file() && p.metadata().unwrap().len() > 100, "{f}");
    }
    let png = std::fs::read(out.join("profile.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(j["tasks"], serde_json::json!(["task-a", "task-b"]));
    assert_eq!(j["reps"], 2000);
    let agents = j["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2);
    let (good, weak) = (&agents[0], &agents[1]);
    assert_eq!(good["agent"], "good");
    assert_eq!(
        (good["tasks"].as_u64(), good["runs"].as_u64()),
        (Some(2), Some(6))
    );
    close(
        good["iqm"]["value"].as_f64().unwrap(),
        0.75,
        1e-12,
        "good IQM",
    );
    close(
        weak["iqm"]["value"].as_f64().unwrap(),
        0.35,
        1e-12,
        "weak IQM",
    );
    close(
        good["mean"]["value"].as_f64().unwrap(),
        0.75,
        1e-12,
        "good mean",
    );
    close(
        good["optimality_gap"]["value"].as_f64().unwrap(),
        0.25,
        1e-12,
        "good OG",
    );
    let ci = good["iqm"]["ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= 0.75 && 0.75 <= ci[1].as_f64().unwrap());
    let poi = j["probability_of_improvement"].as_array().unwrap();
    assert_eq!(poi.len(), 2, "both directions");
    assert_eq!(
        (poi[0]["x"].as_str(), poi[0]["y"].as_str()),
        (Some("good"), Some("weak"))
    );
    close(
        poi[0]["value"].as_f64().unwrap(),
        (1.0 + 8.5 / 9.0) / 2.0,
        1e-12,
        "P(good > weak)",
    );
    close(
        poi[1]["value"].as_f64().unwrap(),
        (0.5 / 9.0) / 2.0,
        1e-12,
        "P(weak > good)",
    );
    // Curves: steps shared by all runs; weak's extra step at 7500 is left out.
    assert_eq!(
        j["curves"]["good"]["env_steps"],
        serde_json::json!([0, 5000, 10000])
    );
    assert_eq!(
        j["curves"]["weak"]["env_steps"],
        serde_json::json!([0, 5000, 10000])
    );
    assert_eq!(j["curves"]["weak"]["env_steps_not_shared"], 1);
    close(
        j["curves"]["good"]["iqm"][2].as_f64().unwrap(),
        0.75,
        1e-12,
        "curve end",
    );
    assert_eq!(
        j["performance_profile"]["good"]["taus"]
            .as_array()
            .unwrap()
            .len(),
        101
    );
    assert_eq!(j["runs"].as_array().unwrap().len(), 12);

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| good | 2 | 6 | 0.750 ["), "{md}");

    // --baseline: one comparison; the same seed gives the same file.
    let out2 = tmp.path().join("report2");
    let o = report(
        &[&runs.join("good"), &runs.join("weak")],
        &[
            "--out",
            out2.to_str().unwrap(),
            "--reps",
            "2000",
            "--seed",
            "3",
            "--baseline",
            "weak",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out2.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        j2["probability_of_improvement"].as_array().unwrap().len(),
        1
    );
    assert_eq!(j2["agents"], j["agents"]);
}

/// Runs the report on `root` and checks for a clean failure whose message holds every `needle`.
fn fails(root: &Path, extra: &[&str], needles: &[&str]) {
    let out = root.parent().unwrap().join("out");
    let mut args = vec!["--out", out.to_str().unwrap(), "--reps", "100"];
    args.extend_from_slice(extra);
    let o = report(&[root], &args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected exit 1; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    assert!(!out.join("report.json").exists());
}

/// A fixture with one file of one run replaced (relative to that run's folder).
fn broken(file: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    write_fixture(&runs);
    let path = runs.join("weak").join("task-b-1").join(file);
    std::fs::write(&path, text).unwrap();
    let shown = path.display().to_string();
    (tmp, runs, shown)
}

#[test]
fn report_names_the_file_and_field_of_bad_input() {
    // Missing field.
    let (_t, runs, file) = broken(
        "run.json",
        r#"{"agent": "weak", "task": "task-b", "seed": 1, "env_steps": 10000}"#,
    );
    fails(&runs, &[], &[&file, "missing field \"final_eval_return\""]);
    // Malformed JSON.
    let (_t, runs, file) = broken("run.json", r#"{"agent": "weak", "task": "#);
    fails(&runs, &[], &[&file, "not valid JSON"]);
    // NaN (written as null) and negative returns.
    let (_t, runs, file) = broken(
        "run.json",
        r#"{"agent": "weak", "task": "task-b", "seed": 1, "env_steps": 1, "final_eval_return": null}"#,
    );
    fails(&runs, &[], &[&file, "final_eval_return", "null"]);
    let (_t, runs, file) = broken(
        "run.json",
        r#"{"agent": "weak", "task": "task-b", "seed": 1, "env_steps": 1, "final_eval_return": -5}"#,
    );
    fails(&runs, &[], &[&file, "final_eval_return", "negative"]);
    // Wrong type.
    let (_t, runs, file) = broken(
        "run.json",
        r#"{"agent": "weak", "task": "task-b", "seed": "one", "env_steps": 1, "final_eval_return": 5}"#,
    );
    fails(&runs, &[], &[&file, "\"seed\""]);
    // A truncated CSV row.
    let (_t, runs, file) = broken(
        "eval.csv",
        "env_step,return_mean,return_std,episodes\n0,1.0,0.1,10\n5000,81",
    );
    fails(&runs, &[], &[&file, "line 3", "truncated"]);
    // A NaN in the CSV.
    let (_t, runs, file) = broken(
        "eval.csv",
        "env_step,return_mean,return_std,episodes\n0,NaN,0.1,10\n",
    );
    fails(&runs, &[], &[&file, "line 2", "return_mean"]);
}

#[test]
fn report_refuses_missing_runs_and_tasks() {
    // Empty folder.
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    fails(
        &empty,
        &[],
        &["no runs found", &empty.display().to_string()],
    );

    // eval.csv without run.json.
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    write_fixture(&runs);
    let gone = runs.join("good").join("task-a-0").join("run.json");
    std::fs::remove_file(&gone).unwrap();
    fails(&runs, &[], &[&gone.display().to_string(), "missing"]);

    // An agent without one task.
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    write_fixture(&runs);
    for seed in 0..3 {
        std::fs::remove_dir_all(runs.join("weak").join(format!("task-b-{seed}"))).unwrap();
    }
    fails(
        &runs,
        &[],
        &["agent \"weak\"", "task \"task-b\"", "agent \"good\""],
    );

    // An unknown baseline.
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    write_fixture(&runs);
    fails(
        &runs,
        &["--baseline", "sac"],
        &["--baseline sac", "good, weak"],
    );
}
