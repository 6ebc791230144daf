//! Whole training steps (forward, backward, gradient clipping, Adam) of the Koopman model and the MLP,
//! GRU and Transformer baselines, default configurations at halfcheetah size (d_s = 17, d_a = 6), at
//! T ∈ {10, 50, 100, 200, 500}. Throughput is transitions (B·T) per second. On the CPU the batch is
//! 16 so a criterion run stays short (the paper-sized B = 256 figures come from `koopman bench`, see
//! BENCHMARKS.md).
//!
//! When a GPU is present the same steps also run on CUDA (ids `cuda/<model>`) at the paper's batch of
//! 256; each step ends by reading the loss and gradient norm back, which synchronises the device, so
//! wall time is device time plus launch overhead.
//!
//! Quick smoke run: `cargo bench --bench train_step -- --quick`; one model: `-- cpu/koopman`.
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use koopman::backend::Device;
use koopman::data::Batch;
use koopman::models::{build_default, ModelKind};
use koopman::train::{TrainConfig, Trainer};
use std::time::Duration;

const LENGTHS: [usize; 5] = [10, 50, 100, 200, 500];

/// Batch per device: small on the CPU (a T = 500 step at B = 256 takes seconds), the paper's on CUDA.
fn batch(device: Device) -> usize {
    match device {
        Device::Cpu => 16,
        _ => 256,
    }
}

fn train_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("train_step");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut devices = vec![Device::Cpu];
    match Device::select("auto") {
        Ok((d @ Device::Cuda(_), _)) => devices.push(d),
        Ok((_, line)) => eprintln!("train_step: CPU only ({line})"),
        Err(e) => eprintln!("train_step: CPU only ({e})"),
    }
    for device in devices {
        let bs = batch(device);
        for kind in ModelKind::ALL {
            for t in LENGTHS {
                let data = Batch::random(bs, t, 17, 6, 1);
                let mut trainer =
                    Trainer::new(build_default(kind, 17, 6, 0), TrainConfig::default())
                        .to_device(device)
                        .unwrap();
                g.throughput(Throughput::Elements((bs * t) as u64));
                let name = format!("{}/{}", device.name(), kind.name());
                g.bench_function(BenchmarkId::new(name, format!("B{bs}_T{t}")), |bch| {
                    bch.iter(|| trainer.step(&data.view()).unwrap().loss)
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
