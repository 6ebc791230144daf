//! Optimiser, clipping and schedule against hand-computed values.
use koopman::optim::{clip_global_norm, Adam, AdamConfig, Schedule};
use koopman::{ParamStore, Tape, Tensor};

/// Minimises Σ p² with one step and checks Adam's closed-form first step: p ← p − lr·sign(g).
#[test]
fn adam_first_step_and_adamw_decay() {
    for wd in [0.0, 0.1] {
        let mut ps = ParamStore::<f64>::new();
        let id = ps.add("p", Tensor::from_vec([3], vec![1.0, -2.0, 0.5]).unwrap());
        let mut opt = Adam::new(
            &ps,
            AdamConfig {
                weight_decay: wd,
                eps: 0.0,
                ..Default::default()
            },
        );
        let grads = {
            let mut t = Tape::new(&ps);
            let p = t.param(id);
            let sq = t.mul(p, p).unwrap();
            let l = t.sum(sq);
            t.backward(l).unwrap()
        };
        let lr = 0.01;
        opt.update(&mut ps, &grads, lr, 1.0);
        let expect: Vec<f64> = [1.0f64, -2.0, 0.5]
            .iter()
            .map(|&p| p * (1.0 - lr * wd) - lr * p.signum())
            .collect();
        for (a, b) in ps.get(id).data.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}

#[test]
fn global_norm_clipping_scale() {
    let mut ps = ParamStore::<f64>::new();
    let a = ps.add("a", Tensor::from_vec([2], vec![3.0, 0.0]).unwrap());
    let b = ps.add("b", Tensor::from_vec([1], vec![4.0]).unwrap());
    let mut t = Tape::new(&ps);
    let (va, vb) = (t.param(a), t.param(b));
    // loss = Σ a²/2 + b²/2 → grads equal the values: global norm 5.
    let sa = t.mul(va, va).unwrap();
    let sb = t.mul(vb, vb).unwrap();
    let (sa, sb) = (t.sum(sa), t.sum(sb));
    let s = t.add(sa, sb).unwrap();
    let l = t.scale(s, 0.5);
    let g = t.backward(l).unwrap();
    let (n, scale) = clip_global_norm(&ps, &g, 1.0);
    assert!((n - 5.0).abs() < 1e-12 && (scale - 0.2).abs() < 1e-6);
    assert_eq!(clip_global_norm(&ps, &g, 10.0).1, 1.0);
}

#[test]
fn cosine_schedule_warms_up_and_decays() {
    let s = Schedule::Cosine {
        peak: 1.0,
        min: 0.1,
        warmup: 10,
        total: 110,
    };
    assert!((s.lr(0) - 0.1).abs() < 1e-12);
    assert!((s.lr(9) - 1.0).abs() < 1e-12);
    assert!((s.lr(60) - 0.55).abs() < 1e-12);
    assert!((s.lr(110) - 0.1).abs() < 1e-12);
    assert_eq!(Schedule::Constant(0.3).lr(1000), 0.3);
}
