//! Kernel micro-benchmarks: one criterion group per kernel family and direction.
//!
//! Scans and convolutions run at B = 32, m = 512 complex modes, T ∈ {10, 50, 100, 200, 500}: the
//! tensors (≤ 66 MB at T = 500, 13 MB at T = 100) are mostly cache-resident, so these figures are the
//! kernels' compute speed. The DRAM-resident training size (B = 256) is memory-copy bound, see
//! `benchmarks/2026-11-29-epyc-zen4-2vcpu/REPORT.md` §2. Throughput is the minimal traffic (each
//! input read once, each output written once), so GB/s reads as a share of
//! copy bandwidth: fwd = (2·B·T·m + B·m)·8 B, bwd = (3·B·T·m + 2·B·m)·8 B (8 B per complex value).
//! The convolution uses the same byte counts, so its GB/s compares directly with the scan's.
//!
//! Variants: `cpu_seq` calls the `cpu` kernel over the batch on one thread (per-core speed);
//! `cpu_par` splits the batch over the rayon pool as the tape op does; `tape` times the public op
//! (`Tape::scan` / `Tape::cconv`) with warm pooled buffers; `ref_avx512_seq` is a bench-local copy of
//! the scan loop built for AVX-512 + FMA, to show what the SSE2 baseline build leaves on the table.
//! Set RAYON_NUM_THREADS to fix the pool.
//!
//! The CUDA twins of these groups are in `benches/cuda.rs` (ids `cuda/...`, at the training size).
//!
//! Quick smoke run: `cargo bench --bench kernels -- --quick`.
use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion,
    SamplingMode, Throughput,
};
use koopman::ops::koopman::{cconv, scan, vandermonde};
use koopman::ops::matmul::cpu::gemm;
use koopman::ops::unary::{cpu as unary_cpu, Unary};
use koopman::util::rng::Rng;
use koopman::ParamStore;
use koopman::Tape;
use rayon::prelude::*;
use std::time::{Duration, Instant};

const B: usize = 32;
const M: usize = 512;
const M2: usize = 2 * M;
const LENGTHS: [usize; 5] = [10, 50, 100, 200, 500];

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// The default model's eigenvalues at initialisation: μ = −0.2, ω_j = jπ, Δt = 1/m.
fn mu_omega_logdt() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let dt = 1.0 / M as f64;
    let mu = vec![-0.2f32; M];
    let omega = (1..=M)
        .map(|j| (j as f64 * std::f64::consts::PI) as f32)
        .collect();
    (mu, omega, vec![dt.ln() as f32])
}

/// λ̄ = exp((μ + iω)Δt), planar [Re ‖ Im].
fn lbar() -> Vec<f32> {
    let dt = 1.0 / M as f64;
    let mut l = vec![0.0f32; M2];
    for j in 0..M {
        let (mag, ph) = (
            (-0.2 * dt).exp(),
            (j + 1) as f64 * std::f64::consts::PI * dt,
        );
        l[j] = (mag * ph.cos()) as f32;
        l[M + j] = (mag * ph.sin()) as f32;
    }
    l
}

fn fwd_bytes(t: usize) -> u64 {
    ((2 * B * t * M + B * M) * 8) as u64
}
fn bwd_bytes(t: usize) -> u64 {
    ((3 * B * t * M + 2 * B * M) * 8) as u64
}
fn id(variant: &str, t: usize) -> BenchmarkId {
    BenchmarkId::new(variant, format!("B{B}_T{t}_m{M}"))
}

