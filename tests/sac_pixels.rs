//! SAC from pixels (`koopman::rl::sac` with a `PixelConfig`): which loss trains which part of
//! the encoder, exact state round trips (the augmentation's stream included), learning a
//! one-step task whose state is only in the image, bad input, and CPU/CUDA parity.
use koopman::backend::Cpu;
use koopman::rl::sac::{PixelConfig, SacAgent, SacConfig, SacNets};
use koopman::rl::{AgentState, ReplayBatch};
use koopman::util::rng::Rng;
mod common;

/// Two 10×10 frames, two convolutions of 4 filters (10 → 4 → 2), a 6-value feature.
fn tiny_pixels() -> PixelConfig {
    PixelConfig {
        frames: 2,
        side: 10,
        filters: 4,
        layers: 2,
        feature: 6,
        shift: 2,
    }
}

fn tiny(act: usize) -> SacConfig {
    SacConfig {
        hidden: 16,
        batch: 8,
        ..SacConfig::pixels(act, tiny_pixels())
    }
}

/// Random pixel transitions: obs [B, 2, od] of integers 0–255, actions in [−1, 1].
fn batch(rng: &mut Rng, b: usize, od: usize, ad: usize) -> ReplayBatch {
    let mut out = ReplayBatch::default();
    for _ in 0..b {
        out.obs.extend((0..2 * od).map(|_| rng.below(256) as f32));
        out.actions
            .extend((0..ad).map(|_| rng.range(-1.0, 1.0) as f32));
        out.rewards.push(rng.range(-1.0, 1.0) as f32);
        out.weights.push(1.0);
        out.indices.push(0);
    }
    out
}

fn param<'a>(s: &'a AgentState, name: &str) -> &'a [f32] {
    let id = s
        .online
        .find(name)
        .unwrap_or_else(|| panic!("no parameter {name}"));
    &s.online.get(id).data
}

#[test]
fn the_critic_trains_the_convolutions_and_the_actor_only_its_own_head() {
    let cfg = tiny(2);
    let od = cfg.obs_dim;
    assert_eq!(od, 2 * 3 * 10 * 10);
    let nets = SacNets::new(cfg, 1).unwrap();
    for (name, actor) in [
        ("encoder.conv0.w", false),
        ("encoder.conv1.b", false),
        ("critic.fc.w", false),
        ("critic.ln.gamma", false),
        ("actor.fc.w", true),
        ("actor.ln.beta", true),
        ("actor.0.w", true),
        ("q1.0.w", false),
    ] {
        let id = nets.params().find(name).unwrap();
        assert_eq!(nets.is_actor(id), actor, "{name}");
    }
    // Delta-orthogonal convolutions: only the centre tap of each 3×3 kernel is set.
    let w0 = &nets
        .params()
        .get(nets.params().find("encoder.conv0.w").unwrap())
        .data;
    assert!(w0.iter().enumerate().all(|(i, &v)| i % 9 == 4 || v == 0.0));
    assert!(w0.iter().any(|&v| v != 0.0));

    let mut agent = SacAgent::new(nets, Cpu::default(), 2).unwrap();
    let mut rng = Rng::new(3);
    let b = batch(&mut rng, 8, od, 2);
    let s0 = agent.state().unwrap();
    agent.update(&b).unwrap(); // critics, then the actor (actor_every 2)
    let s1 = agent.state().unwrap();
    agent.update(&b).unwrap(); // critics only
    let s2 = agent.state().unwrap();
    for name in [
        "encoder.conv0.w",
        "encoder.conv1.w",
        "critic.fc.w",
        "q1.2.w",
    ] {
        assert_ne!(param(&s0, name), param(&s1, name), "{name} after update 1");
        assert_ne!(param(&s1, name), param(&s2, name), "{name} after update 2");
    }
    for name in ["actor.fc.w", "actor.ln.gamma", "actor.2.w"] {
        assert_ne!(param(&s0, name), param(&s1, name), "{name} after update 1");
        assert_eq!(param(&s1, name), param(&s2, name), "{name} after update 2");
    }
}

