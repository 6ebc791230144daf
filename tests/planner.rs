//! The planner: it finds the optimum of toy problems with known answers (a quadratic target and a
//! linear-quadratic regulator solved in closed form), is deterministic for a seed, warm-starts
//! from its previous mean, follows its schedules, allocates nothing once warm, and rejects bad
//! input with clear errors.
use koopman::backend::Device;
use koopman::models::{build_default, ModelKind};
use koopman::planner::{
    PlanStep, Planner, PlannerConfig, Policy, PredictorWorld, Schedule, WorldModel,
};
use koopman::{Error, Result};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts this thread's allocations (tests run on several threads).
struct Counting;
thread_local! { static ALLOCS: Cell<usize> = const { Cell::new(0) }; }
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.realloc(p, l, n)
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;
fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

/// Return = −Σ_t ‖a_t − target‖²: the optimum is `target` at every step. Records its calls.
struct Target {
    target: Vec<f32>,
    calls: Vec<(usize, usize)>,
    first_actions: Vec<f32>,
}
impl Target {
    fn new(target: &[f32]) -> Self {
        Target {
            target: target.to_vec(),
            calls: Vec::with_capacity(64),
            first_actions: Vec::new(),
        }
    }
}
impl WorldModel for Target {
    fn state_dim(&self) -> usize {
        1
    }
    fn action_dim(&self) -> usize {
        self.target.len()
    }
    fn score(&mut self, _s: &[f32], a: &[f32], n: usize, h: usize, ret: &mut [f32]) -> Result<()> {
        if self.calls.len() < self.calls.capacity() {
            self.calls.push((n, h));
        }
        if self.first_actions.is_empty() {
            self.first_actions.extend_from_slice(a);
        }
        let d = self.target.len();
        for (i, r) in ret.iter_mut().enumerate().take(n) {
            *r = -a[i * h * d..(i + 1) * h * d]
                .iter()
                .enumerate()
                .map(|(j, x)| (x - self.target[j % d]).powi(2))
                .sum::<f32>();
        }
        Ok(())
    }
}

/// After the schedules end: full horizon, min std 0.05.
const LATE: PlanStep = PlanStep {
    step: 1_000_000,
    episode_start: true,
    explore: false,
};

/// The returned action is the first step of one elite drawn by weight (TD-MPC's choice), so it
/// scatters around the optimum by about the elites' spread; over seeds it averages to the optimum.
fn first_actions_over_seeds<M: WorldModel>(
    model: &mut M,
    state: &[f32],
    seeds: u64,
) -> Vec<Vec<f32>> {
    (0..seeds)
        .map(|seed| {
            let cfg = PlannerConfig {
                seed,
                ..PlannerConfig::default()
            };
            let mut p = Planner::new(cfg, model.action_dim()).unwrap();
            p.plan(model, None, state, LATE).unwrap().to_vec()
        })
        .collect()
}

#[test]
fn first_action_converges_to_a_known_optimum() {
    let target = [0.3f32, -0.6];
    let mut model = Target::new(&target);
    let mut p = Planner::new(PlannerConfig::default(), 2).unwrap();
    p.plan(&mut model, None, &[0.0], LATE).unwrap();
    for (j, m) in p.mean().iter().enumerate() {
        assert!((m - target[j % 2]).abs() < 0.05, "mean {:?}", p.mean());
    }
    // 6 iterations, each one batched call with all 512 candidates of horizon 5.
    assert_eq!(model.calls, vec![(512, 5); 6]);
    let actions = first_actions_over_seeds(&mut model, &[0.0], 16);
    for (j, t) in target.iter().enumerate() {
        let mean = actions.iter().map(|a| a[j]).sum::<f32>() / 16.0;
        assert!(
            (mean - t).abs() < 0.05,
            "dimension {j}: mean first action {mean}, optimum {t}"
        );
        assert!(
            actions.iter().all(|a| (a[j] - t).abs() < 0.25),
            "{actions:?}"
        );
    }
}

/// x_{t+1} = x_t + a_t, return −Σ_t (x_{t+1}² + a_t²): a linear-quadratic problem.
struct Lq;
impl WorldModel for Lq {
    fn state_dim(&self) -> usize {
        1
    }
    fn action_dim(&self) -> usize {
        1
    }
    fn score(&mut self, s: &[f32], a: &[f32], n: usize, h: usize, ret: &mut [f32]) -> Result<()> {
        for (i, r) in ret.iter_mut().enumerate().take(n) {
            let mut x = s[0];
            *r = 0.0;
            for &u in &a[i * h..(i + 1) * h] {
                x += u;
                *r -= x * x + u * u;
            }
        }
        Ok(())
    }
}

