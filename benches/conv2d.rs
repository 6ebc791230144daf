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
use koopman::backend::{Backend, Cpu};
use koopman::ops::conv2d::{Conv2dGeom, Conv2dKernel};
use koopman::ops::matmul::cpu::gemm;
use koopman::util::rng::Rng;
use rayon::prelude::*;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// (label, x [N, C, H, W], w [O, C, KH, KW], stride)
const LAYERS: [(&str, [usize; 4], [usize; 4], usize); 2] = [
    ("L1_9x84x84_s2", [128, 9, 84, 84], [32, 9, 3, 3], 2),
    ("L2_32x41x41_s1", [128, 32, 41, 41], [32, 32, 3, 3], 1),
];

fn conv2d(c: &mut Criterion) {
    let be = Cpu::<f32>::default();
    for (dir, seed) in [("fwd", 1), ("data_grad", 2), ("weight_grad", 3)] {
        let mut g = c.benchmark_group(format!("conv2d_{dir}"));
        g.sample_size(10).sampling_mode(SamplingMode::Flat);
        for (label, xd, wd, stride) in LAYERS {
            let geom = Conv2dGeom::new(&xd, &wd, stride, 0).unwrap();
            let x = random(geom.n() * geom.x_len(), seed);
            let w = random(geom.o() * geom.ckk(), seed + 10);
            let b = random(geom.o(), seed + 20);
            let dy = random(geom.n() * geom.y_len(), seed + 30);
            let (mut y, mut dx) = (vec![0.0; dy.len()], vec![0.0; x.len()]);
            let (mut dw, mut db) = (vec![0.0; w.len()], vec![0.0; b.len()]);
            let mut scratch = be.alloc(be.conv2d_scratch(&geom)).unwrap();
            g.throughput(Throughput::Elements(geom.flops() as u64));
            g.bench_function(BenchmarkId::new("cpu", label), |bch| {
                bch.iter(|| {
                    match dir {
                        "fwd" => be.conv2d_fwd(&geom, &x, &w, Some(&b), &mut y, &mut scratch),
                        "data_grad" => {
                            be.conv2d_bwd_data(&geom, &w, &dy, &mut dx, false, &mut scratch)
                        }
                        _ => be.conv2d_bwd_params(
                            &geom,
                            &x,
                            &dy,
                            Some((&mut dw, false)),
                            Some((&mut db, false)),
                            &mut scratch,
                        ),
                    }
                    .unwrap();
                    black_box((y[0], dx[0], dw[0]))
                })
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