/// Long cases (O(T²) convolutions, big GEMMs): ten flat samples, short warm-up.
fn short<W: criterion::measurement::Measurement>(g: &mut BenchmarkGroup<'_, W>) {
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

fn scan_fwd(c: &mut Criterion) {
    let mut g = c.benchmark_group("scan_fwd");
    short(&mut g);
    let l = lbar();
    let ps = ParamStore::<f32>::new();
    for t in LENGTHS {
        let (z0, u) = (random(B * M2, 1), random(B * t * M2, 2));
        let mut x = vec![0.0f32; B * t * M2];
        g.throughput(Throughput::BytesDecimal(fwd_bytes(t)));
        g.bench_function(id("cpu_seq", t), |bch| {
            bch.iter(|| {
                for (i, xi) in x.chunks_mut(t * M2).enumerate() {
                    let ui = &u[i * t * M2..(i + 1) * t * M2];
                    scan::cpu::forward_one(&l, &z0[i * M2..(i + 1) * M2], ui, xi);
                }
                black_box(x[0])
            })
        });
        g.bench_function(id("cpu_par", t), |bch| {
            bch.iter(|| {
                x.par_chunks_mut(t * M2).enumerate().for_each(|(i, xi)| {
                    let ui = &u[i * t * M2..(i + 1) * t * M2];
                    scan::cpu::forward_one(&l, &z0[i * M2..(i + 1) * M2], ui, xi);
                });
                black_box(x[0])
            })
        });
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("fma")
        {
            g.bench_function(id("ref_avx512_seq", t), |bch| {
                bch.iter(|| {
                    for (i, xi) in x.chunks_mut(t * M2).enumerate() {
                        let ui = &u[i * t * M2..(i + 1) * t * M2];
                        // SAFETY: the CPU features were checked just above.
                        unsafe { scan_row_avx512(&l, &z0[i * M2..(i + 1) * M2], ui, xi) };
                    }
                    black_box(x[0])
                })
            });
        }
        let mut pool = Vec::new();
        g.bench_function(id("tape", t), |bch| {
            bch.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut tape = Tape::with_pool(&ps, std::mem::take(&mut pool), false);
                    let zv = tape.constant([B, M2], &z0).unwrap();
                    let uv = tape.constant([B, t, M2], &u).unwrap();
                    let lv = tape.constant([M2], &l).unwrap();
                    let start = Instant::now();
                    let xv = tape.scan(zv, uv, lv).unwrap();
                    total += start.elapsed();
                    black_box(tape.value(xv)[0]);
                    pool = tape.into_pool().into_vec();
                }
                total
            })
        });
    }
    g.finish();
}

/// The recurrence of `scan::cpu::forward_one`, compiled for AVX-512 + FMA. Not library code: it measures
/// the headroom left by the crate's baseline x86-64 build, whose loops vectorise to 4-wide SSE only.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn scan_row_avx512(l: &[f32], z0: &[f32], c: &[f32], x: &mut [f32]) {
    let (lr, li) = l.split_at(M);
    for k in 0..c.len() / M2 {
        let (done, rest) = x.split_at_mut(k * M2);
        let prev = if k == 0 { z0 } else { &done[(k - 1) * M2..] };
        let (pr, pi) = (&prev[..M], &prev[M..M2]);
        let (cr, ci) = (&c[k * M2..k * M2 + M], &c[k * M2 + M..(k + 1) * M2]);
        let (nr, ni) = rest[..M2].split_at_mut(M);
        for j in 0..M {
            nr[j] = lr[j].mul_add(pr[j], (-li[j]).mul_add(pi[j], cr[j]));
            ni[j] = lr[j].mul_add(pi[j], li[j].mul_add(pr[j], ci[j]));
        }
    }
}

fn scan_bwd(c: &mut Criterion) {
    let mut g = c.benchmark_group("scan_bwd");
    short(&mut g);
    let l = lbar();
    for t in LENGTHS {
        let (z0, u) = (random(B * M2, 1), random(B * t * M2, 2));
        let gy = random(B * t * M2, 3);
        let mut x = vec![0.0f32; B * t * M2];
        for (i, xi) in x.chunks_mut(t * M2).enumerate() {
            let ui = &u[i * t * M2..(i + 1) * t * M2];
            scan::cpu::forward_one(&l, &z0[i * M2..(i + 1) * M2], ui, xi);
        }
        let (mut dz, mut du, mut dl) = (
            vec![0.0f32; B * M2],
            vec![0.0f32; B * t * M2],
            vec![0.0f32; B * M2],
        );
        g.throughput(Throughput::BytesDecimal(bwd_bytes(t)));
        // Each batch row: z0, its x̂ and upstream gradient in; dz0, du and a dλ̄ partial out.
        let row = |i: usize, a: &mut [f32], dz: &mut [f32], du: &mut [f32], dl: &mut [f32]| {
            let s = i * t * M2..(i + 1) * t * M2;
            let z = &z0[i * M2..(i + 1) * M2];
            let (xs, gs) = (&x[s.clone()], &gy[s]);
            scan::cpu::backward_one(&l, z, xs, gs, a, Some(dz), Some(du), Some(dl));
        };
        g.bench_function(id("cpu_seq", t), |bch| {
            let mut a = vec![0.0f32; M2];
            bch.iter(|| {
                let rows = dz
                    .chunks_mut(M2)
                    .zip(du.chunks_mut(t * M2))
                    .zip(dl.chunks_mut(M2));
                for (i, ((dz, du), dl)) in rows.enumerate() {
                    row(i, &mut a, dz, du, dl);
                }
                black_box(du[0])
            })
        });
        g.bench_function(id("cpu_par", t), |bch| {
            bch.iter(|| {
                dz.par_chunks_mut(M2)
                    .zip(du.par_chunks_mut(t * M2))
                    .zip(dl.par_chunks_mut(M2))
                    .enumerate()
                    .for_each(|(i, ((dz, du), dl))| row(i, &mut [0.0f32; M2], dz, du, dl));
                black_box(du[0])
            })
        });
    }
    g.finish();
}

