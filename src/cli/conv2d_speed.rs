//! `koopman bench --conv2d`: conv2d's three passes on the CPU at the pixel encoder's shapes, each
//! timed right after a 1024³ GEMM on the same thread pool, round after round. A pass's share of
//! the GEMM rate is then taken against a GEMM measured moments before it: on a shared machine
//! whose speed drifts (steal time), separate runs of the two disagree by more than the effects
//! measured, while the per-round ratio holds.
use crate::backend::{Backend, Cpu};
use crate::ops::conv2d::{Conv2dGeom, Conv2dKernel};
use crate::ops::matmul::cpu::gemm;
use crate::util::rng::Rng;
use crate::util::stats::Summary;
use crate::{Error, Result};
use serde_json::Value;
use std::time::Instant;

/// (label, x [N, C, H, W], w [O, C, KH, KW], stride): the encoder's first layer (DrQ / SAC-AE,
/// batch 128) and the shape of its three later ones. `benches/conv2d.rs` times the same.
pub const LAYERS: [(&str, [usize; 4], [usize; 4], usize); 2] = [
    ("L1_9x84x84_s2", [128, 9, 84, 84], [32, 9, 3, 3], 2),
    ("L2_32x41x41_s1", [128, 32, 41, 41], [32, 32, 3, 3], 1),
];

pub const PASSES: [&str; 3] = ["fwd", "data_grad", "weight_grad"];

/// One layer's random operands, outputs and warm scratch, to run its passes as the tape does.
pub struct Layer {
    pub g: Conv2dGeom,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    dy: Vec<f32>,
    y: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
    scratch: Vec<f32>,
}

impl Layer {
    pub fn new(be: &Cpu<f32>, xd: [usize; 4], wd: [usize; 4], stride: usize) -> Result<Self> {
        let g = Conv2dGeom::new(&xd, &wd, stride, 0)?;
        let (x, w) = (random(g.n() * g.x_len(), 1), random(g.o() * g.ckk(), 2));
        let (b, dy) = (random(g.o(), 3), random(g.n() * g.y_len(), 4));
        Ok(Layer {
            y: vec![0.0; dy.len()],
            dx: vec![0.0; x.len()],
            dw: vec![0.0; w.len()],
            db: vec![0.0; b.len()],
            scratch: be.alloc(be.conv2d_scratch(&g))?,
            g,
            x,
            w,
            b,
            dy,
        })
    }

    /// One pass of [`PASSES`] (the weight pass with the bias gradient), overwriting its output.
    pub fn run(&mut self, be: &Cpu<f32>, pass: &str) -> Result<()> {
        let (g, s) = (&self.g, &mut self.scratch);
        match pass {
            "fwd" => be.conv2d_fwd(g, &self.x, &self.w, Some(&self.b), &mut self.y, s),
            "data_grad" => be.conv2d_bwd_data(g, &self.w, &self.dy, &mut self.dx, false, s),
            _ => be.conv2d_bwd_params(
                g,
                &self.x,
                &self.dy,
                Some((&mut self.dw, false)),
                Some((&mut self.db, false)),
                s,
            ),
        }
    }
}

/// The GEMM's size (square).
const GEMM: usize = 1024;

/// One pass at one layer: its times, and per round its rate over the GEMM's.
#[derive(Debug)]
pub struct ConvPoint {
    pub layer: &'static str,
    pub pass: &'static str,
    pub flop: f64,
    pub secs: Summary,
    /// The GEMM's GFLOP/s in the rounds.
    pub gemm: Summary,
    /// Per round: the pass's rate / the GEMM's rate just before it.
    pub share: Summary,
}

impl ConvPoint {
    pub fn to_json(&self) -> Value {
        Value::from_iter([
            ("layer", Value::from(self.layer)),
            ("pass", self.pass.into()),
            ("rounds", self.secs.n.into()),
            ("gflop", (self.flop / 1e9).into()),
            ("gflops_median", (self.flop / self.secs.median / 1e9).into()),
            ("gflops_best", (self.flop / self.secs.min / 1e9).into()),
            ("gemm_gflops_median", self.gemm.median.into()),
            ("gemm_gflops_best", self.gemm.max.into()),
            ("share_median", self.share.median.into()),
            ("share_p10", self.share.p10.into()),
            ("share_p90", self.share.p90.into()),
        ])
    }

    /// One line of the printed table.
    pub fn row(&self) -> String {
        format!(
            "{:<16} {:<12} {:>8.1} {:>8.1} {:>9.1} {:>7.0}% ({:.0}–{:.0}%)",
            self.layer,
            self.pass,
            self.flop / self.secs.median / 1e9,
            self.flop / self.secs.min / 1e9,
            self.gemm.median,
            100.0 * self.share.median,
            100.0 * self.share.p10,
            100.0 * self.share.p90,
        )
    }
}

/// The printed table's header.
pub const HEADER: &str =
    "layer            pass         GFLOP/s     best  GEMM med  share of GEMM (p10–p90)";

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// `rounds` timed rounds after `warmup` untimed ones; each round runs every pass of every layer,
/// each right after a GEMM.
pub fn measure(rounds: usize, warmup: usize) -> Result<Vec<ConvPoint>> {
    if rounds == 0 {
        return Err(Error::Invalid("--iters (rounds) must be ≥ 1".into()));
    }
    let be = Cpu::<f32>::default();
    let (a, b) = (random(GEMM * GEMM, 4), random(GEMM * GEMM, 5));
    let mut c = vec![0.0f32; GEMM * GEMM];
    let mut gemm_rate = || {
        let t0 = Instant::now();
        gemm(GEMM, GEMM, GEMM, &a, false, &b, false, &mut c, false);
        2.0 * (GEMM * GEMM * GEMM) as f64 / t0.elapsed().as_secs_f64() / 1e9
    };
    let mut points = Vec::new();
    for (layer, xd, wd, stride) in LAYERS {
        let mut l = Layer::new(&be, xd, wd, stride)?;
        for pass in PASSES {
            let flop = l.g.flops() as f64;
            let (mut secs, mut gemms, mut shares) = (vec![], vec![], vec![]);
            for r in 0..warmup + rounds {
                let rate = gemm_rate();
                let t0 = Instant::now();
                l.run(&be, pass)?;
                let s = t0.elapsed().as_secs_f64();
                if r >= warmup {
                    secs.push(s);
                    gemms.push(rate);
                    shares.push(flop / s / 1e9 / rate);
                }
            }
            let summary =
                |v: &[f64]| Summary::of(v).ok_or_else(|| Error::Invalid("no rounds".into()));
            points.push(ConvPoint {
                layer,
                pass,
                flop,
                secs: summary(&secs)?,
                gemm: summary(&gemms)?,
                share: summary(&shares)?,
            });
        }
    }
    Ok(points)
}
