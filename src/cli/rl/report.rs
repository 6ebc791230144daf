//! `koopman rl report DIR... --out OUT`: aggregates RL run folders with rliable's metrics
//! ([`crate::rl::rliable`]) and writes `report.json`, `report.md`, `profile.png` and `curves.png`.
//!
//! A run folder holds
//! - `run.json`: an object with at least `agent` and `task` (non-empty strings), `seed` and
//!   `env_steps` (non-negative integers) and `final_eval_return` (a number, at least 0); other
//!   fields are ignored;
//! - `eval.csv`: the header `env_step,return_mean,return_std,episodes`, then one row per
//!   evaluation with strictly increasing `env_step`.
//!
//! A run's score is `final_eval_return / 1000` (DMC returns lie in [0, 1000]). Every agent must
//! have runs of every task found; tasks may have different numbers of runs.
use crate::rl::rliable::{self, Aggregates, Estimate, Profile};
use crate::util::files;
use crate::util::plot::{self, Band, Chart, Kind, Series};
use crate::{Error, Result};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The largest return of a DMC episode; scores are returns divided by it.
pub const MAX_RETURN: f64 = 1000.0;

/// Bootstrap replicates of the performance profiles and learning curves at most (rliable's
/// figures use 2,000).
pub const BAND_REPS: usize = 2000;

/// Points of the performance profile (τ from 0 to 1, or to the best score above 1).
pub const PROFILE_POINTS: usize = 101;

/// The `eval.csv` columns, in order.
pub const EVAL_COLUMNS: [&str; 4] = ["env_step", "return_mean", "return_std", "episodes"];

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Run folders (each holding run.json and eval.csv), or folders holding run folders one or two
    /// levels down.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Folder for report.json, report.md, profile.png and curves.png (created if missing).
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Bootstrap replicates of the intervals (profiles and curves use at most 2,000).
    #[arg(long, default_value_t = 50_000)]
    pub reps: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report the probability of improvement of every other agent over this one only (by default,
    /// of every agent over every other).
    #[arg(long, value_name = "AGENT")]
    pub baseline: Option<String>,
}

/// One evaluation row of `eval.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EvalRow {
    pub env_step: u64,
    pub return_mean: f64,
    pub return_std: f64,
    pub episodes: u64,
}

/// One run folder, read and checked.
#[derive(Clone, Debug)]
pub struct Run {
    pub dir: PathBuf,
    pub agent: String,
    pub task: String,
    pub seed: u64,
    pub env_steps: u64,
    pub final_eval_return: f64,
    pub evals: Vec<EvalRow>,
}

impl Run {
    /// `final_eval_return / 1000`.
    pub fn score(&self) -> f64 {
        self.final_eval_return / MAX_RETURN
    }
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: {msg}", path.display()))
}

/// A JSON value for a message, shortened.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// Reads and checks `dir/run.json` and `dir/eval.csv`.
pub fn load_run(dir: &Path) -> Result<Run> {
    let path = dir.join("run.json");
    let bytes = files::read_input(&path).map_err(|e| Error::io(&path, e))?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(&path, format!("not valid JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| {
        bad(
            &path,
            format!("expected a JSON object, found {}", shown(&v)),
        )
    })?;
    let field = |name: &str| {
        obj.get(name)
            .ok_or_else(|| bad(&path, format!("missing field \"{name}\"")))
    };
    let string = |name: &str| -> Result<String> {
        match field(name)? {
            Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            other => Err(bad(
                &path,
                format!(
                    "field \"{name}\" must be a non-empty string, found {}",
                    shown(other)
                ),
            )),
        }
    };
    let count = |name: &str| -> Result<u64> {
        let f = field(name)?;
        f.as_u64().ok_or_else(|| {
            bad(
                &path,
                format!(
                    "field \"{name}\" must be a non-negative integer, found {}",
                    shown(f)
                ),
            )
        })
    };
    let name = "final_eval_return";
    let ret = match field(name)? {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::Null => {
            return Err(bad(
                &path,
                format!(
                    "field \"{name}\" is null, not a finite return (a NaN or infinity is written \
                     as null)"
                ),
            ))
        }
        other => {
            return Err(bad(
                &path,
                format!("field \"{name}\" must be a number, found {}", shown(other)),
            ))
        }
    };
    check_return(ret).map_err(|m| bad(&path, format!("field \"{name}\" is {m}")))?;
    let (agent, task, seed, env_steps) = (
        string("agent")?,
        string("task")?,
        count("seed")?,
        count("env_steps")?,
    );
    let evals = load_eval_csv(&dir.join("eval.csv"))?;
    Ok(Run {
        dir: dir.to_path_buf(),
        agent,
        task,
        seed,
        env_steps,
        final_eval_return: ret,
        evals,
    })
}