/// V [2, m, K] → Vt [K, 2m] for K = T + 1, as the op prepares it.
fn vt_for(t: usize) -> Vec<f32> {
    let (mu, om, ld) = mu_omega_logdt();
    let mut v = vec![0.0f32; M2 * (t + 1)];
    vandermonde::cpu::forward(&mu, &om, &ld, t + 1, &mut v);
    let mut vt = vec![0.0f32; M2 * (t + 1)];
    cconv::cpu::transpose_v(&v, M, t + 1, &mut vt);
    vt
}

fn cconv_fwd(c: &mut Criterion) {
    let mut g = c.benchmark_group("cconv_fwd");
    short(&mut g);
    let ps = ParamStore::<f32>::new();
    let (mu, om, ld) = mu_omega_logdt();
    for t in LENGTHS {
        let (z0, u, vt) = (random(B * M2, 1), random(B * t * M2, 2), vt_for(t));
        let mut x = vec![0.0f32; B * t * M2];
        g.throughput(Throughput::BytesDecimal(fwd_bytes(t)));
        g.bench_function(id("cpu_seq", t), |bch| {
            bch.iter(|| {
                for (i, xi) in x.chunks_mut(t * M2).enumerate() {
                    let ui = &u[i * t * M2..(i + 1) * t * M2];
                    cconv::cpu::forward_one(&vt, &z0[i * M2..(i + 1) * M2], ui, xi);
                }
                black_box(x[0])
            })
        });
        // The op as the model calls it: Vandermonde matrix, then the convolution (with transpose).
        let mut pool = Vec::new();
        g.bench_function(id("tape_vdm+cconv", t), |bch| {
            bch.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut tape = Tape::with_pool(&ps, std::mem::take(&mut pool), false);
                    let zv = tape.constant([B, M2], &z0).unwrap();
                    let uv = tape.constant([B, t, M2], &u).unwrap();
                    let (m_, o_, l_) = (
                        tape.constant([M], &mu).unwrap(),
                        tape.constant([M], &om).unwrap(),
                        tape.constant([1], &ld).unwrap(),
                    );
                    let start = Instant::now();
                    let v = tape.vandermonde(m_, o_, l_, t + 1).unwrap();
                    let xv = tape.cconv(zv, uv, v).unwrap();
                    total += start.elapsed();
                    black_box(tape.value(xv)[0]);
                    pool = tape.into_pool().into_vec();
                }
                total
            })
        });
    }
    g.finish();
}

fn cconv_bwd(c: &mut Criterion) {
    let mut g = c.benchmark_group("cconv_bwd");
    short(&mut g);
    for t in LENGTHS {
        let (z0, u, vt) = (random(B * M2, 1), random(B * t * M2, 2), vt_for(t));
        let gy = random(B * t * M2, 3);
        let (mut dz, mut du) = (vec![0.0f32; B * M2], vec![0.0f32; B * t * M2]);
        let mut dvt = vec![0.0f32; (t + 1) * M2];
        g.throughput(Throughput::BytesDecimal(bwd_bytes(t)));
        // Input gradients (correlation with conj V) and the gradient of V, as the op's backward.
        g.bench_function(id("cpu_seq", t), |bch| {
            bch.iter(|| {
                for (i, (dz, du)) in dz.chunks_mut(M2).zip(du.chunks_mut(t * M2)).enumerate() {
                    let gi = &gy[i * t * M2..(i + 1) * t * M2];
                    cconv::cpu::backward_inputs(&vt, gi, M2, Some(dz), Some(du));
                }
                for (j, row) in dvt.chunks_mut(M2).enumerate() {
                    cconv::cpu::backward_v_row(j, &z0, &u, &gy, B, t, M2, row);
                }
                black_box((du[0], dvt[0]))
            })
        });
    }
    g.finish();
}