/// The LQ optimum in closed form: ∂J/∂a_j = 0 gives M a = b with M_jk = H − max(j, k) + δ_jk and
/// b_j = −(H − j)·x0, solved by Gaussian elimination (M is symmetric positive definite).
fn lq_optimum(x0: f64, h: usize) -> Vec<f64> {
    let mut m: Vec<Vec<f64>> = (0..h)
        .map(|j| {
            let mut row: Vec<f64> = (0..h)
                .map(|k| (h - j.max(k)) as f64 + if j == k { 1.0 } else { 0.0 })
                .collect();
            row.push(-((h - j) as f64) * x0);
            row
        })
        .collect();
    for c in 0..h {
        for r in c + 1..h {
            let f = m[r][c] / m[c][c];
            let pivot = m[c].clone();
            for (x, p) in m[r][c..].iter_mut().zip(&pivot[c..]) {
                *x -= f * p;
            }
        }
    }
    let mut a = vec![0.0; h];
    for r in (0..h).rev() {
        let s: f64 = (r + 1..h).map(|k| m[r][k] * a[k]).sum();
        a[r] = (m[r][h] - s) / m[r][r];
    }
    a
}

#[test]
fn finds_the_closed_form_optimum_of_a_linear_quadratic_problem() {
    let x0 = 0.8;
    let want = lq_optimum(x0 as f64, 5);
    assert!(want.iter().all(|a| a.abs() < 1.0)); // the optimum is inside the action box
    let mut p = Planner::new(PlannerConfig::default(), 1).unwrap();
    p.plan(&mut Lq, None, &[x0], LATE).unwrap();
    for (m, w) in p.mean().iter().zip(&want) {
        assert!(
            (*m as f64 - w).abs() < 0.03,
            "mean {:?}, optimum {want:?}",
            p.mean()
        );
    }
    let actions = first_actions_over_seeds(&mut Lq, &[x0], 16);
    let mean = actions.iter().map(|a| a[0] as f64).sum::<f64>() / 16.0;
    assert!(
        (mean - want[0]).abs() < 0.05,
        "mean first action {mean}, optimum {}",
        want[0]
    );
    assert!(
        actions.iter().all(|a| (a[0] as f64 - want[0]).abs() < 0.25),
        "{actions:?}"
    );
    // Replanning from the same state (warm) keeps the answer.
    let again = PlanStep {
        episode_start: false,
        ..LATE
    };
    p.plan(&mut Lq, None, &[x0], again).unwrap();
    assert!(
        (p.mean()[0] as f64 - want[0]).abs() < 0.03,
        "{:?} vs {want:?}",
        p.mean()
    );
}