/// A return must be a finite number, at least 0.
fn check_return(r: f64) -> std::result::Result<(), String> {
    if !r.is_finite() {
        Err(format!("{r}, not a finite return"))
    } else if r < 0.0 {
        Err(format!(
            "{r}, a negative return; DMC returns lie in [0, {MAX_RETURN}]"
        ))
    } else {
        Ok(())
    }
}

/// Reads and checks an `eval.csv` (see the module documentation).
pub fn load_eval_csv(path: &Path) -> Result<Vec<EvalRow>> {
    let bytes = files::read_input(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| bad(path, format!("not UTF-8 text: {e}")))?;
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) => h.split(',').map(str::trim).collect(),
        None => return Err(bad(path, "empty file; expected a header line")),
    };
    if header != EVAL_COLUMNS {
        return Err(bad(
            path,
            format!(
                "line 1: header \"{}\"; expected \"{}\"",
                header.join(","),
                EVAL_COLUMNS.join(",")
            ),
        ));
    }
    let mut rows: Vec<EvalRow> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != EVAL_COLUMNS.len() {
            return Err(bad(
                path,
                format!(
                    "line {n}: {} fields, the header has {} (a truncated row?)",
                    fields.len(),
                    EVAL_COLUMNS.len()
                ),
            ));
        }
        let col = |k: usize| -> Result<f64> {
            let name = EVAL_COLUMNS[k];
            let v: f64 = fields[k].parse().map_err(|_| {
                bad(
                    path,
                    format!(
                        "line {n}, column \"{name}\": \"{}\" is not a number",
                        fields[k]
                    ),
                )
            })?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(bad(
                    path,
                    format!("line {n}, column \"{name}\": {v} is not a finite number"),
                ))
            }
        };
        let int = |k: usize| -> Result<u64> {
            fields[k].parse().map_err(|_| {
                bad(
                    path,
                    format!(
                        "line {n}, column \"{}\": \"{}\" is not a non-negative integer",
                        EVAL_COLUMNS[k], fields[k]
                    ),
                )
            })
        };
        let row = EvalRow {
            env_step: int(0)?,
            return_mean: col(1)?,
            return_std: col(2)?,
            episodes: int(3)?,
        };
        check_return(row.return_mean)
            .map_err(|m| bad(path, format!("line {n}, column \"return_mean\": {m}")))?;
        if let Some(prev) = rows.last() {
            if row.env_step <= prev.env_step {
                return Err(bad(
                    path,
                    format!(
                        "line {n}: env_step {} does not increase on the previous row's {}",
                        row.env_step, prev.env_step
                    ),
                ));
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(bad(path, "no evaluation rows after the header"));
    }
    Ok(rows)
}

/// Sub-folders of `dir`, sorted by name.
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.is_dir() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Whether `dir` is a run folder: it has `run.json`. A folder with `eval.csv` but no `run.json`
/// is an incomplete run and an error.
fn is_run(dir: &Path) -> Result<bool> {
    let json = dir.join("run.json");
    if json.exists() {
        return Ok(true);
    }
    if dir.join("eval.csv").exists() {
        return Err(Error::io(
            &json,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "missing (the folder has eval.csv, so it looks like a run folder)",
            ),
        ));
    }
    Ok(false)
}