#[test]
fn restored_state_continues_exactly_augmentation_included() {
    let make = || SacAgent::new(SacNets::new(tiny(1), 7).unwrap(), Cpu::default(), 8).unwrap();
    let od = tiny(1).obs_dim;
    let b = batch(&mut Rng::new(9), 8, od, 1);
    let mut a = make();
    a.update(&b).unwrap();
    let saved = a.state().unwrap();
    let losses = [a.update(&b).unwrap(), a.update(&b).unwrap()].map(|s| s.critic_loss);
    let mut c = make();
    c.restore(&saved).unwrap();
    let again = [c.update(&b).unwrap(), c.update(&b).unwrap()].map(|s| s.critic_loss);
    assert_eq!(again, losses);
    let (x, y) = (a.state().unwrap(), c.state().unwrap());
    assert_eq!(x.rngs, y.rngs);
    for ((name, p), (_, q)) in x.online.iter().zip(y.online.iter()) {
        assert_eq!(p.data, q.data, "{name}");
    }
    // The shifts are drawn per update: without them the same updates give other losses.
    let mut plain = SacAgent::new(
        SacNets::new(
            SacConfig {
                pixels: Some(PixelConfig {
                    shift: 0,
                    ..tiny_pixels()
                }),
                ..tiny(1)
            },
            7,
        )
        .unwrap(),
        Cpu::default(),
        8,
    )
    .unwrap();
    let mut shifted = make();
    assert_ne!(plain.update(&b).unwrap(), shifted.update(&b).unwrap());
}

/// One-step task (γ = 0) whose state s₀ ∈ [−1, 1] is only visible as the images' brightness
/// (a vertical gradient scaled by s₀, so the random shifts keep it): reward −(a − s₀/2)². The
/// greedy action must track s₀/2, which needs the convolutions to read s₀.
#[test]
fn learns_the_best_action_from_pixels() {
    let p = PixelConfig {
        frames: 1,
        side: 8,
        filters: 8,
        layers: 1,
        feature: 8,
        shift: 1,
    };
    let cfg = SacConfig {
        hidden: 64,
        batch: 64,
        lr: 3e-3,
        gamma: 0.0,
        init_alpha: 0.01,
        actor_every: 1,
        ..SacConfig::pixels(1, p)
    };
    let od = cfg.obs_dim;
    let image = |s0: f32| -> Vec<f32> {
        (0..od)
            .map(|i| {
                let row = (i / 8) % 8;
                (127.5 + s0 * 15.0 * row as f32).round()
            })
            .collect()
    };
    let mut agent = SacAgent::new(SacNets::new(cfg, 11).unwrap(), Cpu::default(), 12).unwrap();
    let mut rng = Rng::new(13);
    for _ in 0..300 {
        let mut b = ReplayBatch::default();
        for _ in 0..64 {
            let s0 = rng.range(-1.0, 1.0) as f32;
            let a = rng.range(-1.0, 1.0) as f32;
            b.obs.extend(image(s0));
            b.obs.extend(image(s0));
            b.actions.push(a);
            b.rewards.push(-(a - 0.5 * s0).powi(2));
            b.weights.push(1.0);
            b.indices.push(0);
        }
        agent.update(&b).unwrap();
    }
    let mut worst = 0.0f32;
    for s0 in [-0.8f32, -0.3, 0.0, 0.4, 0.9] {
        let a = agent.act(&image(s0), false).unwrap()[0];
        worst = worst.max((a - 0.5 * s0).abs());
    }
    assert!(
        worst < 0.15,
        "the greedy action is off the best one by up to {worst}"
    );
}

#[test]
fn bad_pixel_configurations_and_frames_are_clear_errors() {
    let e = SacNets::new(
        SacConfig {
            pixels: Some(PixelConfig {
                layers: 4,
                ..tiny_pixels()
            }),
            ..tiny(1)
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("4 convolutions leave nothing of a 10×10 frame"),
        "{e}"
    );
    let e = SacNets::new(
        SacConfig {
            obs_dim: 17,
            ..tiny(1)
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("obs_dim 17") && e.contains("= 600"), "{e}");
    let mut agent = SacAgent::new(SacNets::new(tiny(1), 1).unwrap(), Cpu::default(), 2).unwrap();
    // A frame of the wrong size (one 10×10 frame instead of a stack of two).
    let e = agent.act(&[0.0; 300], false).unwrap_err().to_string();
    assert!(e.contains("300 values") && e.contains("takes 600"), "{e}");
}

/// Two updates and an action of a pixel agent on the CUDA backend (a GPU, or the emulated device
/// under KOOPMAN_CUDA=emu) against the CPU.
#[cfg(feature = "cuda")]
#[test]
fn pixel_update_and_act_on_cuda_match_the_cpu() {
    let nets = SacNets::new(tiny(2), 21).unwrap();
    let od = nets.cfg.obs_dim;
    let b = batch(&mut Rng::new(23), 8, od, 2);
    let obs: Vec<f32> = (0..od).map(|i| (i * 37 % 256) as f32).collect();
    common::sac_cuda_parity(nets, &b, &obs);
}
