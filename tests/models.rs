//! Model-level tests: every model trains, predict matches the training path, parameter counts are
//! matched, bad input is an error, NaN is caught, and the oscillator's eigenvalues are recovered.
use koopman::models::*;
use koopman::synthetic::Oscillator;
use koopman::train::{TrainConfig, Trainer};
use koopman::util::rng::Rng;
use koopman::Error;

fn small_models(ds: usize, da: usize) -> Vec<Box<dyn DynamicsModel>> {
    vec![
        Box::new(KoopmanModel::new(KoopmanConfig::small(ds, da, 16, 32), 1)),
        Box::new(MlpModel::new(MlpConfig::small(ds, da, 32, 32), 1)),
        Box::new(GruModel::new(GruConfig::small(ds, da, 16, 32), 1)),
        Box::new(TransformerModel::new(
            TransformerConfig::small(ds, da, 32, 4),
            1,
        )),
    ]
}

#[test]
fn parameter_counts_match_the_koopman_model_within_ten_percent() {
    // halfcheetah-sized, as in the paper's comparisons
    let counts: Vec<(ModelKind, usize)> = ModelKind::ALL
        .iter()
        .map(|&k| (k, build_default(k, 17, 6, 0).params().count()))
        .collect();
    let reference = counts[0].1 as f64;
    for (k, c) in &counts {
        println!(
            "{:<12} {c:>9} parameters ({:+.1}%)",
            k.name(),
            100.0 * (*c as f64 / reference - 1.0)
        );
        assert!(
            (*c as f64 / reference - 1.0).abs() <= 0.10,
            "{} has {c} parameters vs koopman {reference}",
            k.name()
        );
    }
}

#[test]
fn every_model_trains_loss_falls() {
    let sys = Oscillator::default_pair();
    let mut rng = Rng::new(7);
    let val = sys.windows(32, 10, &mut Rng::new(99));
    for model in small_models(sys.obs_dim(), sys.act_dim) {
        let name = model.kind().name();
        let mut tr = Trainer::new(model, TrainConfig::default());
        let before = tr.eval_loss(&val.view()).unwrap();
        for _ in 0..150 {
            let w = sys.windows(32, 10, &mut rng);
            tr.step(&w.view()).unwrap();
        }
        let after = tr.eval_loss(&val.view()).unwrap();
        println!("{name}: validation loss {before:.4} -> {after:.4}");
        assert!(
            after < 0.6 * before,
            "{name}: loss did not fall enough ({before} -> {after})"
        );
    }
}

#[test]
fn predict_matches_the_training_forward_and_reuses_buffers() {
    let sys = Oscillator::default_pair();
    let w = sys.windows(4, 12, &mut Rng::new(3));
    let batch = w.view();
    for model in small_models(sys.obs_dim(), sys.act_dim) {
        let s0 = batch.first_states();
        let q = Query::new(&s0, batch.actions, 4, 12);
        let (states, rewards) = model.predict(q).unwrap();
        let mut tape = koopman::Tape::new(model.params());
        let s0 = tape
            .constant([4, sys.obs_dim()], &batch.first_states())
            .unwrap();
        let a = tape.constant([4, 12, 1], batch.actions).unwrap();
        let r = model.rollout(&mut tape, s0, a).unwrap();
        assert_eq!(tape.value(r.states), &states[..], "{}", model.kind().name());
        assert_eq!(tape.value(r.rewards), &rewards[..]);
        // A warm pool hands the same buffers back: no new allocations on the second call.
        let mut pool = Vec::new();
        let (mut so, mut ro) = (states.clone(), rewards.clone());
        model
            .predict_into(&mut pool, q, Some(&mut so), &mut ro)
            .unwrap();
        let ptrs: Vec<*const f32> = pool.iter().map(|b| b.as_ptr()).collect();
        model
            .predict_into(&mut pool, q, Some(&mut so), &mut ro)
            .unwrap();
        let again: Vec<*const f32> = pool.iter().map(|b| b.as_ptr()).collect();
        let mut a = ptrs.clone();
        let mut b = again.clone();
        a.sort();
        b.sort();
        assert_eq!(
            a,
            b,
            "{}: predict_into allocated new buffers when warm",
            model.kind().name()
        );
        assert_eq!(so, states);
    }
}