/// The run folders under the arguments: each argument that is a run folder, else its
/// sub-folders that are, else theirs (two levels down). The same folder reached twice counts once.
pub fn find_runs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for d in dirs {
        let meta = std::fs::metadata(d).map_err(|e| Error::io(d, e))?;
        if !meta.is_dir() {
            return Err(bad(
                d,
                "not a folder; give run folders or folders holding them",
            ));
        }
        if is_run(d)? {
            found.push(d.clone());
            continue;
        }
        for c in subdirs(d)? {
            if is_run(&c)? {
                found.push(c);
                continue;
            }
            for g in subdirs(&c)? {
                if is_run(&g)? {
                    found.push(g);
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(found)
}

/// Runs grouped by agent, then task; runs of a task sorted by seed.
pub type Groups = BTreeMap<String, BTreeMap<String, Vec<Run>>>;

/// Groups runs by agent and task, checking that no (agent, task, seed) appears twice and that
/// every agent has runs of every task. Returns the groups and the sorted task names.
pub fn group(runs: Vec<Run>) -> Result<(Groups, Vec<String>)> {
    let mut groups: Groups = BTreeMap::new();
    for r in runs {
        let runs = groups
            .entry(r.agent.clone())
            .or_default()
            .entry(r.task.clone())
            .or_default();
        if let Some(other) = runs.iter().find(|o| o.seed == r.seed) {
            return Err(Error::Invalid(format!(
                "{} and {} are both agent \"{}\", task \"{}\", seed {}; give each run once",
                other.dir.display(),
                r.dir.display(),
                r.agent,
                r.task,
                r.seed
            )));
        }
        runs.push(r);
    }
    for by_task in groups.values_mut() {
        for runs in by_task.values_mut() {
            runs.sort_by_key(|r| r.seed);
        }
    }
    let tasks: BTreeSet<String> = groups.values().flat_map(|t| t.keys().cloned()).collect();
    for (agent, by_task) in &groups {
        for task in &tasks {
            if by_task.contains_key(task) {
                continue;
            }
            let other = groups
                .iter()
                .find_map(|(a, t)| t.get(task).and_then(|r| r.first()).map(|r| (a, r)));
            let which = match other {
                Some((o, r)) => format!(", which agent \"{o}\" has (e.g. {})", r.dir.display()),
                None => String::new(),
            };
            return Err(Error::Invalid(format!(
                "agent \"{agent}\" has no runs of task \"{task}\"{which}; every agent must be run \
                 on the same tasks, so add its runs of \"{task}\" or leave that task's runs out"
            )));
        }
    }
    Ok((groups, tasks.into_iter().collect()))
}

/// Scores per task (in `tasks` order) of one agent.
fn scores_of(by_task: &BTreeMap<String, Vec<Run>>, tasks: &[String]) -> Vec<Vec<f64>> {
    tasks
        .iter()
        .map(|t| by_task[t].iter().map(Run::score).collect())
        .collect()
}

#[derive(Serialize)]
struct AgentReport {
    agent: String,
    tasks: usize,
    runs: usize,
    runs_per_task: BTreeMap<String, usize>,
    /// Mean score of each task.
    task_mean: BTreeMap<String, f64>,
    #[serde(flatten)]
    aggregates: Aggregates,
}

#[derive(Serialize)]
struct PoiReport {
    x: String,
    y: String,
    /// P(X > Y).
    #[serde(flatten)]
    estimate: Estimate,
}

#[derive(Serialize)]
struct CurveReport {
    /// Evaluation steps shared by all the agent's runs (the curve's x values).
    env_steps: Vec<u64>,
    /// Evaluation steps of some run but not all (left out of the curve).
    env_steps_not_shared: usize,
    iqm: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

#[derive(Serialize)]
struct RunReport {
    dir: String,
    agent: String,
    task: String,
    seed: u64,
    env_steps: u64,
    final_eval_return: f64,
    score: f64,
}

#[derive(Serialize)]
struct Report {
    score: &'static str,
    confidence: f64,
    interval: &'static str,
    reps: usize,
    band_reps: usize,
    seed: u64,
    tasks: Vec<String>,
    agents: Vec<AgentReport>,
    probability_of_improvement: Vec<PoiReport>,
    performance_profile: BTreeMap<String, Profile>,
    curves: BTreeMap<String, CurveReport>,
    runs: Vec<RunReport>,
}

/// Learning curve of one agent: IQM of `return_mean / 1000` over tasks and runs at every
/// evaluation step shared by all its runs, with a bootstrap band.
fn curve(
    by_task: &BTreeMap<String, Vec<Run>>,
    tasks: &[String],
    reps: usize,
    seed: u64,
) -> CurveReport {
    let runs: Vec<&Run> = by_task.values().flatten().collect();
    let all: BTreeSet<u64> = runs
        .iter()
        .flat_map(|r| r.evals.iter().map(|e| e.env_step))
        .collect();
    let shared: Vec<u64> = all
        .iter()
        .copied()
        .filter(|s| {
            runs.iter()
                .all(|r| r.evals.iter().any(|e| e.env_step == *s))
        })
        .collect();
    let mut c = CurveReport {
        env_steps_not_shared: all.len() - shared.len(),
        env_steps: shared,
        iqm: Vec::new(),
        lo: Vec::new(),
        hi: Vec::new(),
    };
    for &step in &c.env_steps {
        let scores: Vec<Vec<f64>> = tasks
            .iter()
            .map(|t| {
                by_task[t]
                    .iter()
                    .filter_map(|r| r.evals.iter().find(|e| e.env_step == step))
                    .map(|e| e.return_mean / MAX_RETURN)
                    .collect()
            })
            .collect();
        let (lo, hi) = rliable::stratified_bootstrap_ci(&scores, rliable::iqm, reps, seed);
        c.iqm.push(rliable::iqm(&scores));
        c.lo.push(lo);
        c.hi.push(hi);
    }
    c
}

fn est(e: &Estimate) -> String {
    format!("{:.3} [{:.3}, {:.3}]", e.value, e.ci[0], e.ci[1])
}

/// A name in a markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let pct = r.confidence * 100.0;
    s.push_str(&format!(
        "Scores: final evaluation return / {MAX_RETURN} on {} task(s) ({}). Intervals: {pct:.0}% \
         stratified-bootstrap percentile intervals, {} replicates, seed {}.\n\n",
        r.tasks.len(),
        r.tasks.join(", "),
        r.reps,
        r.seed
    ));
    s.push_str(
        "| agent | tasks | runs | IQM | optimality gap (lower is better) | mean | median |\n",
    );
    s.push_str("|---|---:|---:|---|---|---|---|\n");
    for a in &r.agents {
        let g = &a.aggregates;
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            md(&a.agent),
            a.tasks,
            a.runs,
            est(&g.iqm),
            est(&g.optimality_gap),
            est(&g.mean),
            est(&g.median)
        ));
    }
    if !r.probability_of_improvement.is_empty() {
        s.push_str("\n| X | Y | P(X > Y) |\n|---|---|---|\n");
        for p in &r.probability_of_improvement {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                md(&p.x),
                md(&p.y),
                est(&p.estimate)
            ));
        }
    }
    s.push_str("\nMean score per task (runs):\n\n| task |");
    for a in &r.agents {
        s.push_str(&format!(" {} |", md(&a.agent)));
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(r.agents.len()));
    s.push('\n');
    for t in &r.tasks {
        s.push_str(&format!("| {} |", md(t)));
        for a in &r.agents {
            s.push_str(&format!(
                " {:.3} ({}) |",
                a.task_mean[t], a.runs_per_task[t]
            ));
        }
        s.push('\n');
    }
    s
}

