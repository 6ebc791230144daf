//! Loss and optimiser kernels (`loss.cu`, `optim.cu`) against the tape's MSE, `optim::Adam` and
//! `optim::clip_global_norm`, in f32.

use crate::gpu::{device, down, poisoned, up, RTOL};
use crate::{assert_close, assert_close_tol, f64s, plus, tape_op, Rng};
use cudarc::driver::CudaSlice;
use koopman::ops::loss::cuda as loss;
use koopman::optim::cuda as optim;
use koopman::optim::{clip_global_norm, global_norm, Adam, AdamConfig};
use koopman::{Gradients, ParamId, ParamStore, Tape, Tensor};

#[test]
fn mse_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(41);
    let dloss = 0.7f32;
    // 300_007 needs more than the first pass's 1024 blocks of 256: its blocks grid-stride.
    for n in [1, 255, 257, 100_003, 300_007] {
        let (pred, target) = (rng.vec(n, -1.0, 1.0), rng.vec(n, -1.0, 1.0));
        let (wl, grads) = tape_op(&[(&[n], &pred), (&[n], &target)], &[dloss], |t, v| {
            t.mse(v[0], v[1])
        });
        let (d_p, d_t) = (up(dev, &pred), up(dev, &target));
        let mut l = poisoned(dev, 1);
        loss::mse_fwd(dev, &mut l, &d_p, &d_t, n).unwrap();
        assert_close(&format!("mse_fwd n={n}"), &down(dev, &l), &f64s(&wl), RTOL);

        let (dp0, dt0) = (rng.vec(n, -1.0, 1.0), rng.vec(n, -1.0, 1.0));
        let (mut dp, mut dt) = (up(dev, &dp0), up(dev, &dt0));
        let d_dl = up(dev, &[dloss]);
        loss::mse_bwd(dev, &mut dp, Some(&mut dt), &d_p, &d_t, &d_dl, n).unwrap();
        assert_close(
            &format!("mse_bwd dpred n={n}"),
            &down(dev, &dp),
            &plus(&dp0, &f64s(&grads[0])),
            RTOL,
        );
        assert_close(
            &format!("mse_bwd dtarget n={n}"),
            &down(dev, &dt),
            &plus(&dt0, &f64s(&grads[1])),
            RTOL,
        );
        // Stop-gradient target (null pointer): dpred accumulates a second time.
        loss::mse_bwd(dev, &mut dp, None, &d_p, &d_t, &d_dl, n).unwrap();
        let twice: Vec<f64> = grads[0].iter().map(|&g| 2.0 * g as f64).collect();
        assert_close(
            &format!("mse_bwd dpred (target None) n={n}"),
            &down(dev, &dp),
            &plus(&dp0, &twice),
            RTOL,
        );
    }
    let (p, mut l) = (up(dev, &[1.0]), poisoned(dev, 1));
    assert!(
        loss::mse_fwd(dev, &mut l, &p, &p, 0).is_err(),
        "mse of nothing"
    );
}

/// Gradients equal to `gs` for the given parameters, through the CPU tape (`loss = sum_i p_i . g_i`).
fn grads_of(
    params: &ParamStore<f32>,
    gs: &[(ParamId, &[f32])],
) -> Gradients<koopman::backend::Cpu> {
    let mut tape = Tape::new(params);
    let mut total = None;
    for &(id, g) in gs {
        let p = tape.param(id);
        let gv = tape.constant(tape.shape(p), g).unwrap();
        let prod = tape.mul(p, gv).unwrap();
        let s = tape.sum(prod);
        total = Some(match total {
            None => s,
            Some(t) => tape.add(t, s).unwrap(),
        });
    }
    tape.backward(total.expect("at least one parameter"))
        .unwrap()
}

/// Compares the GPU parameters after a step with the CPU's, and the step itself (after minus
/// before, each side its own): the update is ~lr while the parameters are ~1, so the step is held
/// to rtol 1e-3 plus a few ulps of the parameters.
fn check_step(name: &str, before: &[f32], got: &[f32], cpu_before: &[f32], cpu_after: &[f32]) {
    assert_close(&format!("{name} p"), got, &f64s(cpu_after), RTOL);
    let d_got: Vec<f32> = got.iter().zip(before).map(|(a, b)| a - b).collect();
    let d_want: Vec<f64> = cpu_after
        .iter()
        .zip(cpu_before)
        .map(|(&a, &b)| a as f64 - b as f64)
        .collect();
    let pmax = cpu_after.iter().fold(0.0f64, |m, &p| m.max(p.abs() as f64));
    assert_close_tol(
        &format!("{name} step"),
        &d_got,
        &d_want,
        1e-3,
        4.0 * f32::EPSILON as f64 * pmax,
    );
}