#[test]
fn the_same_seed_gives_the_same_actions() {
    let run = |seed| {
        let cfg = PlannerConfig {
            seed,
            ..PlannerConfig::default()
        };
        let mut p = Planner::new(cfg, 1).unwrap();
        (0..5u64)
            .map(|t| {
                let at = PlanStep {
                    step: t * 5000,
                    episode_start: t == 0,
                    explore: true,
                };
                p.plan(&mut Lq, None, &[0.5 - 0.1 * t as f32], at).unwrap()[0]
            })
            .collect::<Vec<f32>>()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn warm_start_reuses_the_previous_mean_shifted_by_one_step() {
    // A tiny std makes the first iteration's samples equal the mean they are drawn around; the
    // first plan moves the mean only through an oracle policy whose 25 sequences (at 0.4) are the
    // elites.
    let cfg = PlannerConfig {
        max_std: 1e-4,
        min_std_schedule: Schedule::Constant(1e-5),
        elites: 25,
        ..PlannerConfig::default()
    };
    let mut p = Planner::new(cfg, 1).unwrap();
    let mut m = Target::new(&[0.4]);
    p.plan(&mut m, Some(&mut Oracle(0.4, Vec::new())), &[0.0], LATE)
        .unwrap();
    let prev = p.mean().to_vec();
    assert_eq!(prev.len(), 5);
    assert!(prev.iter().all(|&x| x > 0.3), "{prev:?}");
    let mut m = Target::new(&[0.4]);
    let warm = PlanStep {
        episode_start: false,
        ..LATE
    };
    p.plan(&mut m, None, &[0.0], warm).unwrap();
    let first_sample = &m.first_actions[..5];
    for t in 0..4 {
        assert!(
            (first_sample[t] - prev[t + 1]).abs() < 1e-3,
            "{first_sample:?} vs {prev:?}"
        );
    }
    assert!(
        first_sample[4].abs() < 1e-3,
        "the new last step starts at 0"
    );
    // At an episode start the mean starts from zero.
    let mut m = Target::new(&[0.4]);
    p.plan(&mut m, None, &[0.0], LATE).unwrap();
    assert!(m.first_actions[..5].iter().all(|x| x.abs() < 1e-3));
}

#[test]
fn horizon_and_min_std_follow_tdmpc_schedules() {
    let cfg = PlannerConfig::default();
    assert_eq!(
        [0, 6250, 12_500, 24_999, 25_000, 99_999].map(|s| cfg.horizon_at(s)),
        [1, 2, 3, 4, 5, 5]
    );
    assert_eq!(cfg.min_std_at(0), 0.5);
    assert!((cfg.min_std_at(12_500) - 0.275).abs() < 1e-6);
    assert!((cfg.min_std_at(1 << 40) - 0.05).abs() < 1e-7);
    let mut m = Target::new(&[0.0]);
    let mut p = Planner::new(cfg, 1).unwrap();
    let at = PlanStep {
        step: 12_500,
        episode_start: true,
        explore: false,
    };
    p.plan(&mut m, None, &[0.0], at).unwrap();
    assert!(m.calls.iter().all(|&c| c == (512, 3)));
    // Koopman TD-MPC's horizon 20.
    assert_eq!(PlannerConfig::tdmpc(20).horizon_at(1 << 20), 20);
}

/// Proposes the target at every step, and records what it was asked for.
struct Oracle(f32, Vec<(usize, usize, f32)>);
impl Policy for Oracle {
    fn propose(
        &mut self,
        _s: &[f32],
        n: usize,
        h: usize,
        min_std: f32,
        a: &mut [f32],
    ) -> Result<()> {
        self.1.push((n, h, min_std));
        assert_eq!(a.len() % (n * h), 0);
        a.fill(self.0);
        Ok(())
    }
}

#[test]
fn policy_trajectories_join_the_candidates() {
    let mut m = Target::new(&[0.7]);
    let mut pi = Oracle(0.7, Vec::new());
    let mut p = Planner::new(PlannerConfig::default(), 1).unwrap();
    let a = p.plan(&mut m, Some(&mut pi), &[0.0], LATE).unwrap()[0];
    assert_eq!(pi.1, vec![(25, 5, 0.05)]);
    assert_eq!(m.calls, vec![(537, 5); 6]);
    // The oracle's sequences are exact, so the best elite is at the optimum.
    assert!((a - 0.7).abs() < 0.05, "{a}");
    let mut bad = Oracle(f32::NAN, Vec::new());
    let e = p.plan(&mut m, Some(&mut bad), &[0.0], LATE).unwrap_err();
    assert!(
        e.to_string().contains("policy's action value 0 is NaN"),
        "{e}"
    );
}

#[test]
fn a_warm_plan_allocates_nothing() {
    let mut m = Target::new(&[0.2, 0.1]);
    m.calls = Vec::new(); // the recorder must not allocate: capacity 0 records nothing
    let mut pi = Oracle(0.2, Vec::with_capacity(8));
    let mut p = Planner::new(PlannerConfig::default(), 2).unwrap();
    let mut at = PlanStep {
        step: 1_000_000,
        episode_start: true,
        explore: true,
    };
    p.plan(&mut m, Some(&mut pi), &[0.0], at).unwrap();
    let before = p.buffer_addresses();
    at.episode_start = false;
    let n0 = allocs();
    for _ in 0..3 {
        p.plan(&mut m, Some(&mut pi), &[0.0], at).unwrap();
    }
    assert_eq!(allocs() - n0, 0, "a warm plan allocated");
    assert_eq!(p.buffer_addresses(), before);
}

#[test]
fn plans_with_a_trained_model_through_the_predictor() {
    let model = build_default(ModelKind::Koopman, 5, 1, 0);
    let cfg = PlannerConfig {
        samples: 64,
        elites: 8,
        iterations: 2,
        ..PlannerConfig::default()
    };
    let run = || {
        let mut world = PredictorWorld::new(model.as_ref(), Device::Cpu)
            .unwrap()
            .with_discount(0.99)
            .unwrap();
        let mut p = Planner::new(cfg.clone(), 1).unwrap();
        let s = [0.1, 1.0, 0.0, 0.0, 0.0];
        let a = p.plan(&mut world, None, &s, LATE).unwrap().to_vec();
        let before = p.buffer_addresses();
        let warm = PlanStep {
            episode_start: false,
            ..LATE
        };
        p.plan(&mut world, None, &s, warm).unwrap();
        assert_eq!(p.buffer_addresses(), before);
        a
    };
    let a = run();
    assert!(a[0].is_finite() && a[0].abs() <= 1.0);
    assert_eq!(a, run());
    let wrong = build_default(ModelKind::Koopman, 5, 2, 0);
    let mut world = PredictorWorld::new(wrong.as_ref(), Device::Cpu).unwrap();
    let mut p = Planner::new(cfg, 1).unwrap();
    let e = p.plan(&mut world, None, &[0.0; 5], LATE).unwrap_err();
    assert!(e.to_string().contains("the world model has 2"), "{e}");
    assert!(PredictorWorld::new(model.as_ref(), Device::Cpu)
        .unwrap()
        .with_discount(1.5)
        .is_err());
}

/// Fails on demand, to see errors come through.
struct Failing;
impl WorldModel for Failing {
    fn state_dim(&self) -> usize {
        1
    }
    fn action_dim(&self) -> usize {
        1
    }
    fn score(&mut self, _: &[f32], _: &[f32], _: usize, _: usize, _: &mut [f32]) -> Result<()> {
        Err(Error::Device("out of memory".into()))
    }
}

#[test]
fn bad_input_gives_clear_errors() {
    let mut p = Planner::new(PlannerConfig::default(), 2).unwrap();
    let mut m = Target::new(&[0.0, 0.0]);
    let e = p.plan(&mut m, None, &[0.0, 1.0], LATE).unwrap_err();
    assert!(
        e.to_string()
            .contains("state has 2 values, the world model takes 1"),
        "{e}"
    );
    let e = p.plan(&mut Lq, None, &[0.0], LATE).unwrap_err();
    assert!(
        e.to_string().contains("built for 2 action dimensions"),
        "{e}"
    );
    let mut p1 = Planner::new(PlannerConfig::default(), 1).unwrap();
    assert!(matches!(
        p1.plan(&mut Failing, None, &[0.0], LATE),
        Err(Error::Device(_))
    ));
    let d = PlannerConfig::default;
    for (cfg, needle) in [
        (PlannerConfig { elites: 600, ..d() }, "elites 600"),
        (PlannerConfig { elites: 0, ..d() }, "elites 0"),
        (
            PlannerConfig {
                iterations: 0,
                ..d()
            },
            "iterations 0",
        ),
        (
            PlannerConfig {
                temperature: 0.0,
                ..d()
            },
            "temperature 0",
        ),
        (
            PlannerConfig {
                momentum: 1.0,
                ..d()
            },
            "momentum 1",
        ),
        (
            PlannerConfig {
                max_std: 0.1,
                ..d()
            },
            "min-std schedule",
        ),
        (
            PlannerConfig {
                horizon_schedule: Schedule::Constant(0.5),
                ..d()
            },
            "goes below 1",
        ),
        (
            PlannerConfig {
                min_std_schedule: Schedule::Linear {
                    init: 0.5,
                    end: 0.05,
                    duration: 0.0,
                },
                ..d()
            },
            "duration > 0",
        ),
    ] {
        let e = Planner::new(cfg, 1).err().expect("config must be refused");
        assert!(e.to_string().contains(needle), "`{e}` lacks `{needle}`");
    }
    assert!(Planner::new(d(), 0).is_err());
}

#[test]
fn predictor_world_scores_the_same_on_cuda_as_on_the_cpu() {
    // The GPU, or the emulated device under KOOPMAN_CUDA=emu; skipped without either.
    let dev = match koopman::backend::cuda::CudaDevice::get() {
        Ok(d) => d,
        Err(e) => {
            assert!(
                std::env::var("REQUIRE_CUDA").map_or(true, |v| v != "1"),
                "REQUIRE_CUDA=1 but CUDA is unavailable: {}",
                e.0
            );
            eprintln!("SKIP: {}", e.0);
            return;
        }
    };
    let model = build_default(ModelKind::Koopman, 5, 1, 3);
    let (n, h) = (16, 5);
    let actions: Vec<f32> = (0..n * h)
        .map(|i| ((i * 37 % 17) as f32 / 8.5) - 1.0)
        .collect();
    let s = [0.1, 1.0, 0.0, -0.2, 0.3];
    let mut scores = Vec::new();
    for device in [Device::Cpu, Device::Cuda(dev)] {
        let mut world = PredictorWorld::new(model.as_ref(), device).unwrap();
        let mut ret = vec![0.0; n];
        world.score(&s, &actions, n, h, &mut ret).unwrap();
        scores.push(ret);
    }
    for (c, g) in scores[0].iter().zip(&scores[1]) {
        assert!(
            (c - g).abs() <= 1e-4 + 1e-3 * c.abs(),
            "cpu {c} vs cuda {g}"
        );
    }
    // And a whole plan runs there.
    let mut world = PredictorWorld::new(model.as_ref(), Device::Cuda(dev)).unwrap();
    let cfg = PlannerConfig {
        samples: 64,
        elites: 8,
        iterations: 2,
        ..PlannerConfig::default()
    };
    let a = Planner::new(cfg, 1)
        .unwrap()
        .plan(&mut world, None, &s, LATE)
        .unwrap()
        .to_vec();
    assert!(a[0].is_finite());
}