/// Plain-text table for the terminal.
fn print_table(r: &Report) {
    let w = r
        .agents
        .iter()
        .map(|a| a.agent.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:w$}  {:>5}  {:>4}  {:24}  {:24}  {:24}  {:24}",
        "agent", "tasks", "runs", "IQM", "optimality gap", "mean", "median"
    );
    for a in &r.agents {
        let g = &a.aggregates;
        println!(
            "{:w$}  {:>5}  {:>4}  {:24}  {:24}  {:24}  {:24}",
            a.agent,
            a.tasks,
            a.runs,
            est(&g.iqm),
            est(&g.optimality_gap),
            est(&g.mean),
            est(&g.median)
        );
    }
    for p in &r.probability_of_improvement {
        println!("P({} > {}) = {}", p.x, p.y, est(&p.estimate));
    }
    println!(
        "({:.0}% stratified-bootstrap percentile intervals, {} replicates, seed {})",
        r.confidence * 100.0,
        r.reps,
        r.seed
    );
}

/// One line per series with its 95% band: `rows[i]` holds (x, y, lo, hi) of series `labels[i]`.
fn write_banded(
    path: &Path,
    chart: &Chart,
    labels: &[String],
    rows: &[Vec<(f64, f64, f64, f64)>],
) -> Result<()> {
    let pts: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .map(|r| r.iter().map(|&(x, y, _, _)| (x, y)).collect())
        .collect();
    let bands: Vec<Vec<(f64, f64, f64)>> = rows
        .iter()
        .map(|r| r.iter().map(|&(x, _, lo, hi)| (x, lo, hi)).collect())
        .collect();
    let series: Vec<Series> = labels
        .iter()
        .zip(&pts)
        .map(|(n, p)| Series { name: n, points: p })
        .collect();
    let band_refs: Vec<Band> = bands
        .iter()
        .enumerate()
        .map(|(i, b)| Band {
            series: i,
            points: b,
        })
        .collect();
    plot::write_png_bands(path, chart, &series, &band_refs).map_err(|e| Error::io(path, e))
}

