//! CUDA kernel benchmarks: the groups of `benches/kernels.rs` (ids `cuda/...`) at the training size
//! B = 256, m = 512 complex modes, T ∈ {10, 50, 100, 200, 500}, plus `copy_d2d`, the device-to-device
//! copy of the same bytes, which is the bandwidth the scan is judged against (issue: scan forward +
//! backward at ≥ 85% of it). Throughput is minimal traffic (scan/conv: fwd (2·B·T·m + B·m)·8 B,
//! bwd (3·B·T·m + 2·B·m)·8 B) or FLOPs (GEMMs), so GB/s and FLOP/s read as shares of the hardware.
//!
//! Timing: `iter_custom` around `iters` launches followed by one stream synchronisation; NVRTC
//! compilation, uploads and the cuBLAS handle are outside the timed closure.
//!
//! Without a GPU every group is skipped with a printed reason. On the GPU machine:
//! `cargo bench --bench cuda` (or the carried binary, see `scripts/gpu-check.sh`).
use criterion::{criterion_group, criterion_main};

#[cfg(feature = "cuda")]
mod gpu {
    use criterion::{BenchmarkId, Criterion, Throughput};
    use cudarc::driver::CudaSlice;
    use koopman::backend::cuda::launch::gemm::{gemm_bf16, sgemm, RowGemm};
    use koopman::backend::cuda::CudaDevice;
    use koopman::ops::koopman::vandermonde::cuda as vand_k;
    use koopman::ops::koopman::{cconv::cuda as cconv_k, scan::cuda as scan_k};
    use koopman::ops::unary::Unary;
    use koopman::ops::{binary::cuda as binary_k, unary::cuda as unary_k};
    use std::time::Duration;
    use std::time::Instant;

    const B: usize = 256;
    const M: usize = 512;
    const LENGTHS: [usize; 5] = [10, 50, 100, 200, 500];

