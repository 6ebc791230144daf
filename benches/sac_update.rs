//! One SAC update (critics, actor every 2 from pixels, Polyak targets) on random batches:
//! from pixels with DrQ's encoder at batch 128 (3 stacked 84 × 84 frames, SAC-AE's batch), plain
//! and with SPR's or Koopman SPR's K = 5 prediction loss, and from states at pytorch_sac's sizes
//! on cartpole's dimensions for reference.
//!
//! `cargo bench --bench sac_update`; one case: `-- sac_update/pixels`.
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use koopman::backend::Cpu;
use koopman::rl::sac::{PixelConfig, SacAgent, SacConfig, SacNets, SprConfig};
use koopman::rl::ReplayBatch;
use koopman::util::rng::Rng;
use std::time::Duration;

fn batch(cfg: &SacConfig, pixels: bool, rng: &mut Rng) -> ReplayBatch {
    let (b, od, ad, h) = (cfg.batch, cfg.obs_dim, cfg.act_dim, cfg.horizon());
    let obs = (0..b * (h + 1) * od)
        .map(|_| {
            if pixels {
                rng.below(256) as f32
            } else {
                rng.range(-1.0, 1.0) as f32
            }
        })
        .collect();
    ReplayBatch {
        obs,
        actions: (0..b * h * ad)
            .map(|_| rng.range(-1.0, 1.0) as f32)
            .collect(),
        rewards: (0..b * h).map(|_| rng.uniform() as f32).collect(),
        terminal: Vec::new(),
        weights: vec![1.0; b],
        indices: vec![0; b],
    }
}

fn sac_update(c: &mut Criterion) {
    let mut g = c.benchmark_group("sac_update");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(20));
    let spr = |s: SprConfig| SacConfig {
        spr: Some(s),
        ..SacConfig::pixels(1, PixelConfig::drq())
    };
    let cases = [
        (
            "pixels_b128",
            SacConfig::pixels(1, PixelConfig::drq()),
            true,
        ),
        ("sac_spr_pixels_b128", spr(SprConfig::mlp()), true),
        ("koopman_spr_pixels_b128", spr(SprConfig::koopman()), true),
        ("states_b1024", SacConfig::new(5, 1), false),
    ];
    for (name, cfg, pixels) in cases {
        let mut rng = Rng::new(1);
        let b = batch(&cfg, pixels, &mut rng);
        let mut agent = SacAgent::new(SacNets::new(cfg, 0).unwrap(), Cpu::default(), 1).unwrap();
        g.bench_function(name, |bch| bch.iter(|| agent.update(&b).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, sac_update);
criterion_main!(benches);
