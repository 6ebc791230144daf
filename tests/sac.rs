//! SAC (`koopman::rl::sac`): the tanh-Gaussian log-probability against its closed form, the
//! temperature's and the target critics' updates against hand-computed values, checkpoint state
//! round trips, bad input, and learning a one-step task whose best action is known.
use koopman::autodiff::ParamStore;
use koopman::backend::Cpu;
use koopman::rl::sac::{SacAgent, SacConfig, SacNets};
use koopman::rl::ReplayBatch;
use koopman::util::rng::Rng;
use koopman::Tape;
mod common;

fn small(obs: usize, act: usize) -> SacConfig {
    SacConfig {
        hidden: 32,
        batch: 16,
        ..SacConfig::new(obs, act)
    }
}

/// A batch of one-step windows: obs [B, 2, od] (s then s'), actions [B, 1, ad], rewards [B, 1].
fn batch(
    rng: &mut Rng,
    b: usize,
    od: usize,
    ad: usize,
    reward: impl Fn(&[f32], &[f32]) -> f32,
) -> ReplayBatch {
    let mut out = ReplayBatch::default();
    for _ in 0..b {
        let s: Vec<f32> = (0..od).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        let s1: Vec<f32> = (0..od).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        let a: Vec<f32> = (0..ad).map(|_| rng.range(-1.0, 1.0) as f32).collect();
        out.rewards.push(reward(&s, &a));
        out.obs.extend_from_slice(&s);
        out.obs.extend_from_slice(&s1);
        out.actions.extend_from_slice(&a);
        out.weights.push(1.0);
        out.indices.push(0);
    }
    out
}

#[test]
fn log_prob_matches_the_closed_form() {
    let nets = SacNets::new(small(3, 2), 1).unwrap();
    let params = ParamStore::<f32>::new();
    let mut t = Tape::<Cpu>::no_grad(&params);
    let mu = [0.3f32, -1.2, 0.0, 2.5];
    let ls = [-0.5f32, 0.4, -3.0, 1.0];
    let eps = [0.7f32, -1.1, 0.2, 2.0];
    let (m, l) = (
        t.constant([2, 2], &mu).unwrap(),
        t.constant([2, 2], &ls).unwrap(),
    );
    let smp = nets.sample(&mut t, m, l, &eps).unwrap();
    let (a, lp) = (t.fetch(smp.action).unwrap(), t.fetch(smp.log_prob).unwrap());
    for (i, &got) in lp.iter().enumerate() {
        let mut want = 0.0f64;
        for j in 0..2 {
            let k = i * 2 + j;
            let (m, s, e) = (mu[k] as f64, (ls[k] as f64).exp(), eps[k] as f64);
            let u = m + s * e;
            assert!((a[k] as f64 - u.tanh()).abs() < 1e-6);
            // Gaussian density of u, then the change of variables a = tanh(u).
            want += -0.5 * e * e - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
            want -= (1.0 - u.tanh().powi(2)).ln();
        }
        assert!(
            (got as f64 - want).abs() < 1e-4 * want.abs().max(1.0),
            "row {i}: {got} against {want}"
        );
    }
}

#[test]
fn temperature_and_target_updates_match_hand_computation() {
    let cfg = SacConfig {
        lr: 1e-3,
        tau: 0.05,
        target_every: 2,
        ..small(3, 2)
    };
    let (lr, tau) = (cfg.lr, cfg.tau);
    let nets = SacNets::new(cfg, 3).unwrap();
    let la = nets.log_alpha();
    let mut agent = SacAgent::new(nets, Cpu::default(), 4).unwrap();
    let mut rng = Rng::new(5);
    let b = batch(&mut rng, 16, 3, 2, |s, a| s[0] - a[1]);
    let s0 = agent.state().unwrap();
    let st = agent.update(&b).unwrap();
    let s1 = agent.state().unwrap();
    // Adam's first step moves log α by lr against the sign of its gradient α (H − H̄), H the
    // batch's entropy estimate and H̄ = −|A| = −2.
    let k = st.entropy - (-2.0);
    let step = s1.online.get(la).data[0] as f64 - s0.online.get(la).data[0] as f64;
    assert!(
        (step + lr * k.signum()).abs() < 1e-6,
        "log α moved {step}, entropy {}",
        st.entropy
    );
    assert!((st.alpha - (s1.online.get(la).data[0] as f64).exp()).abs() < 1e-9);
    // No target step after one update (every 2); after the second, target = (1 − τ) old + τ new.
    assert_eq!(s1.target.get(la).data, s0.target.get(la).data);
    let q_ids: Vec<_> = s1
        .online
        .ids()
        .filter(|&id| s1.online.name(id).starts_with("q1."))
        .collect();
    for &id in &q_ids {
        assert_eq!(s1.target.get(id).data, s0.target.get(id).data);
    }
    agent.update(&b).unwrap();
    let s2 = agent.state().unwrap();
    for &id in &q_ids {
        let (old, new, got) = (
            &s1.target.get(id).data,
            &s2.online.get(id).data,
            &s2.target.get(id).data,
        );
        for ((&o, &n), &g) in old.iter().zip(new).zip(got) {
            let want = (1.0 - tau) * o as f64 + tau * n as f64;
            assert!(
                (g as f64 - want).abs() < 1e-6,
                "{}: {g} against {want}",
                s2.online.name(id)
            );
        }
    }
    assert_eq!(s2.model_steps, 2);
    assert_eq!(s2.policy_steps, 2);
}

