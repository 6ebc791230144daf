//! conv2d on the CPU at the pixel encoder's shapes (DrQ / SAC-AE: batch 128, a 9 × 84 × 84 frame
//! stack, 32 filters 3 × 3 with stride 2, then 32 → 32 filters 3 × 3 with stride 1), forward, input
//! gradient and weight (+ bias) gradient, as the tape calls them (warm scratch of the size the tape
//! gives). Throughput is the FLOPs of the direction's GEMM work, 2·N·O·C·KH·KW·OH·OW, so
//! criterion's "elem/s" reads as FLOP/s; `conv2d_gemm` is the machine's GEMM rate on the same pool
//! for comparison (a large square product, and the forward's per-sample product batched the same
//! way). Set RAYON_NUM_THREADS to fix the pool.
//!
//! `cargo bench --bench conv2d -- conv2d --warm-up-time 1 --measurement-time 3`
use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use koopman::backend::Cpu;
use koopman::cli::conv2d_speed::{Layer, LAYERS, PASSES};
use koopman::ops::matmul::cpu::gemm;
use koopman::util::rng::Rng;
use rayon::prelude::*;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal() as f32).collect()
}

fn conv2d(c: &mut Criterion) {
    let be = Cpu::<f32>::default();
    for pass in PASSES {
        let mut g = c.benchmark_group(format!("conv2d_{pass}"));
        g.sample_size(10).sampling_mode(SamplingMode::Flat);
        for (label, xd, wd, stride) in LAYERS {
            let mut layer = Layer::new(&be, xd, wd, stride).unwrap();
            g.throughput(Throughput::Elements(layer.g.flops() as u64));
            g.bench_function(BenchmarkId::new("cpu", label), |bch| {
                bch.iter(|| layer.run(&be, black_box(pass)).unwrap())
            });
        }
        g.finish();
    }
}

fn conv2d_gemm(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv2d_gemm");
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    // The machine's GEMM rate (notes/performance.md: ≈315 GFLOP/s on 2 threads).
    let (m, n, k) = (1024, 1024, 1024);
    let (a, b) = (random(m * k, 4), random(k * n, 5));
    let mut out = vec![0.0f32; m * n];
    g.throughput(Throughput::Elements((2 * m * n * k) as u64));
    g.bench_function(BenchmarkId::new("square", "1024"), |bch| {
        bch.iter(|| {
            gemm(m, n, k, &a, false, &b, false, &mut out, false);
            black_box(out[0])
        })
    });
    // The 32 → 32 layer's forward product, y_n [32, 39·39] = w [32, 288] · col_n, over 128
    // samples split across the pool: the ceiling of im2col + GEMM at this shape.
    let (o, p, ckk, batch) = (32, 39 * 39, 288, 128);
    let (w, col) = (random(o * ckk, 6), random(ckk * p, 7));
    let mut y = vec![0.0f32; batch * o * p];
    g.throughput(Throughput::Elements((2 * o * p * ckk * batch) as u64));
    g.bench_function(BenchmarkId::new("per_sample", "32x1521x288_b128"), |bch| {
        bch.iter(|| {
            y.par_chunks_mut(o * p)
                .for_each(|yn| gemm(o, p, ckk, &w, false, &col, false, yn, false));
            black_box(y[0])
        })
    });
    g.finish();
}

criterion_group!(benches, conv2d, conv2d_gemm);
criterion_main!(benches);
