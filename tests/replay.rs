//! The replay buffer: windows never cross an episode end (also across eviction and ring
//! wrap-around), PER proportions and importance weights, seeding, and clear errors.
use koopman::rl::{ReplayBuffer, ReplayConfig, Sampling, SumTree};
use koopman::Error;

/// An episode whose every value names (episode, step): obs [e, t], action 1000e + t, reward e + t/1000.
fn episode(e: usize, len: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let obs = (0..=len).flat_map(|t| [e as f32, t as f32]).collect();
    let act = (0..len).map(|t| (1000 * e + t) as f32).collect();
    let rew = (0..len).map(|t| e as f32 + t as f32 / 1000.0).collect();
    (obs, act, rew)
}

fn buffer(capacity: usize, horizon: usize, sampling: Sampling, seed: u64) -> ReplayBuffer {
    ReplayBuffer::new(ReplayConfig {
        capacity,
        obs_dim: 2,
        act_dim: 1,
        horizon,
        sampling,
        seed,
        pixels: false,
    })
    .unwrap()
}

#[test]
fn windows_never_cross_an_episode_end_even_after_eviction_and_wraparound() {
    for sampling in [Sampling::Uniform, Sampling::TDMPC_PER] {
        let h = 3;
        let mut rb = buffer(50, h, sampling, 7);
        let mut lens = std::collections::HashMap::new();
        for e in 0..40 {
            let len = 1 + (e * 7) % 13; // 1..13: some shorter than H
            let (o, a, r) = episode(e, len);
            rb.add_episode(&o, &a, &r).unwrap();
            lens.insert(e, len);
            if rb.windows() == 0 {
                continue;
            }
            let b = rb.sample(64).unwrap();
            for i in 0..64 {
                let w = &b.obs[i * (h + 1) * 2..(i + 1) * (h + 1) * 2];
                let ep = w[0] as usize;
                let t0 = w[1] as usize;
                assert!(
                    t0 + h <= lens[&ep],
                    "window at {t0} of episode {ep} (len {})",
                    lens[&ep]
                );
                for k in 0..=h {
                    assert_eq!(w[2 * k], ep as f32, "window crosses into another episode");
                    assert_eq!(w[2 * k + 1], (t0 + k) as f32);
                }
                for k in 0..h {
                    assert_eq!(b.actions[i * h + k], (1000 * ep + t0 + k) as f32);
                    assert_eq!(b.rewards[i * h + k], ep as f32 + (t0 + k) as f32 / 1000.0);
                }
            }
        }
        // Capacity 50 slots: only the newest episodes survive, whole.
        assert!(rb.transitions() + rb.episodes() <= 50);
    }
}

#[test]
fn uniform_sampling_is_uniform_over_valid_starts() {
    let h = 2;
    let mut rb = buffer(100, h, Sampling::Uniform, 1);
    for (e, len) in [(0, 4), (1, 1), (2, 6)] {
        let (o, a, r) = episode(e, len);
        rb.add_episode(&o, &a, &r).unwrap();
    }
    // Valid starts: episode 0 → 3, episode 1 → 0, episode 2 → 5; 8 in all.
    assert_eq!(rb.windows(), 8);
    let n = 80_000;
    let b = rb.sample(n).unwrap();
    let mut counts = std::collections::HashMap::new();
    for i in 0..n {
        let key = (b.obs[i * 6] as usize, b.obs[i * 6 + 1] as usize);
        *counts.entry(key).or_insert(0usize) += 1;
    }
    assert_eq!(counts.len(), 8);
    for (k, c) in counts {
        let f = c as f64 / n as f64;
        assert!((f - 0.125).abs() < 0.01, "start {k:?}: frequency {f}");
    }
    assert!(b.weights.iter().all(|&w| w == 1.0));
}

#[test]
fn per_frequencies_follow_priorities_and_weights_are_normalised() {
    let (alpha, beta) = (0.6, 0.4);
    let mut rb = buffer(64, 1, Sampling::Prioritized { alpha, beta }, 3);
    let (o, a, r) = episode(0, 6);
    rb.add_episode(&o, &a, &r).unwrap();
    // Window ids 0..6 are steps 0..5; give them priorities 1..6.
    let ids: Vec<u64> = (0..6).collect();
    let pr: Vec<f32> = (1..=6).map(|p| p as f32).collect();
    assert_eq!(rb.update_priorities(&ids, &pr).unwrap(), 6);
    let w: Vec<f64> = pr.iter().map(|&p| (p as f64 + 1e-6).powf(alpha)).collect();
    let total: f64 = w.iter().sum();
    let n = 200_000;
    let b = rb.sample(n).unwrap();
    let mut counts = [0usize; 6];
    for &id in &b.indices {
        counts[id as usize] += 1;
    }
    // χ² against the PER probabilities: 5 degrees of freedom, 99.9% quantile 20.5.
    let chi2: f64 = (0..6)
        .map(|i| {
            let e = n as f64 * w[i] / total;
            (counts[i] as f64 - e).powi(2) / e
        })
        .sum();
    assert!(chi2 < 20.5, "χ² {chi2}, counts {counts:?}");
    // Importance weights: (N·P(i))^−β over the batch maximum (the rarest sampled window).
    let raw = |i: usize| (6.0 * w[i] / total).powf(-beta);
    for (k, &id) in b.indices.iter().enumerate().take(100) {
        let want = raw(id as usize) / raw(0);
        assert!(
            (b.weights[k] as f64 - want).abs() < 1e-5,
            "weight {}",
            b.weights[k]
        );
    }
    assert_eq!(b.weights.iter().cloned().fold(0.0, f32::max), 1.0);
}