#[test]
fn restored_state_continues_exactly() {
    let make = || SacAgent::new(SacNets::new(small(4, 1), 7).unwrap(), Cpu::default(), 8).unwrap();
    let mut rng = Rng::new(9);
    let b = batch(&mut rng, 16, 4, 1, |s, a| s[1] * a[0]);
    let mut a = make();
    a.update(&b).unwrap();
    let saved = a.state().unwrap();
    let next = a.update(&b).unwrap();
    let mut c = make();
    c.restore(&saved).unwrap();
    assert_eq!(c.update(&b).unwrap(), next);
    assert_eq!(
        a.act(&[0.1, 0.2, 0.3, 0.4], true).unwrap(),
        c.act(&[0.1, 0.2, 0.3, 0.4], true).unwrap()
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let mut agent =
        SacAgent::new(SacNets::new(small(3, 2), 1).unwrap(), Cpu::default(), 2).unwrap();
    let e = agent
        .act(&[0.0, f32::NAN, 0.0], false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("observation value 1 is NaN"), "{e}");
    let e = agent.act(&[0.0; 4], false).unwrap_err().to_string();
    assert!(e.contains("4 values") && e.contains("takes 3"), "{e}");
    let mut b = batch(&mut Rng::new(1), 4, 3, 2, |_, _| 0.0);
    b.obs.truncate(10);
    let e = agent.update(&b).unwrap_err().to_string();
    assert!(e.contains("1-step windows"), "{e}");
    let e = SacNets::new(
        SacConfig {
            tau: 1.5,
            ..small(3, 2)
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("tau 1.5"), "{e}");
    let mut b = batch(&mut Rng::new(1), 4, 3, 2, |_, _| 0.0);
    b.rewards[2] = f32::NAN;
    let e = agent.update(&b).unwrap_err().to_string();
    assert!(e.contains("critic loss is NaN"), "{e}");
}

/// One-step task (γ = 0): reward −(a − s₀/2)², so the best action is s₀/2. After a few hundred
/// updates on random transitions the deterministic action tracks it.
#[test]
fn learns_the_best_action_of_a_one_step_task() {
    let cfg = SacConfig {
        hidden: 64,
        batch: 128,
        lr: 3e-3,
        gamma: 0.0,
        init_alpha: 0.01,
        ..SacConfig::new(2, 1)
    };
    let mut agent = SacAgent::new(SacNets::new(cfg, 11).unwrap(), Cpu::default(), 12).unwrap();
    let mut rng = Rng::new(13);
    let reward = |s: &[f32], a: &[f32]| -(a[0] - 0.5 * s[0]).powi(2);
    for _ in 0..400 {
        let b = batch(&mut rng, 128, 2, 1, reward);
        agent.update(&b).unwrap();
    }
    let mut worst = 0.0f32;
    for s0 in [-0.8f32, -0.3, 0.0, 0.4, 0.9] {
        let a = agent.act(&[s0, 0.2], false).unwrap()[0];
        worst = worst.max((a - 0.5 * s0).abs());
    }
    assert!(
        worst < 0.1,
        "the greedy action is off the best one by up to {worst}"
    );
}

/// Two updates and an action on the CUDA backend (a GPU, or the emulated device under
/// KOOPMAN_CUDA=emu) against the CPU: the same losses, α and parameters.
#[cfg(feature = "cuda")]
#[test]
fn update_and_act_on_cuda_match_the_cpu() {
    let nets = SacNets::new(small(3, 2), 21).unwrap();
    let b = batch(&mut Rng::new(23), 16, 3, 2, |s, a| s[0] * a[0] - a[1]);
    common::sac_cuda_parity(nets, &b, &[0.3, -0.2, 0.9]);
}

/// A terminal transition does not bootstrap: with every transition terminal, the update equals
/// the update of the same agent with γ = 0.
#[test]
fn terminal_transitions_do_not_bootstrap() {
    let mut rng = Rng::new(31);
    let mut b = batch(&mut rng, 16, 3, 2, |s, a| s[2] + a[0]);
    let make = |gamma: f64| {
        let cfg = SacConfig {
            gamma,
            ..small(3, 2)
        };
        SacAgent::new(SacNets::new(cfg, 32).unwrap(), Cpu::default(), 33).unwrap()
    };
    let mut zero = make(0.0);
    let want = zero.update(&b).unwrap();
    let mut live = make(0.99);
    b.terminal = vec![0.0; 16];
    let bootstrapped = live.update(&b).unwrap();
    assert_ne!(bootstrapped.critic_loss, want.critic_loss);
    let mut ended = make(0.99);
    b.terminal = vec![1.0; 16];
    assert_eq!(ended.update(&b).unwrap().critic_loss, want.critic_loss);
}
