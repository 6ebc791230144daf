//! The full TD-MPC plan as an agent runs it every control step (`Agent::act`): encode the
//! observation, π's proposals, then 6 iterations of scoring 512 + 25 action sequences of horizon H
//! (latent rollout, rewards, terminal π and twin Q) and refitting the sampling distribution. Timed
//! at TD-MPC's model sizes on cartpole-swingup's observation and action sizes, with the planner's
//! schedules finished (full horizon, warm start), beside a GEMM of the plan's main shape.
use crate::backend::Device;
use crate::ops::Engine;
use crate::optim::OptimKernel;
use crate::planner::PlanStep;
use crate::rl::run::RunConfig;
use crate::rl::tdmpc::{Agent, Dynamics, TdmpcConfig, Told};
use crate::util::rng::Rng;
use crate::util::stats::Summary;
use crate::{Error, Result};
use serde_json::Value;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct PlanPoint {
    pub agent: String,
    pub horizon: usize,
    pub secs: Summary,
    /// Multiply-adds ×2 of the dense layers one plan runs.
    pub flop: f64,
    /// The same backend's rate on one [samples·H, mlp] × [mlp, mlp] matmul (best of 7).
    pub gemm_flops: f64,
    /// Per timed plan: its rate over the rate of that matmul timed just before it (on a machine
    /// whose speed drifts, the ratio holds where the best-of-7 GEMM and the median plan, timed
    /// seconds apart, do not).
    pub share: Summary,
}

impl PlanPoint {
    pub fn gflops(&self) -> f64 {
        self.flop / self.secs.median / 1e9
    }
    pub fn to_json(&self) -> Value {
        let ms = |s: f64| Value::from(s * 1e3);
        Value::from_iter([
            ("agent", Value::from(self.agent.clone())),
            ("horizon", self.horizon.into()),
            ("iters", self.secs.n.into()),
            ("latency_ms_median", ms(self.secs.median)),
            ("latency_ms_p99", ms(self.secs.p99)),
            ("gflop_per_plan", (self.flop / 1e9).into()),
            ("effective_gflops", self.gflops().into()),
            ("gemm_gflops", (self.gemm_flops / 1e9).into()),
            ("share_of_gemm_per_round_median", self.share.median.into()),
            ("share_of_gemm_per_round_p10", self.share.p10.into()),
            ("share_of_gemm_per_round_p90", self.share.p90.into()),
        ])
    }
}

/// Multiply-adds of an MLP with these widths on one row.
fn mlp_macs(widths: &[usize]) -> f64 {
    widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum()
}

/// FLOP of one plan: π proposals rolled through the dynamics, then per iteration the rollout of
/// every candidate, its rewards and the terminal π and twin Q.
pub fn plan_flop(
    c: &TdmpcConfig,
    iterations: usize,
    samples: usize,
    pi_trajs: usize,
    h: usize,
) -> f64 {
    let (l, a, w) = (c.latent_dim(), c.act_dim, c.mlp_dim);
    let dynamics = match &c.dynamics {
        Dynamics::Mlp => mlp_macs(&[l + a, w, w, l]),
        // Action encoder plus the diagonal complex multiply-add (4 MACs per mode).
        Dynamics::Koopman { act_hidden, .. } => mlp_macs(&[a, *act_hidden, l]) + 2.0 * l as f64,
    };
    let reward = mlp_macs(&[l + a, w, w, 1]);
    let pi = mlp_macs(&[l, w, w, a]);
    let q = 2.0 * mlp_macs(&[l + a, w, w, 1]);
    let n = (samples + pi_trajs) as f64;
    let per_iter = n * (h as f64 * (dynamics + reward) + pi + q);
    let proposals = pi_trajs as f64 * h as f64 * (pi + dynamics);
    let encode = mlp_macs(&[c.obs_dim, c.enc_dim, l]);
    2.0 * (iterations as f64 * per_iter + proposals + encode)
}

