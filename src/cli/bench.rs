//! `koopman bench`: training iterations/s of the four models beside the paper's A100 figures (Table 3),
//! with `--planner`, the latency of the no-grad rollout a planner runs, or with `--conv2d`,
//! conv2d's passes as a share of the GEMM rate. Prints a table as points
//! finish and rewrites the JSON report atomically after each one, so a long run that is stopped keeps
//! what it measured.
use super::conv2d_speed::{self, ConvPoint};
use super::host::Host;
use super::planner_latency::{self, PlannerCase, PlannerOutput, PlannerPoint};
use super::train_speed::{self, Timing, TrainPoint, PAPER_LENGTHS};
use crate::models::ModelKind;
use crate::{Error, Result};
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Flags; unset ones take the `--quick` preset when given, else the full defaults.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BenchArgs {
    /// Comma-separated models: mlp, transformer, gru, koopman [default: all; planner: koopman]
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Training sequence lengths [default: 10,50,100,200,500; quick: 10,50]
    #[arg(long, value_delimiter = ',')]
    pub lengths: Vec<usize>,
    /// Training batch size [default: 256]
    #[arg(long)]
    pub batch: Option<usize>,
    /// Timed iterations per point [default: 5, planner 20; quick: 3, planner 5]
    #[arg(long)]
    pub iters: Option<usize>,
    /// Untimed warm-up iterations per point [default: 1, planner 2]
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Write the results as JSON to this path (atomically: a temporary file beside it, then rename)
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Smaller preset for a smoke run (fewer lengths and iterations; batch stays 256)
    #[arg(long)]
    pub quick: bool,
    /// Also time every op of the timed CPU training steps and print where each step goes
    #[arg(long)]
    pub profile: bool,
    /// Measure planner rollout latency instead of training speed
    #[arg(long)]
    pub planner: bool,
    /// Measure conv2d's three passes at the pixel encoder's shapes on the CPU instead, each right
    /// after a 1024³ GEMM, as a share of the GEMM rate per round [rounds: --iters, default 30]
    #[arg(long, conflicts_with = "planner")]
    pub conv2d: bool,
    /// Planner horizons [default: 5,20; quick: 5]
    #[arg(long, value_delimiter = ',')]
    pub horizons: Vec<usize>,
    /// Planner starting states per call [default: 1,64; quick: 1]
    #[arg(long, value_delimiter = ',')]
    pub starts: Vec<usize>,
    /// Planner candidate action sequences per starting state [default: 512]
    #[arg(long)]
    pub candidates: Option<usize>,
    /// Planner outputs: rewards (no state decoder, what MPPI scores) and/or states (decoded states
    /// and rewards) [default: rewards,states]
    #[arg(long, value_delimiter = ',')]
    pub outputs: Vec<String>,
    /// Most sequences per predictor call, bounding memory (0: one call) [default: 4096]
    #[arg(long)]
    pub chunk: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// auto, cpu, cuda or emu (the CUDA code path emulated on the CPU): where training steps and planner rollouts run
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Matmul arithmetic on CUDA: fp32, tf32 or bf16 (FP32 accumulation)
    #[arg(long, default_value = "fp32")]
    pub precision: String,
}

fn or_preset<T: Clone>(given: &[T], quick: bool, quick_v: &[T], full_v: &[T]) -> Vec<T> {
    match (given.is_empty(), quick) {
        (false, _) => given.to_vec(),
        (true, true) => quick_v.to_vec(),
        (true, false) => full_v.to_vec(),
    }
}

fn positive(name: &str, values: &[usize]) -> Result<()> {
    match values.iter().find(|&&v| v == 0) {
        Some(_) => Err(Error::Invalid(format!("--{name} values must be ≥ 1"))),
        None => Ok(()),
    }
}

fn parse_models(names: &[String], default: &[ModelKind]) -> Result<Vec<ModelKind>> {
    if names.is_empty() {
        return Ok(default.to_vec());
    }
    names
        .iter()
        .map(|n| ModelKind::parse(&n.trim().to_ascii_lowercase()))
        .collect()
}

/// Runs the benchmark the flags select.
pub fn run(args: &BenchArgs) -> Result<()> {
    let mut host = Host::detect();
    super::precision_name(if args.precision.is_empty() {
        "fp32"
    } else {
        &args.precision
    })?;
    if let Some(j) = &args.json {
        super::output("--json", j, &[])?;
    }
    let flag = if args.device.is_empty() {
        "auto"
    } else {
        &args.device
    };
    host.device = super::device(flag)?;
    let precision = if args.precision.is_empty() {
        "fp32"
    } else {
        &args.precision
    };
    super::precision(host.device, precision)?;
    host.precision = precision.to_string();
    println!("{}", host.banner());
    if args.conv2d {
        run_conv2d(args, &host).map(|_| ())
    } else if args.planner {
        run_planner(args, &host).map(|_| ())
    } else {
        run_training(args, &host).map(|_| ())
    }
}