#[test]
fn koopman_scan_and_convolution_give_the_same_loss() {
    let sys = Oscillator::default_pair();
    let w = sys.windows(8, 30, &mut Rng::new(5));
    let mut losses = Vec::new();
    for mode in [RolloutMode::Scan, RolloutMode::Conv] {
        let mut cfg = KoopmanConfig::small(sys.obs_dim(), 1, 16, 32);
        cfg.rollout = mode;
        let model = KoopmanModel::new(cfg, 11);
        let mut tape = koopman::Tape::new(model.params());
        let l = model.loss_on(&mut tape, &w.view()).unwrap();
        let g = tape.backward(l.total).unwrap();
        let id = model.params().find("koopman.omega").unwrap();
        losses.push((tape.item(l.total), g.param(id).unwrap().to_vec()));
    }
    let rel = ((losses[0].0 - losses[1].0) / losses[0].0).abs();
    assert!(
        rel < 1e-5,
        "loss scan {} vs conv {}",
        losses[0].0,
        losses[1].0
    );
    for (a, b) in losses[0].1.iter().zip(&losses[1].1) {
        assert!(
            (a - b).abs() <= 1e-4 * a.abs().max(b.abs()) + 1e-6,
            "dω scan {a} vs conv {b}"
        );
    }
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let model = KoopmanModel::new(KoopmanConfig::small(4, 1, 8, 16), 0);
    let states = vec![0.0; 2 * 6 * 4];
    let actions = vec![0.0; 2 * 5]; // right
    let rewards = vec![0.0; 9]; // wrong: needs 10
    let batch = SeqBatch {
        b: 2,
        t: 5,
        obs_dim: 4,
        act_dim: 1,
        states: &states,
        actions: &actions,
        rewards: &rewards,
    };
    let mut tape = koopman::Tape::new(model.params());
    match model.loss_on(&mut tape, &batch) {
        Err(Error::Shape(m)) => assert!(m.contains("rewards"), "{m}"),
        other => panic!("expected a shape error, got {:?}", other.map(|_| ())),
    }
    let wrong_dim = SeqBatch {
        obs_dim: 3,
        ..batch
    };
    assert!(matches!(
        model.loss_on(&mut tape, &wrong_dim),
        Err(Error::Shape(_))
    ));
    let err = (&model as &dyn DynamicsModel)
        .predict(Query::new(&[0.0; 7], &[0.0; 10], 2, 5))
        .unwrap_err();
    assert!(err.to_string().contains("s0"), "{err}");
}

#[test]
fn nan_loss_is_reported_with_the_step_number() {
    let sys = Oscillator::default_pair();
    let mut w = sys.windows(4, 5, &mut Rng::new(1));
    let mut tr = Trainer::new(
        Box::new(KoopmanModel::new(KoopmanConfig::small(4, 1, 8, 16), 0)),
        TrainConfig::default(),
    );
    tr.step(&w.view()).unwrap();
    tr.step(&w.view()).unwrap();
    w.states[3] = f32::NAN;
    let err = tr.step(&w.view()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::NonFinite(_)) && msg.contains("step 3"),
        "{msg}"
    );
}

#[test]
fn oscillator_eigenvalues_are_recovered() {
    let report =
        koopman::cli::oscillator::run(1500, 20, 0, false, koopman::backend::Device::Cpu).unwrap();
    assert!(report.last_loss < 0.05 * report.first_loss);
    for (truth, got) in &report.frequencies {
        let err = (got - truth).abs() / truth;
        println!("ω true {truth}, recovered {got} ({:.3}%)", 100.0 * err);
        assert!(err < 0.02, "frequency {truth} recovered as {got}");
    }
}

#[test]
fn small_preset_parameter_counts_match_within_ten_percent() {
    for (ds, da) in [(5, 1), (17, 6)] {
        let count = |k| {
            koopman::cli::train::preset(k, "small", ds, da)
                .unwrap()
                .build(0)
                .unwrap()
                .params()
                .count()
        };
        let reference = count(ModelKind::Koopman) as f64;
        for k in ModelKind::ALL {
            let c = count(k) as f64;
            println!(
                "small {ds}/{da} {:<12} {c:>7} ({:+.1}%)",
                k.name(),
                100.0 * (c / reference - 1.0)
            );
            assert!(
                (c / reference - 1.0).abs() <= 0.10,
                "{} small preset: {c} vs {reference}",
                k.name()
            );
        }
    }
}