fn write_plots(r: &Report, out: &Path) -> Result<()> {
    let names: Vec<&str> = r.agents.iter().map(|a| a.agent.as_str()).collect();
    // Performance profiles.
    let rows: Vec<Vec<(f64, f64, f64, f64)>> = names
        .iter()
        .map(|n| {
            let p = &r.performance_profile[*n];
            (0..p.taus.len())
                .map(|i| (p.taus[i], p.fraction[i], p.lo[i], p.hi[i]))
                .collect()
        })
        .collect();
    let labels: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let chart = Chart {
        title: "Performance profile (95% CI)",
        x_label: "normalised score τ (return / 1000)",
        y_label: "fraction of runs with score > τ",
        log_y: false,
        kind: Kind::Lines,
    };
    write_banded(&out.join("profile.png"), &chart, &labels, &rows)?;

    // Learning curves.
    let labels: Vec<String> = names
        .iter()
        .map(|n| {
            let c = &r.curves[*n];
            if c.env_steps_not_shared == 0 {
                n.to_string()
            } else {
                format!(
                    "{n} ({} steps shared by all runs; {} left out)",
                    c.env_steps.len(),
                    c.env_steps_not_shared
                )
            }
        })
        .collect();
    let rows: Vec<Vec<(f64, f64, f64, f64)>> = names
        .iter()
        .map(|n| {
            let c = &r.curves[*n];
            (0..c.env_steps.len())
                .map(|i| (c.env_steps[i] as f64, c.iqm[i], c.lo[i], c.hi[i]))
                .collect()
        })
        .collect();
    let chart = Chart {
        title: "IQM of evaluation return / 1000 (95% CI)",
        x_label: "environment steps",
        y_label: "IQM normalised return",
        log_y: false,
        kind: Kind::Lines,
    };
    write_banded(&out.join("curves.png"), &chart, &labels, &rows)
}