#[test]
fn new_windows_get_the_largest_priority_and_stale_updates_are_skipped() {
    let mut rb = buffer(8, 1, Sampling::TDMPC_PER, 0);
    let (o, a, r) = episode(0, 3); // ids 0..4, windows at 0..3
    rb.add_episode(&o, &a, &r).unwrap();
    rb.update_priorities(&[1], &[5.0]).unwrap();
    let (o, a, r) = episode(1, 3); // ids 4..8
    rb.add_episode(&o, &a, &r).unwrap();
    assert!((rb.priority(4).unwrap() - 5.000001).abs() < 1e-9);
    assert_eq!(rb.priority(7), Some(0.0)); // the final observation starts no window
    let (o, a, r) = episode(2, 3); // ids 8..12 overwrite episode 0's slots
    rb.add_episode(&o, &a, &r).unwrap();
    assert_eq!(rb.episodes(), 2);
    assert_eq!(rb.priority(1), None);
    assert_eq!(rb.update_priorities(&[1, 9], &[2.0, 3.0]).unwrap(), 1);
}

#[test]
fn the_same_seed_gives_the_same_batches() {
    let run = |seed| {
        let mut rb = buffer(200, 4, Sampling::TDMPC_PER, seed);
        for e in 0..5 {
            let (o, a, r) = episode(e, 20);
            rb.add_episode(&o, &a, &r).unwrap();
        }
        let b = rb.sample(32).unwrap();
        let pr: Vec<f32> = (0..32).map(|i| i as f32 * 0.1).collect();
        rb.update_priorities(&b.indices, &pr).unwrap();
        rb.sample(32).unwrap().indices
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn sum_tree_finds_leaves_by_cumulative_weight() {
    let mut t = SumTree::new(5);
    for (i, w) in [1.0, 0.0, 2.0, 0.0, 1.0].into_iter().enumerate() {
        t.set(i, w);
    }
    assert_eq!(t.total(), 4.0);
    let got: Vec<usize> = [0.0, 0.999, 1.0, 2.5, 2.999, 3.0, 3.999]
        .iter()
        .map(|&u| t.find(u))
        .collect();
    assert_eq!(got, [0, 0, 2, 2, 2, 4, 4]);
    // Never a zero-weight leaf, even at the very top of the range.
    assert_eq!(t.find(4.0 - 1e-12), 4);
}

fn invalid(r: koopman::Result<impl std::fmt::Debug>, needle: &str) {
    let e = r.expect_err("expected an error");
    let msg = e.to_string();
    assert!(msg.contains(needle), "error `{msg}` lacks `{needle}`");
    assert!(matches!(
        e,
        Error::Invalid(_) | Error::Shape(_) | Error::NonFinite(_)
    ));
}

#[test]
fn bad_input_gives_clear_errors() {
    let mut rb = buffer(100, 5, Sampling::TDMPC_PER, 0);
    invalid(rb.sample(4), "empty buffer");
    let (o, a, r) = episode(0, 3);
    rb.add_episode(&o, &a, &r).unwrap();
    invalid(
        rb.sample(4),
        "horizon 5 is longer than every stored episode",
    );
    invalid(rb.sample(0), "batch size 0");
    invalid(
        rb.add_episode(&o[..4], &a, &r),
        "needs 8 observation values",
    );
    invalid(rb.add_episode(&o, &a[..2], &r), "3 action values");
    invalid(
        rb.add_episode(&[0.0; 2], &[], &[]),
        "at least one transition",
    );
    let mut nan = a.clone();
    nan[1] = f32::NAN;
    invalid(rb.add_episode(&o, &nan, &r), "action value 1");
    let (o, a, r) = episode(1, 200);
    invalid(rb.add_episode(&o, &a, &r), "capacity is 100");
    let (o, a, r) = episode(2, 10);
    rb.add_episode(&o, &a, &r).unwrap();
    let b = rb.sample(2).unwrap();
    invalid(
        rb.update_priorities(&b.indices, &[1.0, f32::NAN]),
        "priority 1 is NaN",
    );
    invalid(
        rb.update_priorities(&b.indices, &[1.0, -1.0]),
        "need finite and ≥ 0",
    );
    invalid(
        rb.update_priorities(&b.indices, &[1.0]),
        "2 indices but 1 priorities",
    );
    invalid(rb.update_priorities(&[999], &[1.0]), "never stored");
    invalid(
        rb.update_priorities(&[3], &[1.0]),
        "not the start of a window",
    );
    for cfg in [
        ReplayConfig {
            capacity: 1,
            ..ReplayConfig::new(2, 1)
        },
        ReplayConfig {
            horizon: 0,
            ..ReplayConfig::new(2, 1)
        },
        ReplayConfig::new(0, 1),
        ReplayConfig {
            sampling: Sampling::Prioritized {
                alpha: f64::NAN,
                beta: 0.4,
            },
            ..ReplayConfig::new(2, 1)
        },
    ] {
        assert!(matches!(ReplayBuffer::new(cfg), Err(Error::Invalid(_))));
    }
}

/// A terminated episode's last transition is flagged in every batch that samples it (and only
/// it); the flag survives a snapshot, leaves with its episode on eviction, and becomes the
/// dataset's terminal.
#[test]
fn terminal_flags_mark_the_last_transition_of_a_terminated_episode() {
    let mut b = buffer(20, 2, Sampling::Uniform, 3);
    let (o, a, r) = episode(1, 5);
    b.add_episode_ending(&o, &a, &r, true).unwrap();
    let (o, a, r) = episode(2, 6);
    b.add_episode(&o, &a, &r).unwrap();
    let check = |b: &mut ReplayBuffer| {
        let s = b.sample(400).unwrap();
        let mut flagged = 0;
        for w in 0..400 {
            for k in 0..2 {
                // obs of step k is [episode, t]; the flagged transition is episode 1's t = 4.
                let o = &s.obs[(w * 3 + k) * 2..(w * 3 + k) * 2 + 2];
                let want = o == [1.0, 4.0];
                assert_eq!(
                    s.terminal[w * 2 + k] == 1.0,
                    want,
                    "window {w} step {k}: {o:?}"
                );
                flagged += want as usize;
            }
        }
        assert!(
            flagged > 20,
            "the terminal transition was sampled {flagged} times"
        );
    };
    check(&mut b);
    let ds = b.to_dataset(6);
    let ends: Vec<_> = ds
        .terminals
        .iter()
        .zip(&ds.timeouts)
        .map(|(&t, &o)| (t, o))
        .collect();
    assert_eq!(ends[4], (true, false));
    assert_eq!(ends[10], (false, true));
    assert_eq!(ends.iter().filter(|e| e.0 || e.1).count(), 2);
    let mut back = ReplayBuffer::from_snapshot(b.config().clone(), b.snapshot()).unwrap();
    check(&mut back);
    // Episodes of 12 slots each evict the terminated one: no flag is left.
    for e in 3..5 {
        let (o, a, r) = episode(e, 11);
        b.add_episode(&o, &a, &r).unwrap();
    }
    let s = b.sample(200).unwrap();
    assert!(s.terminal.iter().all(|&t| t == 0.0));
}

/// A pixel buffer keeps bytes: integers 0–255 come back exactly, anything else is refused with
/// the value named, and its snapshot does not load into an f32 buffer.
#[test]
fn pixel_observations_are_stored_as_bytes() {
    let cfg = ReplayConfig {
        capacity: 16,
        horizon: 1,
        sampling: Sampling::Uniform,
        pixels: true,
        ..ReplayConfig::new(3, 1)
    };
    let mut rb = ReplayBuffer::new(cfg.clone()).unwrap();
    let obs = [0.0, 128.0, 255.0, 1.0, 2.0, 3.0, 7.0, 8.0, 9.0];
    rb.add_episode(&obs, &[0.5, -0.5], &[1.0, 2.0]).unwrap();
    let b = rb.sample(8).unwrap();
    for w in b.obs.chunks_exact(6) {
        assert!(w == &obs[..6] || w == &obs[3..], "{w:?}");
    }
    let snap = rb.snapshot();
    assert!(snap.obs.is_bytes());
    let again = ReplayBuffer::from_snapshot(cfg.clone(), snap.clone()).unwrap();
    assert_eq!(again.snapshot(), snap);
    let e = ReplayBuffer::from_snapshot(
        ReplayConfig {
            pixels: false,
            ..cfg
        },
        snap,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("stored as bytes"), "{e}");
    for (bad, what) in [
        (0.5f32, "0.5"),
        (256.0, "256"),
        (-1.0, "-1"),
        (f32::NAN, "NaN"),
    ] {
        let mut o = obs;
        o[4] = bad;
        let e = rb
            .add_episode(&o, &[0.5, -0.5], &[1.0, 2.0])
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("value 4 is {what}")), "{e}");
    }
}
