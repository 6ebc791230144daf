//! SAC + SPR and Koopman SPR (`koopman::rl::sac::SprNets`): the SPR loss against a host
//! computation of its formula on a tiny network, the Koopman loss's assembly, the prediction loss
//! training the encoder, and bad batches.
use koopman::autodiff::ParamStore;
use koopman::backend::Cpu;
use koopman::rl::sac::{PixelConfig, SacAgent, SacConfig, SacNets, SprConfig, SprKind, SprNets};
use koopman::rl::ReplayBatch;
use koopman::util::rng::Rng;
use koopman::Tape;
mod common;

/// x·w + b for x [n, i], w [i, o] (the crate's layout).
fn dense(x: &[f64], ps: &ParamStore, name: &str) -> Vec<f64> {
    let w = ps.get(ps.find(&format!("{name}.w")).unwrap());
    let b = &ps.get(ps.find(&format!("{name}.b")).unwrap()).data;
    let (i, o) = (w.shape.dims()[0], w.shape.dims()[1]);
    x.chunks_exact(i)
        .flat_map(|row| {
            (0..o).map(move |k| {
                b[k] as f64
                    + (0..i)
                        .map(|j| row[j] * w.data[j * o + k] as f64)
                        .sum::<f64>()
            })
        })
        .collect()
}

fn layernorm(x: &[f64], ps: &ParamStore, name: &str) -> Vec<f64> {
    let g = &ps.get(ps.find(&format!("{name}.gamma")).unwrap()).data;
    let b = &ps.get(ps.find(&format!("{name}.beta")).unwrap()).data;
    let d = g.len();
    x.chunks_exact(d)
        .flat_map(|r| {
            let m = r.iter().sum::<f64>() / d as f64;
            let v = r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / d as f64;
            let s = 1.0 / (v + 1e-5).sqrt();
            (0..d).map(move |k| (r[k] - m) * s * g[k] as f64 + b[k] as f64)
        })
        .collect()
}

fn relu(x: Vec<f64>) -> Vec<f64> {
    x.into_iter().map(|v| v.max(0.0)).collect()
}

fn normalize(x: &[f64], d: usize) -> Vec<f64> {
    x.chunks_exact(d)
        .flat_map(|r| {
            let n = r.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-3);
            r.iter().map(move |v| v / n)
        })
        .collect()
}

fn randoms(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect()
}

/// Σ_k mean_b ‖n(q(g(ẑ_k))) − n(g(z̃_k))‖², ẑ_{k+1} = ẑ_k + T([ẑ_k ‖ a_k]), on the host in f64.
#[test]
fn spr_loss_matches_a_host_computation() {
    let (b, k, f, a) = (3, 2, 4, 2);
    let cfg = SprConfig {
        horizon: k,
        hidden: 5,
        ..SprConfig::mlp()
    };
    let mut ps = ParamStore::new();
    let mut rng = Rng::new(1);
    let spr = SprNets::new(&mut ps, &cfg, f, a, &mut rng);
    // Non-trivial LayerNorm affines and biases.
    for id in ps.ids().collect::<Vec<_>>() {
        let t = ps.get_mut(id);
        t.data
            .iter_mut()
            .for_each(|v| *v += rng.range(-0.3, 0.3) as f32);
    }
    let z0 = randoms(&mut rng, b * f);
    let acts = randoms(&mut rng, b * k * a);
    let targets = randoms(&mut rng, b * k * f);
    let mut t = Tape::<Cpu>::no_grad(&ps);
    let (zv, av, tv) = (
        t.constant([b, f], &z0).unwrap(),
        t.constant([b, k, a], &acts).unwrap(),
        t.constant([b, k, f], &targets).unwrap(),
    );
    let l = spr.loss(&mut t, zv, av, tv).unwrap();
    let got = t.fetch_item(l).unwrap() as f64;

    let mut want = 0.0;
    let mut z: Vec<f64> = z0.iter().map(|&v| v as f64).collect();
    let acts = &acts;
    for s in 0..k {
        let za: Vec<f64> = (0..b)
            .flat_map(|i| {
                let zi = z[i * f..(i + 1) * f].to_vec();
                let ai = (0..a).map(move |j| acts[(i * k + s) * a + j] as f64);
                zi.into_iter().chain(ai)
            })
            .collect();
        let h = relu(dense(&za, &ps, "spr.transition.0"));
        let dz = dense(&h, &ps, "spr.transition.1");
        z.iter_mut().zip(&dz).for_each(|(x, d)| *x += d);
        let proj = |x: &[f64]| {
            let y = relu(layernorm(
                &dense(x, &ps, "spr.projection.l1"),
                &ps,
                "spr.projection.ln1",
            ));
            layernorm(
                &dense(&y, &ps, "spr.projection.l2"),
                &ps,
                "spr.projection.ln2",
            )
        };
        let p = proj(&z);
        let p = relu(layernorm(
            &dense(&p, &ps, "spr.predictor.l1"),
            &ps,
            "spr.predictor.ln1",
        ));
        let p = dense(&p, &ps, "spr.predictor.l2");
        let y: Vec<f64> = (0..b)
            .flat_map(|i| {
                targets[(i * k + s) * f..(i * k + s + 1) * f]
                    .iter()
                    .map(|&v| v as f64)
            })
            .collect();
        let y = proj(&y);
        let (pn, yn) = (normalize(&p, f), normalize(&y, f));
        want += pn
            .iter()
            .zip(&yn)
            .map(|(p, y)| (p - y).powi(2))
            .sum::<f64>()
            / b as f64;
    }
    assert!(
        (got - want).abs() < 1e-4 * want.max(1.0),
        "SPR loss {got}, host {want}"
    );
}