/// One [m, k] × [k, n] matmul on a backend through a no-grad tape, timed call by call (the
/// inputs' upload is not timed).
struct GemmProbe<B: Engine<E = f32>> {
    backend: B,
    ps: crate::autodiff::ParamStore<f32>,
    dp: crate::autodiff::DeviceParams<B>,
    pool: crate::backend::Pool<B>,
    x: Vec<f32>,
    w: Vec<f32>,
    mkn: [usize; 3],
}

impl<B: Engine<E = f32>> GemmProbe<B> {
    fn new(backend: &B, m: usize, k: usize, n: usize) -> Result<Self> {
        let ps = crate::autodiff::ParamStore::<f32>::new();
        let mut rng = Rng::new(1);
        Ok(GemmProbe {
            backend: backend.clone(),
            dp: crate::autodiff::DeviceParams::upload(backend, &ps)?,
            ps,
            pool: crate::backend::Pool::default(),
            x: (0..m * k).map(|_| rng.normal() as f32).collect(),
            w: (0..k * n).map(|_| rng.normal() as f32).collect(),
            mkn: [m, k, n],
        })
    }

    /// FLOP/s of one call.
    fn rate(&mut self) -> Result<f64> {
        let [m, k, n] = self.mkn;
        let pool = std::mem::take(&mut self.pool);
        let mut t =
            crate::autodiff::Tape::on(self.backend.clone(), &self.ps, &self.dp, pool, false)?;
        let timed = (|| -> Result<f64> {
            let xv = t.constant([m, k], &self.x)?;
            let wv = t.constant([k, n], &self.w)?;
            let t0 = Instant::now();
            let y = t.matmul(xv, wv, None)?;
            t.fetch_item(y)?;
            Ok(t0.elapsed().as_secs_f64())
        })();
        self.pool = t.into_pool();
        Ok(2.0 * (m * k * n) as f64 / timed?)
    }
}

fn measure_on<B: Engine<E = f32> + OptimKernel>(
    backend: B,
    agent: &str,
    horizon: usize,
    iters: usize,
    warmup: usize,
) -> Result<PlanPoint> {
    let mut run = RunConfig::new(agent, "cartpole-swingup")?;
    run.told_mut()?.horizon = horizon;
    let cfg = run.told()?.clone();
    let p = crate::planner::PlannerConfig::tdmpc(horizon);
    let flop = plan_flop(
        &cfg,
        p.iterations,
        p.samples,
        p.policy_trajectories,
        horizon,
    );
    let rows = (p.samples + p.policy_trajectories) * horizon;
    let mut probe = GemmProbe::new(&backend, rows, cfg.mlp_dim, cfg.mlp_dim)?;
    let mut gemm = 0.0f64;
    for _ in 0..7 {
        gemm = gemm.max(probe.rate()?);
    }
    let told = Told::new(cfg.clone(), 0)?;
    let mut a = Agent::new(told, backend, p, 0)?;
    let mut rng = Rng::new(3);
    let obs: Vec<f32> = (0..cfg.obs_dim).map(|_| rng.normal() as f32).collect();
    // Schedules done: the full horizon and a warm start from the previous plan.
    let at = |first: bool| PlanStep {
        step: 1 << 40,
        episode_start: first,
        explore: false,
    };
    a.act(&obs, at(true))?;
    for _ in 0..warmup {
        a.act(&obs, at(false))?;
    }
    let (mut secs, mut shares) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    for _ in 0..iters {
        let g = probe.rate()?;
        let t0 = Instant::now();
        a.act(&obs, at(false))?;
        let s = t0.elapsed().as_secs_f64();
        secs.push(s);
        shares.push(flop / s / g);
    }
    let none = || Error::Invalid("no timed plans".into());
    let secs = Summary::of(&secs).ok_or_else(none)?;
    let share = Summary::of(&shares).ok_or_else(none)?;
    Ok(PlanPoint {
        agent: agent.to_string(),
        horizon,
        secs,
        flop,
        gemm_flops: gemm,
        share,
    })
}

pub fn measure(
    device: Device,
    agent: &str,
    horizon: usize,
    iters: usize,
    warmup: usize,
) -> Result<PlanPoint> {
    crate::with_backend!(device, |b| measure_on(b, agent, horizon, iters, warmup))
}