fn vandermonde_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("vandermonde");
    short(&mut g);
    let (mu, om, ld) = mu_omega_logdt();
    for t in LENGTHS {
        let k = t + 1;
        let mut v = vec![0.0f32; M2 * k];
        let gv = random(M2 * k, 4);
        let (mut dmu, mut dom, mut dld) = (vec![0.0f32; M], vec![0.0f32; M], vec![0.0f32; 1]);
        // Elements: complex entries of V produced (fwd) or consumed (bwd).
        g.throughput(Throughput::Elements((M * k) as u64));
        let pid = |v: &str| BenchmarkId::new(v, format!("m{M}_K{k}"));
        g.bench_function(pid("cpu_fwd"), |bch| {
            bch.iter(|| {
                vandermonde::cpu::forward(&mu, &om, &ld, k, &mut v);
                black_box(v[0])
            })
        });
        g.bench_function(pid("cpu_bwd"), |bch| {
            bch.iter(|| {
                vandermonde::cpu::backward(
                    &mu,
                    &om,
                    &ld,
                    &v,
                    &gv,
                    k,
                    Some(&mut dmu),
                    Some(&mut dom),
                    Some(&mut dld),
                );
                black_box(dld[0])
            })
        });
    }
    g.finish();
}

/// (label, m, k, n, A stored transposed): C[m,n] = A[m,k]·B[k,n].
const GEMM_SHAPES: [(&str, usize, usize, usize, bool); 4] = [
    ("512x512x512", 512, 512, 512, false),
    ("25600x512x512", 25600, 512, 512, false),
    // The decoder's first layer at B = 256, T = 100: [B·T, 2m] · [2m, 256].
    ("25600x1024x256", 25600, 1024, 256, false),
    // Its weight gradient: Xᵀ·G, a reduction over the 25600 rows.
    ("1024x25600x256_At", 1024, 25600, 256, true),
];

fn gemm_f32(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm_f32");
    short(&mut g);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for (label, m, k, n, a_t) in GEMM_SHAPES {
            let (a, b) = (random(m * k, 5), random(k * n, 6));
            let mut out = vec![0.0f32; m * n];
            // Elements = 2·m·n·k, so criterion's "elem/s" reads as FLOP/s.
            g.throughput(Throughput::Elements((2 * m * n * k) as u64));
            g.bench_function(BenchmarkId::new(format!("t{threads}"), label), |bch| {
                bch.iter(|| {
                    pool.install(|| gemm(m, n, k, &a, a_t, &b, false, &mut out, false));
                    black_box(out[0])
                })
            });
        }
    }
    g.finish();
}

fn elementwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("elementwise");
    g.sample_size(10);
    // 64 Ki floats stay in L2; 3.3 M floats is one [B=32, T=100, 2m] activation (13 MB).
    for n in [1usize << 16, B * 100 * M2] {
        let x = random(n, 7);
        let dy = random(n, 8);
        let (mut y, mut dx) = (vec![0.0f32; n], vec![0.0f32; n]);
        g.throughput(Throughput::BytesDecimal((8 * n) as u64));
        g.bench_function(BenchmarkId::new("elu_fwd", n), |bch| {
            bch.iter(|| {
                unary_cpu::forward(Unary::Elu, &x, &mut y);
                black_box(y[0])
            })
        });
        // Minimal backward traffic: read x and dy, write dx.
        g.throughput(Throughput::BytesDecimal((12 * n) as u64));
        g.bench_function(BenchmarkId::new("elu_bwd", n), |bch| {
            bch.iter(|| {
                unary_cpu::backward_acc(Unary::Elu, &x, &dy, &mut dx, true);
                black_box(dx[0])
            })
        });
    }
    g.finish();
}

criterion_group!(
    kernels,
    scan_fwd,
    scan_bwd,
    cconv_fwd,
    cconv_bwd,
    vandermonde_group,
    gemm_f32,
    elementwise
);
criterion_main!(kernels);