/// With the decoder zeroed, every prediction is 0 and the loss is Σ_k mean_{b, j} z̃² = K·mean z̃².
#[test]
fn koopman_spr_loss_with_a_zero_decoder_is_the_targets_energy() {
    let (b, k, f, a) = (2, 3, 4, 1);
    let cfg = SprConfig {
        horizon: k,
        hidden: 6,
        modes: 3,
        ..SprConfig::koopman()
    };
    assert_eq!(cfg.kind, SprKind::Koopman);
    let mut ps = ParamStore::new();
    let mut rng = Rng::new(2);
    let spr = SprNets::new(&mut ps, &cfg, f, a, &mut rng);
    for name in ["spr.decode.w", "spr.decode.b"] {
        let id = ps.find(name).unwrap();
        ps.get_mut(id).data.fill(0.0);
    }
    let targets = randoms(&mut rng, b * k * f);
    let mut t = Tape::<Cpu>::no_grad(&ps);
    let zv = t.constant([b, f], &randoms(&mut rng, b * f)).unwrap();
    let av = t
        .constant([b, k, a], &randoms(&mut rng, b * k * a))
        .unwrap();
    let tv = t.constant([b, k, f], &targets).unwrap();
    let l = spr.loss(&mut t, zv, av, tv).unwrap();
    let got = t.fetch_item(l).unwrap() as f64;
    let want =
        k as f64 * targets.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / targets.len() as f64;
    assert!((got - want).abs() < 1e-5, "loss {got}, want {want}");
}

fn pixel_spr(kind: SprKind, weight: f64) -> SacConfig {
    let spr = SprConfig {
        horizon: 3,
        hidden: 8,
        weight,
        modes: 3,
        ..if kind == SprKind::Mlp {
            SprConfig::mlp()
        } else {
            SprConfig::koopman()
        }
    };
    let pixels = PixelConfig {
        frames: 1,
        side: 8,
        filters: 4,
        layers: 1,
        feature: 6,
        shift: 1,
    };
    SacConfig {
        hidden: 16,
        batch: 4,
        spr: Some(spr),
        ..SacConfig::pixels(2, pixels)
    }
}

/// Windows of K + 1 = 4 pixel observations.
fn windows(rng: &mut Rng, b: usize, k: usize, od: usize, ad: usize) -> ReplayBatch {
    ReplayBatch {
        obs: (0..b * (k + 1) * od)
            .map(|_| rng.below(256) as f32)
            .collect(),
        actions: randoms(rng, b * k * ad),
        rewards: randoms(rng, b * k),
        terminal: vec![],
        weights: vec![1.0; b],
        indices: vec![0; b],
    }
}

/// The prediction loss reaches the encoder: the same update with weight 1 moves the convolutions
/// elsewhere than with weight 0, and only then moves the SPR model.
#[test]
fn the_prediction_loss_trains_the_encoder() {
    for (kind, probe) in [
        (SprKind::Mlp, "spr.projection.l1.w"),
        (SprKind::Koopman, "spr.decode.w"),
    ] {
        let b = windows(&mut Rng::new(3), 4, 3, 3 * 64, 2);
        let run = |weight: f64| {
            let nets = SacNets::new(pixel_spr(kind, weight), 4).unwrap();
            let before = nets.params().clone();
            let mut agent = SacAgent::new(nets, Cpu::default(), 5).unwrap();
            let stats = agent.update(&b).unwrap();
            (before, agent.state().unwrap().online, stats.spr_loss)
        };
        let (init, off, loss0) = (run(0.0).0, run(0.0).1, run(0.0).2);
        let (_, on, loss1) = run(1.0);
        assert!(
            loss0 > 0.0 && loss0 == loss1,
            "{kind:?}: {loss0} vs {loss1}"
        );
        let get = |ps: &ParamStore, n: &str| ps.get(ps.find(n).unwrap()).data.clone();
        assert_ne!(
            get(&off, "encoder.conv0.w"),
            get(&on, "encoder.conv0.w"),
            "{kind:?}"
        );
        assert_eq!(
            get(&init, probe),
            get(&off, probe),
            "{kind:?}: weight 0 moved {probe}"
        );
        assert_ne!(
            get(&init, probe),
            get(&on, probe),
            "{kind:?}: {probe} did not train"
        );
    }
}

#[test]
fn spr_agents_need_windows_of_k_steps() {
    let nets = SacNets::new(pixel_spr(SprKind::Koopman, 1.0), 4).unwrap();
    let od = nets.cfg.obs_dim;
    let mut agent = SacAgent::new(nets, Cpu::default(), 5).unwrap();
    let one_step = windows(&mut Rng::new(1), 4, 1, od, 2);
    let e = agent.update(&one_step).unwrap_err().to_string();
    assert!(
        e.contains("3-step windows") && e.contains("[B, 4, 192]"),
        "{e}"
    );
    let e = SacNets::new(
        SacConfig {
            spr: Some(SprConfig {
                horizon: 0,
                ..SprConfig::mlp()
            }),
            ..SacConfig::new(3, 1)
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("spr: horizon 0"), "{e}");
}

/// SAC + SPR and Koopman SPR updates from pixels on the CUDA backend (a GPU, or the emulated
/// device under KOOPMAN_CUDA=emu) against the CPU.
#[cfg(feature = "cuda")]
#[test]
fn spr_updates_on_cuda_match_the_cpu() {
    for kind in [SprKind::Mlp, SprKind::Koopman] {
        let nets = SacNets::new(pixel_spr(kind, 1.0), 6).unwrap();
        let od = nets.cfg.obs_dim;
        let b = windows(&mut Rng::new(7), 4, 3, od, 2);
        let obs: Vec<f32> = (0..od).map(|i| (i * 53 % 256) as f32).collect();
        common::sac_cuda_parity(nets, &b, &obs);
    }
}