    pub fn device() -> Option<&'static CudaDevice> {
        match CudaDevice::get() {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("SKIP cuda benches: {e}");
                None
            }
        }
    }

    fn random(dev: &CudaDevice, n: usize, seed: u64) -> CudaSlice<f32> {
        let mut s = seed;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        dev.upload(&v).unwrap()
    }

    /// Times `f` (which enqueues work) `iters` times, then synchronises.
    fn timed(dev: &CudaDevice, iters: u64, mut f: impl FnMut()) -> Duration {
        dev.synchronize().unwrap();
        let t0 = Instant::now();
        for _ in 0..iters {
            f();
        }
        dev.synchronize().unwrap();
        t0.elapsed()
    }

    fn id(v: &str, t: usize) -> BenchmarkId {
        BenchmarkId::new(v, format!("B{B}_T{t}_m{M}"))
    }

    pub fn scan_and_copy(c: &mut Criterion) {
        let Some(dev) = device() else { return };
        let mut g = c.benchmark_group("scan");
        g.sample_size(20).measurement_time(Duration::from_secs(2));
        let lbar = random(dev, 2 * M, 3);
        for t in LENGTHS {
            let n = B * t * 2 * M;
            let (z0, cc) = (random(dev, B * 2 * M, 1), random(dev, n, 2));
            let mut x = dev.zeros(n).unwrap();
            let fwd = ((2 * B * t * M + B * M) * 8) as u64;
            let bwd = ((3 * B * t * M + 2 * B * M) * 8) as u64;
            g.throughput(Throughput::BytesDecimal(fwd));
            g.bench_function(id("cuda/scan_fwd", t), |b| {
                b.iter_custom(|it| {
                    timed(dev, it, || {
                        scan_k::scan_fwd(dev, &mut x, &z0, &cc, &lbar, B, t, M).unwrap()
                    })
                })
            });
            let (mut dz, mut dc, mut dl) = (
                dev.zeros(B * 2 * M).unwrap(),
                dev.zeros(n).unwrap(),
                dev.zeros(2 * M).unwrap(),
            );
            let gx = random(dev, n, 4);
            g.throughput(Throughput::BytesDecimal(bwd));
            g.bench_function(id("cuda/scan_bwd", t), |b| {
                b.iter_custom(|it| {
                    timed(dev, it, || {
                        scan_k::scan_bwd(
                            dev, &mut dz, &mut dc, &mut dl, &gx, &x, &z0, &lbar, B, t, M,
                        )
                        .unwrap()
                    })
                })
            });
            // The same bytes as the forward moved by the copy engine path: read n + write n floats.
            let mut y = dev.zeros(n).unwrap();
            g.throughput(Throughput::BytesDecimal((8 * n) as u64));
            g.bench_function(id("cuda/copy_d2d", t), |b| {
                b.iter_custom(|it| {
                    timed(dev, it, || dev.stream().memcpy_dtod(&cc, &mut y).unwrap())
                })
            });
        }
        g.finish();
    }

    pub fn conv_and_vandermonde(c: &mut Criterion) {
        let Some(dev) = device() else { return };
        let mut g = c.benchmark_group("cconv");
        g.sample_size(10).measurement_time(Duration::from_secs(2));
        let (mu, om, ldt) = (
            random(dev, M, 5),
            random(dev, M, 6),
            dev.upload(&[(0.01f32).ln()]).unwrap(),
        );
        for t in LENGTHS {
            let n = B * t * 2 * M;
            let kk_len = t + 1;
            let mut v = dev.zeros(2 * M * kk_len).unwrap();
            g.throughput(Throughput::Elements((M * kk_len) as u64));
            g.bench_function(id("cuda/vandermonde_fwd", t), |b| {
                b.iter_custom(|it| {
                    timed(dev, it, || {
                        vand_k::vandermonde_fwd(dev, &mut v, &mu, &om, &ldt, M, kk_len, 1).unwrap()
                    })
                })
            });
            let (z0, cc) = (random(dev, B * 2 * M, 1), random(dev, n, 2));
            let mut x = dev.zeros(n).unwrap();
            g.throughput(Throughput::BytesDecimal(
                ((2 * B * t * M + B * M) * 8) as u64,
            ));
            g.bench_function(id("cuda/cconv_fwd", t), |b| {
                b.iter_custom(|it| {
                    timed(dev, it, || {
                        cconv_k::cconv_fwd(dev, &mut x, &z0, &cc, &v, B, t, M, kk_len).unwrap()
                    })
                })
            });
            let (mut dz, mut dc, mut dv) = (
                dev.zeros(B * 2 * M).unwrap(),
                dev.zeros(n).unwrap(),
                dev.zeros(2 * M * kk_len).unwrap(),
            );
            let gx = random(dev, n, 4);
            g.throughput(Throughput::BytesDecimal(
                ((3 * B * t * M + 2 * B * M) * 8) as u64,
            ));
            g.bench_function(id("cuda/cconv_bwd", t), |b| {
                b.iter_custom(|it| {
                    timed(dev, it, || {
                        cconv_k::cconv_bwd(
                            dev, &mut dz, &mut dc, &mut dv, &gx, &z0, &cc, &v, B, t, M, kk_len,
                        )
                        .unwrap()
                    })
                })
            });
        }
        g.finish();
    }

    pub fn gemm_and_elementwise(c: &mut Criterion) {
        let Some(dev) = device() else { return };
        let mut g = c.benchmark_group("gemm");
        g.sample_size(20).measurement_time(Duration::from_secs(2));
        // The dense layers of a training step at T = 100: 25600 rows of width 512.
        for (m, n, k) in [(25_600, 512, 512), (25_600, 1024, 512), (4096, 4096, 4096)] {
            let (a, bm) = (random(dev, m * k, 1), random(dev, k * n, 2));
            let mut cm = dev.zeros(m * n).unwrap();
            let gm = RowGemm::new(m, n, k);
            g.throughput(Throughput::Elements((2 * m * n * k) as u64));
            let size = format!("{m}x{n}x{k}");
            for (name, tf32) in [("cuda/fp32", false), ("cuda/tf32", true)] {
                dev.set_tf32(tf32).unwrap();
                g.bench_function(BenchmarkId::new(name, &size), |b| {
                    b.iter_custom(|it| {
                        timed(dev, it, || sgemm(dev, &gm, &a, &bm, &mut cm).unwrap())
                    })
                });
            }
            dev.set_tf32(false).unwrap();
            g.bench_function(BenchmarkId::new("cuda/bf16", &size), |b| {
                b.iter_custom(|it| {
                    timed(dev, it, || {
                        gemm_bf16(dev, &gm, 1, (&a, 0), (&bm, 0), (&mut cm, 0)).unwrap()
                    })
                })
            });
        }
        g.finish();
        let mut g = c.benchmark_group("elementwise");
        g.sample_size(20).measurement_time(Duration::from_secs(2));
        let n = 25_600 * 512;
        let (x, bias) = (random(dev, n, 1), random(dev, 512, 2));
        let mut y = dev.zeros(n).unwrap();
        g.throughput(Throughput::BytesDecimal((8 * n) as u64));
        g.bench_function(BenchmarkId::new("cuda/elu_fwd", n), |b| {
            b.iter_custom(|it| {
                timed(dev, it, || {
                    unary_k::unary_fwd(dev, Unary::Elu, &mut y, &x, n).unwrap()
                })
            })
        });
        g.throughput(Throughput::BytesDecimal((12 * n) as u64));
        g.bench_function(BenchmarkId::new("cuda/add_broadcast", n), |b| {
            b.iter_custom(|it| {
                timed(dev, it, || {
                    binary_k::add_fwd(dev, &mut y, &x, &bias, n, 512).unwrap()
                })
            })
        });
        g.finish();
    }
}

#[cfg(feature = "cuda")]
criterion_group!(
    benches,
    gpu::scan_and_copy,
    gpu::conv_and_vandermonde,
    gpu::gemm_and_elementwise
);

#[cfg(not(feature = "cuda"))]
fn no_cuda(_: &mut criterion::Criterion) {
    eprintln!("SKIP cuda benches: built without the `cuda` feature");
}
#[cfg(not(feature = "cuda"))]
criterion_group!(benches, no_cuda);

criterion_main!(benches);
