//! Whole models on the CUDA tape against the CPU tape: the loss and every parameter gradient of
//! each of the four models, a 20-step Koopman training run whose loss curve must follow the CPU's
//! for the same seed and batches, and the planner path. (Every single op through the tape is
//! checked on both devices from one body per op in `tests/ops.rs`.)
use crate::gpu::device;
use crate::{assert_close, f64s, Rng};
use koopman::autodiff::DeviceParams;
use koopman::backend::cuda::CudaDevice;
use koopman::backend::Device;
use koopman::backend::{Backend, Cuda, Pool};
use koopman::data::Batch;
use koopman::models::{
    DynamicsModel, GruConfig, GruModel, KoopmanConfig, KoopmanModel, MlpConfig, MlpModel,
    RolloutMode, TransformerConfig, TransformerModel,
};
use koopman::train::{TrainConfig, Trainer};
use koopman::Tape;

/// The loss and every parameter gradient of `model`, on the CPU and on the device.
fn model_parity(dev: &'static CudaDevice, name: &str, model: &dyn DynamicsModel, data: &Batch) {
    let params = model.params();
    let mut cpu = Tape::new(params);
    let l = model.loss(&mut cpu, &data.view()).unwrap();
    let want_loss = cpu.item(l.total);
    let want = cpu.backward(l.total).unwrap();

    let cuda = Cuda::new(dev);
    let dparams = DeviceParams::upload(&cuda, params).unwrap();
    let mut gpu = Tape::on(cuda, params, &dparams, Pool::default(), true).unwrap();
    let lg = model.loss(&mut gpu, &data.view()).unwrap();
    let got_loss = gpu.fetch_item(lg.total).unwrap();
    let got = gpu.backward(lg.total).unwrap();
    assert_close(
        &format!("{name} loss"),
        &[got_loss],
        &[want_loss as f64],
        1e-4,
    );
    for id in params.ids() {
        let pname = params.name(id);
        match (want.param(id), got.param(id)) {
            (Some(w), Some(g)) => {
                let mut host = vec![0.0; w.len()];
                gpu.backend().download(g, &mut host).unwrap();
                assert_close(&format!("{name} d{pname}"), &host, &f64s(w), 2e-3);
            }
            (None, None) => {}
            (w, g) => panic!(
                "{name} {pname}: gradient on CPU {} but on CUDA {}",
                w.is_some(),
                g.is_some()
            ),
        }
    }
}

#[test]
fn every_model_loss_and_gradients() {
    let Some(dev) = device() else { return };
    let (ds, da) = (17, 6);
    let data = Batch::random(6, 12, ds, da, 3);
    let mut kc = KoopmanConfig::small(ds, da, 24, 64);
    model_parity(
        dev,
        "koopman scan",
        &KoopmanModel::new(kc.clone(), 1),
        &data,
    );
    kc.rollout = RolloutMode::Conv;
    model_parity(dev, "koopman conv", &KoopmanModel::new(kc, 1), &data);
    model_parity(
        dev,
        "mlp",
        &MlpModel::new(MlpConfig::small(ds, da, 32, 64), 1),
        &data,
    );
    model_parity(
        dev,
        "gru",
        &GruModel::new(GruConfig::small(ds, da, 32, 64), 1),
        &data,
    );
    model_parity(
        dev,
        "transformer",
        &TransformerModel::new(TransformerConfig::small(ds, da, 32, 4), 1),
        &data,
    );
}

/// The end-to-end check: 20 training steps of the Koopman model on CUDA follow the CPU
/// loss curve for the same seed and batches (f32 on both; the curves drift apart only by
/// rounding, so a step's loss may differ by at most 1% — a wrong gradient or update breaks that
/// within a few steps).
#[test]
fn koopman_twenty_step_loss_curve() {
    let Some(dev) = device() else { return };
    let (ds, da) = (17, 6);
    let make = || {
        let m = KoopmanModel::new(KoopmanConfig::small(ds, da, 32, 128), 5);
        Trainer::new(Box::new(m), TrainConfig::default())
    };
    let mut cpu = make();
    let mut gpu = make().to_device(Device::Cuda(dev)).unwrap();
    assert_eq!(gpu.device(), "cuda");
    let (mut lc, mut lg) = (Vec::new(), Vec::new());
    for step in 0..20u64 {
        let data = Batch::random(32, 16, ds, da, 100 + step);
        lc.push(cpu.step(&data.view()).unwrap().loss);
        lg.push(gpu.step(&data.view()).unwrap().loss);
    }
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr().lock(),
        format_args!("loss curve CPU {lc:.5?}\nloss curve GPU {lg:.5?}\n"),
    );
    assert!(lc[19] < lc[0], "the CPU run must learn: {lc:?}");
    for (i, (c, g)) in lc.iter().zip(&lg).enumerate() {
        let rel = (c - g).abs() / c.abs().max(1e-12);
        assert!(
            rel < 1e-2,
            "step {i}: CPU loss {c}, CUDA loss {g} (rel {rel:.2e})"
        );
    }
    // The device copy comes back to the host for checkpoints: the same parameters, to rounding.
    gpu.sync_host().unwrap();
    cpu.sync_host().unwrap();
    for id in cpu.model.params().ids() {
        let (c, g) = (
            &cpu.model.params().get(id).data,
            &gpu.model.params().get(id).data,
        );
        assert_close(
            &format!("param {} after 20 steps", cpu.model.params().name(id)),
            g,
            &f64s(c),
            2e-2,
        );
    }
}