/// The paper's column order.
const TRAIN_ORDER: [ModelKind; 4] = [
    ModelKind::Mlp,
    ModelKind::Transformer,
    ModelKind::Gru,
    ModelKind::Koopman,
];

pub fn run_training(args: &BenchArgs, host: &Host) -> Result<Vec<TrainPoint>> {
    let models = parse_models(&args.models, &TRAIN_ORDER)?;
    let lengths = or_preset(&args.lengths, args.quick, &[10, 50], &PAPER_LENGTHS);
    let batch = args.batch.unwrap_or(256);
    let iters = args.iters.unwrap_or(if args.quick { 3 } else { 5 });
    let warmup = args.warmup.unwrap_or(1);
    positive("lengths", &lengths)?;
    positive("batch", &[batch])?;
    positive("iters", &[iters])?;
    // Every point's memory before the first is measured, so a huge --batch or length is refused
    // up front rather than aborting an allocation hours in.
    for &kind in &models {
        for &t in &lengths {
            let cfg = crate::models::ModelConfig::default_for(
                kind,
                train_speed::OBS_DIM,
                train_speed::ACT_DIM,
            );
            let bytes = crate::experiment::estimate_bytes(
                &cfg,
                batch,
                t,
                train_speed::OBS_DIM,
                train_speed::ACT_DIM,
            );
            crate::util::files::check_memory(
                &format!("{} at --batch {batch}, length {t}", kind.name()),
                bytes,
            )
            .map_err(|m| Error::Invalid(format!("{m}; use a smaller --batch or --lengths")))?;
        }
    }
    let config = Value::from_iter([
        ("batch", batch.into()),
        ("iters", iters.into()),
        ("warmup", warmup.into()),
        ("obs_dim", train_speed::OBS_DIM.into()),
        ("act_dim", train_speed::ACT_DIM.into()),
        ("seed", Value::from(args.seed as f64)),
    ]);
    println!(
        "training step (forward + backward + clip + Adam), batch {batch}, {} timed iterations after {warmup} warm-up; random data, d_s = {}, d_a = {}",
        iters,
        train_speed::OBS_DIM,
        train_speed::ACT_DIM
    );
    println!(
        "{:<12} {:>5} {:>10} {:>10} {:>19} {:>10} {:>9} {:>8}",
        "model", "T", "params", "ms/iter", "it/s [p10, p90]", "A100 it/s", "vs A100", "peak GB"
    );
    let mut points = Vec::new();
    for &kind in &models {
        for &t in &lengths {
            let timing = Timing {
                iters,
                warmup,
                profile: args.profile,
            };
            let p = train_speed::measure(kind, t, batch, timing, args.seed, host.device)?;
            let paper = train_speed::paper_its(kind, t);
            println!(
                "{:<12} {:>5} {:>10} {:>10.1} {:>7.2} [{:>4.2}, {:>4.2}] {:>10} {:>9} {:>8}",
                kind.name(),
                t,
                p.params,
                p.secs.median * 1e3,
                p.its_median(),
                p.its_p10(),
                p.its_p90(),
                paper.map_or("-".into(), |v| format!("{v:.2}")),
                paper.map_or("-".into(), |v| format!("{:.3}×", p.its_median() / v)),
                gigabytes(p.peak_rss_bytes),
            );
            match &p.profile {
                Some(prof) => print!("{}", prof.report(iters, 15)),
                None if args.profile => println!("profile: per-op times are CPU-only"),
                None => {}
            }
            let _ = std::io::stdout().flush();
            points.push(p);
            if let Some(path) = &args.json {
                let results = points.iter().map(TrainPoint::to_json).collect();
                save(path, "train", host, config.clone(), results)?;
            }
        }
    }
    Ok(points)
}