#[test]
fn adamw_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(42);
    let lr = 1e-2;
    let configs = [
        AdamConfig::default(),
        AdamConfig {
            weight_decay: 0.05,
            ..AdamConfig::default()
        },
    ];
    for cfg in configs {
        for n in [1, 257, 10_007] {
            let tag = format!("adamw wd={} n={n}", cfg.weight_decay);
            let mut params = ParamStore::<f32>::new();
            let p0 = rng.vec(n, -1.0, 1.0);
            let id = params.add("p", Tensor::from_vec([n], p0.clone()).unwrap());
            // Mid-training state: random moments at step 4, so bias correction is not trivial.
            let (m0, v0) = (rng.vec(n, -0.1, 0.1), rng.vec(n, 1e-4, 1e-2));
            let mut adam = Adam::new(&params, cfg);
            adam.set_state(vec![m0.clone()], vec![v0.clone()], 4);
            let (mut p, mut m, mut v) = (up(dev, &p0), up(dev, &m0), up(dev, &v0));
            for step in 5..=7u64 {
                let g = rng.vec(n, -1.0, 1.0);
                let grads = grads_of(&params, &[(id, &g)]);
                let cpu_before = params.get(id).data.clone();
                adam.update(&mut params, &grads, lr, 1.0);
                let before = down(dev, &p);
                optim::adamw_step(dev, &mut p, &mut m, &mut v, &up(dev, &g), n, &cfg, lr, step)
                    .unwrap();
                let name = format!("{tag} step {step}");
                check_step(
                    &name,
                    &before,
                    &down(dev, &p),
                    &cpu_before,
                    &params.get(id).data,
                );
                let (cm, cv) = adam.state();
                assert_close(&format!("{name} m"), &down(dev, &m), &f64s(&cm[0]), RTOL);
                assert_close(&format!("{name} v"), &down(dev, &v), &f64s(&cv[0]), RTOL);
            }
        }
    }
    let mut p = up(dev, &[1.0]);
    let (mut m, mut v, g) = (up(dev, &[0.0]), up(dev, &[0.0]), up(dev, &[1.0]));
    let cfg = AdamConfig::default();
    assert!(
        optim::adamw_step(dev, &mut p, &mut m, &mut v, &g, 1, &cfg, 1e-3, 0).is_err(),
        "step 0"
    );
    assert!(
        optim::adamw_step(dev, &mut p, &mut m, &mut v, &g, 2, &cfg, 1e-3, 1).is_err(),
        "n > len"
    );
}

/// The trainer's optimiser step on the GPU: global gradient norm and clip factor on the device,
/// gradients scaled by it in place, then AdamW per tensor; against `clip_global_norm` and
/// `Adam::update(.., scale)` on the CPU. Clipping off (max_norm 0), not triggered, and triggered.
#[test]
fn clip_then_adamw_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(43);
    let lr = 1e-2;
    let cfg = AdamConfig {
        weight_decay: 0.01,
        ..AdamConfig::default()
    };
    // 300_007 elements need more than the 1024 partial blocks a tensor gets: they grid-stride.
    let sizes = [1usize, 257, 10_007, 300_007];
    let mut params = ParamStore::<f32>::new();
    let ids: Vec<ParamId> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let t = Tensor::from_vec([n], rng.vec(n, -1.0, 1.0)).unwrap();
            params.add(format!("p{i}"), t)
        })
        .collect();
    let gs: Vec<Vec<f32>> = sizes.iter().map(|&n| rng.vec(n, -1.0, 1.0)).collect();
    let grads = grads_of(
        &params,
        &ids.iter()
            .zip(&gs)
            .map(|(&id, g)| (id, g.as_slice()))
            .collect::<Vec<_>>(),
    );
    let norm = global_norm(&params, &grads);
    for max_norm in [0.0, 2.0 * norm, norm / 3.0] {
        let tag = format!("max_norm={max_norm:.3}");
        let (cpu_norm, cpu_scale) = clip_global_norm(&params, &grads, max_norm);

        let mut d_gs: Vec<CudaSlice<f32>> = gs.iter().map(|g| up(dev, g)).collect();
        // A tensor with no elements contributes nothing (and launches nothing).
        let empty = up(dev, &[f32::NAN]);
        let mut list: Vec<(&CudaSlice<f32>, usize)> = d_gs.iter().zip(sizes).collect();
        list.insert(1, (&empty, 0));
        let (mut d_norm, mut d_clip) = (poisoned(dev, 1), poisoned(dev, 1));
        optim::grad_norm(dev, &mut d_norm, &mut d_clip, &list, max_norm as f32).unwrap();
        assert_close(
            &format!("grad_norm {tag}"),
            &down(dev, &d_norm),
            &[cpu_norm],
            RTOL,
        );
        assert_close(
            &format!("clip factor {tag}"),
            &down(dev, &d_clip),
            &[cpu_scale],
            RTOL,
        );

        // Clip on the device, then one AdamW step per tensor from fresh moments (step 1).
        let mut cpu_params = params.clone();
        let mut adam = Adam::new(&cpu_params, cfg);
        adam.update(&mut cpu_params, &grads, lr, cpu_scale);
        for (i, (&id, &n)) in ids.iter().zip(&sizes).enumerate() {
            optim::scale_by_dev(dev, &mut d_gs[i], &d_clip, n).unwrap();
            let want: Vec<f64> = gs[i]
                .iter()
                .map(|&g| (g * cpu_scale as f32) as f64)
                .collect();
            assert_close(
                &format!("clipped grad {i} {tag}"),
                &down(dev, &d_gs[i]),
                &want,
                RTOL,
            );
            let before = params.get(id).data.clone();
            let mut p = up(dev, &before);
            let (mut m, mut v) = (dev.zeros(n).unwrap(), dev.zeros(n).unwrap());
            optim::adamw_step(dev, &mut p, &mut m, &mut v, &d_gs[i], n, &cfg, lr, 1).unwrap();
            check_step(
                &format!("clip+adamw tensor {i} {tag}"),
                &before,
                &down(dev, &p),
                &before,
                &cpu_params.get(id).data,
            );
        }
    }
}