/// `koopman rl report`.
pub fn run(a: &ReportArgs) -> Result<()> {
    crate::cli::at_least_one("--reps", a.reps, "the intervals need bootstrap replicates")?;
    // The largest buffer: the aggregates' replicates, 4 values each.
    files::check_memory(
        &format!("--reps {}", a.reps),
        a.reps.checked_mul(4 * 8 * 2).map(|b| b as u64),
    )
    .map_err(Error::Invalid)?;
    crate::cli::output_dir("--out", &a.out)?;

    let dirs = find_runs(&a.dirs)?;
    if dirs.is_empty() {
        let list: Vec<String> = a.dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Error::Invalid(format!(
            "no runs found in {} (a run folder holds run.json; searched each folder and two \
             levels below it; for deeper layouts pass the folders nearer the runs, e.g. runs/*)",
            list.join(", ")
        )));
    }
    let runs = dirs
        .iter()
        .map(|d| load_run(d))
        .collect::<Result<Vec<_>>>()?;
    let (groups, tasks) = group(runs)?;
    if let Some(b) = &a.baseline {
        if !groups.contains_key(b) {
            let known: Vec<&str> = groups.keys().map(String::as_str).collect();
            return Err(Error::Invalid(format!(
                "--baseline {b}: no runs of agent \"{b}\" (agents found: {})",
                known.join(", ")
            )));
        }
    }
    eprintln!(
        "{} runs: {} agent(s) × {} task(s); {} bootstrap replicates",
        dirs.len(),
        groups.len(),
        tasks.len(),
        a.reps
    );

    let band_reps = a.reps.min(BAND_REPS);
    let scores: BTreeMap<&str, Vec<Vec<f64>>> = groups
        .iter()
        .map(|(agent, by_task)| (agent.as_str(), scores_of(by_task, &tasks)))
        .collect();
    let best = scores
        .values()
        .flatten()
        .flatten()
        .fold(1.0f64, |m, &s| m.max(s));
    let taus = rliable::linspace(0.0, best, PROFILE_POINTS);

    let mut agents = Vec::new();
    let mut profiles = BTreeMap::new();
    let mut curves = BTreeMap::new();
    for (agent, by_task) in &groups {
        let s = &scores[agent.as_str()];
        agents.push(AgentReport {
            agent: agent.clone(),
            tasks: tasks.len(),
            runs: s.iter().map(Vec::len).sum(),
            runs_per_task: tasks.iter().cloned().zip(s.iter().map(Vec::len)).collect(),
            task_mean: tasks.iter().cloned().zip(rliable::task_means(s)).collect(),
            aggregates: rliable::aggregates(s, a.reps, a.seed),
        });
        profiles.insert(
            agent.clone(),
            rliable::performance_profile(s, &taus, band_reps, a.seed),
        );
        let c = curve(by_task, &tasks, band_reps, a.seed);
        if c.env_steps.is_empty() {
            eprintln!(
                "warning: agent \"{agent}\": no evaluation step is shared by all its runs; no \
                 learning curve"
            );
        }
        curves.insert(agent.clone(), c);
    }

    let mut pois = Vec::new();
    for x in groups.keys() {
        for y in groups.keys() {
            let wanted = match &a.baseline {
                Some(b) => y == b && x != b,
                None => x != y,
            };
            if !wanted {
                continue;
            }
            let (sx, sy) = (&scores[x.as_str()], &scores[y.as_str()]);
            let (lo, hi) = rliable::stratified_bootstrap_ci_pair(
                sx,
                sy,
                rliable::probability_of_improvement,
                a.reps,
                a.seed,
            );
            pois.push(PoiReport {
                x: x.clone(),
                y: y.clone(),
                estimate: Estimate {
                    value: rliable::probability_of_improvement(sx, sy),
                    ci: [lo, hi],
                },
            });
        }
    }

    let runs: Vec<RunReport> = groups
        .values()
        .flat_map(|t| t.values().flatten())
        .map(|r| RunReport {
            dir: r.dir.display().to_string(),
            agent: r.agent.clone(),
            task: r.task.clone(),
            seed: r.seed,
            env_steps: r.env_steps,
            final_eval_return: r.final_eval_return,
            score: r.score(),
        })
        .collect();
    let report = Report {
        score: "final_eval_return / 1000",
        confidence: rliable::CONFIDENCE,
        interval: "stratified bootstrap, percentile",
        reps: a.reps,
        band_reps,
        seed: a.seed,
        tasks,
        agents,
        probability_of_improvement: pois,
        performance_profile: profiles,
        curves,
        runs,
    };

    print_table(&report);
    let json = a.out.join("report.json");
    crate::cli::write_json(&json, &report)?;
    let md_path = a.out.join("report.md");
    files::write_bytes(&md_path, markdown(&report).as_bytes())
        .map_err(|e| Error::io(&md_path, e))?;
    write_plots(&report, &a.out)?;
    println!(
        "wrote {}/{{report.json, report.md, profile.png, curves.png}}",
        a.out.display()
    );
    Ok(())
}