pub fn run_planner(args: &BenchArgs, host: &Host) -> Result<Vec<PlannerPoint>> {
    let models = parse_models(&args.models, &[ModelKind::Koopman])?;
    let horizons = or_preset(&args.horizons, args.quick, &[5], &[5, 20]);
    let starts = or_preset(&args.starts, args.quick, &[1], &[1, 64]);
    let candidates = args.candidates.unwrap_or(512);
    let outputs = match args.outputs.is_empty() {
        true => vec![PlannerOutput::Rewards, PlannerOutput::States],
        false => args
            .outputs
            .iter()
            .map(|o| PlannerOutput::parse(o.trim()))
            .collect::<Result<Vec<_>>>()?,
    };
    let chunk = args.chunk.unwrap_or(4096);
    let iters = args.iters.unwrap_or(if args.quick { 5 } else { 20 });
    let warmup = args.warmup.unwrap_or(2);
    positive("horizons", &horizons)?;
    positive("starts", &starts)?;
    positive("candidates", &[candidates])?;
    positive("iters", &[iters])?;
    // Inputs and outputs for every sequence, plus one chunk's activations (no gradients): refused
    // up front when this machine cannot hold them.
    for &kind in &models {
        let cfg = crate::models::ModelConfig::default_for(
            kind,
            train_speed::OBS_DIM,
            train_speed::ACT_DIM,
        );
        for &s in &starts {
            for &h in &horizons {
                let (od, ad) = (train_speed::OBS_DIM as u64, train_speed::ACT_DIM as u64);
                let bytes = (s as u64).checked_mul(candidates as u64).and_then(|n| {
                    let per_call = if chunk == 0 { n } else { n.min(chunk as u64) };
                    let io = n.checked_mul(h as u64)?.checked_mul((od + ad + 1) * 4)?;
                    let acts = per_call
                        .checked_mul(h as u64)?
                        .checked_mul(cfg.activation_width()?)?
                        .checked_mul(4)?;
                    io.checked_add(acts)
                });
                crate::util::files::check_memory(
                    &format!(
                        "{} planner with --starts {s}, --candidates {candidates}, horizon {h}",
                        kind.name()
                    ),
                    bytes,
                )
                .map_err(|m| {
                    Error::Invalid(format!(
                        "{m}; use fewer --starts or --candidates, a shorter --horizons or a \
                         smaller --chunk"
                    ))
                })?;
            }
        }
    }
    let config = Value::from_iter([
        ("candidates", candidates.into()),
        ("chunk", chunk.into()),
        (
            "outputs",
            Value::Array(outputs.iter().map(|o| o.name().into()).collect()),
        ),
        ("iters", iters.into()),
        ("warmup", warmup.into()),
        ("seed", Value::from(args.seed as f64)),
    ]);
    let mut points = Vec::new();
    let mut plans = Vec::new();
    println!(
        "full TD-MPC plan (Agent::act: 6 iterations × {} sequences, TD-MPC's sizes, warm), {iters} timed plans after {warmup} warm-up",
        512 + 25
    );
    println!(
        "{:<14} {:>4} {:>12} {:>12} {:>12} {:>10} {:>12} {:>16}",
        "agent",
        "H",
        "median ms",
        "p99 ms",
        "GFLOP/plan",
        "GFLOP/s",
        "GEMM GFLOP/s",
        "share per round"
    );
    for agent in crate::rl::run::PLANNING_AGENTS {
        for &h in &horizons {
            let p = super::tdmpc_plan::measure(host.device, agent, h, iters, warmup)?;
            println!(
                "{:<14} {:>4} {:>12.2} {:>12.2} {:>12.2} {:>10.1} {:>12.1} {:>7.0}% ({:.0}–{:.0}%)",
                agent,
                h,
                p.secs.median * 1e3,
                p.secs.p99 * 1e3,
                p.flop / 1e9,
                p.gflops(),
                p.gemm_flops / 1e9,
                100.0 * p.share.median,
                100.0 * p.share.p10,
                100.0 * p.share.p90,
            );
            let _ = std::io::stdout().flush();
            plans.push(p.to_json());
        }
    }
    if let Some(path) = &args.json {
        save(path, "planner", host, config.clone(), plans.clone())?;
    }
    println!(
        "planner rollout (no-grad Predictor, pooled buffers), {candidates} candidates per start, ≤{} sequences per call, {iters} timed calls after {warmup} warm-up",
        if chunk == 0 { "all".to_string() } else { chunk.to_string() }
    );
    println!(
        "{:<12} {:>8} {:>6} {:>7} {:>4} {:>12} {:>12} {:>14} {:>8}",
        "model", "output", "starts", "seqs", "H", "median ms", "p99 ms", "candidates/s", "peak GB"
    );
    for &kind in &models {
        for &s in &starts {
            for &h in &horizons {
                for &output in &outputs {
                    let case = PlannerCase {
                        kind,
                        starts: s,
                        candidates,
                        horizon: h,
                        chunk,
                        output,
                    };
                    let p = planner_latency::measure(case, iters, warmup, args.seed, host.device)?;
                    println!(
                        "{:<12} {:>8} {:>6} {:>7} {:>4} {:>12.2} {:>12.2} {:>14.0} {:>8}",
                        kind.name(),
                        output.name(),
                        s,
                        case.sequences(),
                        h,
                        p.secs.median * 1e3,
                        p.secs.p99 * 1e3,
                        p.candidates_per_sec(),
                        gigabytes(p.peak_rss_bytes),
                    );
                    let _ = std::io::stdout().flush();
                    points.push(p);
                    if let Some(path) = &args.json {
                        let results = plans
                            .iter()
                            .cloned()
                            .chain(points.iter().map(PlannerPoint::to_json))
                            .collect();
                        save(path, "planner", host, config.clone(), results)?;
                    }
                }
            }
        }
    }
    Ok(points)
}