/// The planner entry point on the CPU is the model's own `predict_into`, bit for bit, and rejects
/// wrong buffer sizes with an error instead of a panic.
#[test]
fn cpu_predictor_equals_predict() {
    let (ds, da, b, h) = (5, 2, 7, 9);
    let mut rng = Rng::new(11);
    let s0: Vec<f32> = (0..b * ds).map(|_| rng.normal() as f32).collect();
    let act: Vec<f32> = (0..b * h * da)
        .map(|_| rng.range(-1.0, 1.0) as f32)
        .collect();
    for model in small_models(ds, da) {
        let q = Query::new(&s0, &act, b, h);
        let (ws, wr) = model.predict(q).unwrap();
        let mut p = Predictor::new(model.as_ref(), koopman::backend::Device::Cpu).unwrap();
        assert_eq!(p.device(), "cpu");
        let (mut gs, mut gr) = (vec![0.0; ws.len()], vec![0.0; wr.len()]);
        for _ in 0..2 {
            p.predict_into(model.as_ref(), q, &mut gs, &mut gr).unwrap();
            assert_eq!(gs, ws);
            assert_eq!(gr, wr);
        }
        let mut short = vec![0.0; ws.len() - 1];
        let err = p.predict_into(model.as_ref(), q, &mut short, &mut gr);
        assert!(matches!(err, Err(Error::Shape(_))), "{err:?}");
    }
}

/// The planner's reward-only path skips the decoder and returns the same rewards, bit for bit,
/// allocating nothing once warm.
#[test]
fn rewards_into_equals_predicted_rewards() {
    let (ds, da, b, h) = (5, 2, 7, 9);
    let mut rng = Rng::new(12);
    let s0: Vec<f32> = (0..b * ds).map(|_| rng.normal() as f32).collect();
    let act: Vec<f32> = (0..b * h * da)
        .map(|_| rng.range(-1.0, 1.0) as f32)
        .collect();
    for model in small_models(ds, da) {
        let name = model.kind().name();
        let q = Query::new(&s0, &act, b, h);
        let (_, want) = model.predict(q).unwrap();
        let mut p = Predictor::new(model.as_ref(), koopman::backend::Device::Cpu).unwrap();
        let mut got = vec![f32::NAN; want.len()];
        p.rewards_into(model.as_ref(), q, &mut got).unwrap();
        assert_eq!(got, want, "{name}");
        // Fewer tape buffers than the full prediction: the decoder did not run.
        let mut pool = Vec::new();
        model.predict_into(&mut pool, q, None, &mut got).unwrap();
        let reward_only = pool.len();
        let ptrs: Vec<*const f32> = pool.iter().map(|v| v.as_ptr()).collect();
        model.predict_into(&mut pool, q, None, &mut got).unwrap();
        let (mut a, mut c) = (ptrs, pool.iter().map(|v| v.as_ptr()).collect::<Vec<_>>());
        a.sort();
        c.sort();
        assert_eq!(a, c, "{name}: rewards_into allocated new buffers when warm");
        let mut full = Vec::new();
        let mut states = vec![0.0; b * h * ds];
        model
            .predict_into(&mut full, q, Some(&mut states), &mut got)
            .unwrap();
        assert!(
            full.len() > reward_only,
            "{name}: {} vs {reward_only}",
            full.len()
        );
        let mut short = vec![0.0; want.len() + 1];
        let err = p.rewards_into(model.as_ref(), q, &mut short);
        assert!(matches!(err, Err(Error::Shape(_))), "{err:?}");
    }
}

/// The optional autoencoder term: it is reported as a part, adds exactly w × its value to the loss,
/// and trains the decoder on the encoded first states (its gradient changes).
#[test]
fn koopman_reconstruction_term_adds_weight_times_its_value() {
    let sys = Oscillator::default_pair();
    let w = sys.windows(8, 30, &mut Rng::new(5));
    let run = |weight: f64| {
        let mut cfg = KoopmanConfig::small(sys.obs_dim(), 1, 16, 32);
        cfg.recon_weight = weight;
        let model = KoopmanModel::new(cfg, 11);
        let mut tape = koopman::Tape::new(model.params());
        let l = model.loss_on(&mut tape, &w.view()).unwrap();
        let part = l
            .parts
            .iter()
            .find(|(n, _)| *n == "reconstruction")
            .map(|&(_, v)| tape.item(v));
        let total = tape.item(l.total);
        let g = tape.backward(l.total).unwrap();
        let id = model.params().find("dec.0.w").unwrap();
        (total, part, g.param(id).unwrap().to_vec())
    };
    let (t0, p0, g0) = run(0.0);
    let (t2, p2, g2) = run(2.0);
    assert!(p0.is_none(), "the term is off by default");
    let p2 = p2.expect("a reconstruction part with weight 2");
    assert!(p2 > 0.0);
    assert!(
        ((t2 - t0) - 2.0 * p2).abs() <= 1e-5 * t2.abs(),
        "{t2} - {t0} != 2 × {p2}"
    );
    assert!(g0.iter().zip(&g2).any(|(a, b)| (a - b).abs() > 1e-6));
}