/// The planner path: `Predictor` on CUDA against the model's CPU `predict`, for the Koopman model
/// (scan and convolution) and the GRU, called twice to exercise the reused device pool, then the
/// reward-only `rewards_into`.
#[test]
fn predictor_on_cuda_matches_cpu() {
    let Some(dev) = device() else { return };
    use koopman::models::{Predictor, Query};
    let (ds, da, b, h) = (17, 6, 37, 20);
    let mut kc = KoopmanConfig::small(ds, da, 24, 64);
    let scan = KoopmanModel::new(kc.clone(), 2);
    kc.rollout = RolloutMode::Conv;
    let conv = KoopmanModel::new(kc, 2);
    let gru = GruModel::new(GruConfig::small(ds, da, 32, 64), 2);
    let models: [(&str, &dyn DynamicsModel); 3] = [
        ("koopman scan", &scan),
        ("koopman conv", &conv),
        ("gru", &gru),
    ];
    for (name, model) in models {
        let mut r = Rng(5);
        let (s0, act) = (r.vec(b * ds, -1.0, 1.0), r.vec(b * h * da, -1.0, 1.0));
        let q = Query::new(&s0, &act, b, h);
        let (ws, wr) = model.predict(q).unwrap();
        let mut p = Predictor::new(model, Device::Cuda(dev)).unwrap();
        assert_eq!(p.device(), "cuda");
        let (mut gs, mut gr) = (vec![f32::NAN; ws.len()], vec![f32::NAN; wr.len()]);
        for call in 0..2 {
            p.predict_into(model, q, &mut gs, &mut gr).unwrap();
            assert_close(
                &format!("{name} states, call {call}"),
                &gs,
                &f64s(&ws),
                1e-3,
            );
            assert_close(
                &format!("{name} rewards, call {call}"),
                &gr,
                &f64s(&wr),
                1e-3,
            );
        }
        // The planner's reward-only call (no decoder) on the same warm pool.
        let mut rr = vec![f32::NAN; wr.len()];
        p.rewards_into(model, q, &mut rr).unwrap();
        assert_close(&format!("{name} rewards_into"), &rr, &f64s(&wr), 1e-3);
    }
}

/// A warm training step and a warm planner call allocate no device memory: values, gradients and
/// launcher scratch all come from pools. The emulated device's driver counts `cuMemAlloc` calls;
/// on a GPU the count is not available and only the steps themselves are checked.
#[test]
fn warm_steps_allocate_no_device_memory() {
    use koopman::backend::cuda::emu::driver::allocations;
    use koopman::models::{Predictor, Query};
    let Some(dev) = device() else { return };
    let (ds, da) = (17, 6);
    let model = KoopmanModel::new(KoopmanConfig::small(ds, da, 32, 128), 5);
    let mut tr = Trainer::new(Box::new(model), TrainConfig::default())
        .to_device(Device::Cuda(dev))
        .unwrap();
    let data = Batch::random(32, 16, ds, da, 7);
    let (b, h) = (64, 12);
    let mut rng = Rng(3);
    let (s0, act) = (rng.vec(b * ds, -1.0, 1.0), rng.vec(b * h * da, -1.0, 1.0));
    let mut rewards = vec![0.0; b * h];
    let mut planner = Predictor::new(tr.model.as_ref(), Device::Cuda(dev)).unwrap();
    let mut work = |tr: &mut Trainer, planner: &mut Predictor| {
        for _ in 0..2 {
            tr.step(&data.view()).unwrap();
            let q = Query::new(&s0, &act, b, h);
            planner
                .rewards_into(tr.model.as_ref(), q, &mut rewards)
                .unwrap();
        }
    };
    work(&mut tr, &mut planner);
    let before = allocations();
    work(&mut tr, &mut planner);
    match (before, allocations()) {
        (Some(b), Some(a)) => assert_eq!(a, b, "warm steps made {} device allocations", a - b),
        _ => crate::skip("allocation count: available on the emulated device only"),
    }
}