pub fn run_conv2d(args: &BenchArgs, host: &Host) -> Result<Vec<ConvPoint>> {
    let rounds = args.iters.unwrap_or(if args.quick { 5 } else { 30 });
    let warmup = args.warmup.unwrap_or(1);
    positive("iters", &[rounds])?;
    println!(
        "conv2d on the CPU backend, {} rayon threads: {rounds} rounds, each pass after a GEMM",
        rayon::current_num_threads()
    );
    let points = conv2d_speed::measure(rounds, warmup)?;
    println!("{}", conv2d_speed::HEADER);
    for p in &points {
        println!("{}", p.row());
    }
    if let Some(path) = &args.json {
        let config = Value::from_iter([("rounds", rounds), ("warmup", warmup)]);
        let results = points.iter().map(ConvPoint::to_json).collect();
        save(path, "conv2d", host, config, results)?;
    }
    Ok(points)
}

fn gigabytes(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.2}", b as f64 / 1e9))
}

fn save(path: &Path, kind: &str, host: &Host, config: Value, results: Vec<Value>) -> Result<()> {
    let report = Value::from_iter([
        ("benchmark", Value::from(kind)),
        ("host", host.to_json()),
        ("config", config),
        ("results", Value::Array(results)),
    ]);
    super::write_json(path, &report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_model_is_an_error_naming_it() {
        let args = BenchArgs {
            models: vec!["lstm".into()],
            ..Default::default()
        };
        let err = run_training(&args, &Host::detect())
            .unwrap_err()
            .to_string();
        assert!(err.contains("lstm"), "{err}");
    }

    #[test]
    fn zero_lengths_and_batch_are_errors() {
        let host = Host::detect();
        let zero_len = BenchArgs {
            lengths: vec![10, 0],
            ..Default::default()
        };
        assert!(run_training(&zero_len, &host).is_err());
        let zero_batch = BenchArgs {
            batch: Some(0),
            ..Default::default()
        };
        assert!(run_training(&zero_batch, &host).is_err());
    }

    #[test]
    fn a_conv2d_round_writes_every_pass_and_zero_rounds_is_an_error() {
        let dir = std::env::temp_dir().join(format!("koopman-bench-c-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("c.json");
        let args = BenchArgs {
            conv2d: true,
            iters: Some(1),
            warmup: Some(0),
            json: Some(out.clone()),
            ..Default::default()
        };
        let points = run_conv2d(&args, &Host::detect()).unwrap();
        let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let results = report["results"].as_array().unwrap();
        assert_eq!((points.len(), results.len()), (6, 6));
        for r in results {
            let share = r["share_median"].as_f64().unwrap();
            assert!(share > 0.0 && share.is_finite(), "{r}");
            assert_eq!(r["rounds"], 1);
        }
        assert_eq!(results[5]["pass"], "weight_grad");
        let zero = BenchArgs {
            iters: Some(0),
            ..args
        };
        let err = run_conv2d(&zero, &Host::detect()).unwrap_err().to_string();
        assert!(err.contains("--iters"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn presets_yield_to_explicit_flags() {
        assert_eq!(or_preset(&[], true, &[1], &[2, 3]), vec![1]);
        assert_eq!(or_preset(&[], false, &[1], &[2, 3]), vec![2, 3]);
        assert_eq!(or_preset(&[7], true, &[1], &[2, 3]), vec![7]);
    }

    #[test]
    fn a_tiny_training_run_writes_json() {
        let dir = std::env::temp_dir().join(format!("koopman-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("b.json");
        let args = BenchArgs {
            models: vec!["koopman".into(), "gru".into()],
            lengths: vec![2],
            batch: Some(2),
            iters: Some(2),
            warmup: Some(0),
            json: Some(out.clone()),
            ..Default::default()
        };
        let pts = run_training(&args, &Host::detect()).unwrap();
        assert_eq!(pts.len(), 2);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("\"model\": \"gru\"") && text.contains("\"rayon_threads\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
