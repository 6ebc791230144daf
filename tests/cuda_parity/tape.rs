//! The tape on CUDA against the tape on the CPU: every op through `Tape` (dispatch, shapes, saved
//! buffers, gradient accumulation), then whole models: the loss and every parameter gradient of
//! each of the four models, and a 20-step Koopman training run whose loss curve must follow the
//! CPU's for the same seed and batches.
use crate::gpu::{device, RTOL};
use crate::{assert_close, f64s, Rng};
use koopman::autodiff::DeviceParams;
use koopman::backend::cuda::CudaDevice;
use koopman::backend::Device;
use koopman::backend::{Backend, Cpu, Cuda, Pool};
use koopman::data::Batch;
use koopman::models::{
    DynamicsModel, GruConfig, GruModel, KoopmanConfig, KoopmanModel, MlpConfig, MlpModel,
    RolloutMode, TransformerConfig, TransformerModel,
};
use koopman::ops::unary::Unary;
use koopman::ops::Engine;
use koopman::train::{TrainConfig, Trainer};
use koopman::{ParamStore, Tape, Tensor, Var};

/// An op body on a tape of backend `B`: builds the output from the inputs.
type OpBody<B> = dyn for<'t> Fn(&mut Tape<'t, B>, &[Var]) -> koopman::Result<Var>;

/// Runs `build` on `t` with the inputs and upstream gradient `w` (loss = Σ y ⊙ w); returns the
/// output and the gradient of every input.
fn run_on<B: Engine<E = f32>>(
    t: &mut Tape<B>,
    name: &str,
    inputs: &[(Vec<usize>, Vec<f32>)],
    build: &OpBody<B>,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|(d, x)| t.input(&Tensor::from_vec(d.as_slice(), x.clone()).unwrap()))
        .collect();
    let y = build(t, &vars).unwrap_or_else(|e| panic!("{name}: {e}"));
    let n = t.shape(y).numel();
    let w = Rng(99).vec(n, -1.0, 1.0);
    let wv = t.constant(t.shape(y), &w).unwrap();
    let l = t.mul(y, wv).unwrap();
    let l = t.sum(l);
    let grads = t.backward(l).unwrap();
    let value = t.fetch(y).unwrap();
    let dins = vars
        .iter()
        .zip(inputs)
        .map(|(&v, (_, x))| {
            let mut host = vec![0.0; x.len()];
            if let Some(g) = grads.wrt(v) {
                t.backend().download(g, &mut host).unwrap();
            }
            host
        })
        .collect();
    (value, dins)
}

/// The same op body on the CPU tape and the CUDA tape, compared (the body is written once, as in
/// candle's `test_device!`; see the `same_on_both!` macro).
fn compare(
    dev: &'static CudaDevice,
    name: &str,
    inputs: &[(Vec<usize>, Vec<f32>)],
    on_cpu: &OpBody<Cpu>,
    on_gpu: &OpBody<Cuda>,
    rtol: f64,
) {
    let params = ParamStore::<f32>::new();
    let want = run_on(&mut Tape::new(&params), name, inputs, on_cpu);
    let cuda = Cuda::new(dev);
    let dparams = DeviceParams::upload(&cuda, &params).unwrap();
    let mut gpu = Tape::on(cuda, &params, &dparams, Pool::default(), true).unwrap();
    let got = run_on(&mut gpu, name, inputs, on_gpu);
    assert_close(&format!("{name} forward"), &got.0, &f64s(&want.0), rtol);
    for (i, (g, w)) in got.1.iter().zip(&want.1).enumerate() {
        assert_close(&format!("{name} d input {i}"), g, &f64s(w), rtol);
    }
}

/// `compare` with one closure body instantiated for both tapes.
macro_rules! same_on_both {
    ($dev:expr, $name:expr, $inputs:expr, &|$t:ident, $v:ident| $body:expr, $rtol:expr $(,)?) => {
        compare(
            $dev,
            $name,
            $inputs,
            &|$t: &mut Tape<Cpu>, $v: &[Var]| $body,
            &|$t: &mut Tape<Cuda>, $v: &[Var]| $body,
            $rtol,
        )
    };
    ($dev:expr, $name:expr, $inputs:expr, &move |$t:ident, $v:ident| $body:expr, $rtol:expr $(,)?) => {
        compare(
            $dev,
            $name,
            $inputs,
            &move |$t: &mut Tape<Cpu>, $v: &[Var]| $body,
            &move |$t: &mut Tape<Cuda>, $v: &[Var]| $body,
            $rtol,
        )
    };
}

fn rnd(rng: &mut Rng, dims: &[usize]) -> (Vec<usize>, Vec<f32>) {
    let n = dims.iter().product();
    (dims.to_vec(), rng.vec(n, -1.0, 1.0))
}

#[test]
fn every_op_through_the_tape() {
    let Some(dev) = device() else { return };
    let mut r = Rng(7);
    let x = rnd(&mut r, &[3, 37, 29]);
    let w = rnd(&mut r, &[29, 33]);
    let b = rnd(&mut r, &[33]);
    same_on_both!(
        dev,
        "matmul+bias",
        &[x.clone(), w.clone(), b.clone()],
        &|t, v| t.matmul(v[0], v[1], Some(v[2])),
        RTOL,
    );
    same_on_both!(
        dev,
        "matmul",
        &[x.clone(), w],
        &|t, v| t.matmul(v[0], v[1], None),
        RTOL,
    );
    let a3 = rnd(&mut r, &[5, 17, 13]);
    let b3 = rnd(&mut r, &[5, 13, 11]);
    let b3t = rnd(&mut r, &[5, 11, 13]);
    same_on_both!(
        dev,
        "bmm",
        &[a3.clone(), b3],
        &|t, v| t.bmm(v[0], v[1], false),
        RTOL,
    );
    same_on_both!(
        dev,
        "bmm trans_b",
        &[a3, b3t],
        &|t, v| t.bmm(v[0], v[1], true),
        RTOL,
    );
    for kind in [
        Unary::Relu,
        Unary::Elu,
        Unary::Gelu,
        Unary::Tanh,
        Unary::Sigmoid,
        Unary::Silu,
    ] {
        same_on_both!(
            dev,
            kind.name(),
            std::slice::from_ref(&x),
            &move |t, v| Ok(t.unary(v[0], kind)),
            RTOL,
        );
    }
    let row = rnd(&mut r, &[29]);
    same_on_both!(
        dev,
        "add broadcast",
        &[x.clone(), row.clone()],
        &|t, v| t.add(v[0], v[1]),
        RTOL,
    );
    same_on_both!(
        dev,
        "mul broadcast",
        &[x.clone(), row.clone()],
        &|t, v| t.mul(v[0], v[1]),
        RTOL,
    );
    same_on_both!(
        dev,
        "mul self",
        std::slice::from_ref(&x),
        &|t, v| t.mul(v[0], v[0]),
        RTOL,
    );
    same_on_both!(
        dev,
        "scale",
        std::slice::from_ref(&x),
        &|t, v| Ok(t.scale(v[0], -1.7)),
        RTOL,
    );
    let beta = rnd(&mut r, &[29]);
    same_on_both!(
        dev,
        "layernorm",
        &[x.clone(), row, beta],
        &|t, v| t.layernorm(v[0], v[1], v[2]),
        RTOL,
    );
    let sq = rnd(&mut r, &[2, 3, 19, 19]);
    same_on_both!(
        dev,
        "softmax",
        std::slice::from_ref(&sq),
        &|t, v| t.softmax(v[0], false),
        RTOL,
    );
    same_on_both!(
        dev,
        "softmax causal",
        &[sq],
        &|t, v| t.softmax(v[0], true),
        RTOL,
    );
    let y = rnd(&mut r, &[3, 5, 29]);
    same_on_both!(
        dev,
        "concat axis 1",
        &[x.clone(), y.clone()],
        &|t, v| t.concat(&[v[0], v[1], v[0]], 1),
        RTOL,
    );
    let z = rnd(&mut r, &[3, 37, 7]);
    same_on_both!(
        dev,
        "concat axis 2",
        &[x.clone(), z],
        &|t, v| t.concat(&[v[1], v[0]], 2),
        RTOL,
    );
    same_on_both!(
        dev,
        "narrow",
        std::slice::from_ref(&x),
        &|t, v| t.narrow(v[0], 1, 4, 30),
        RTOL,
    );
    same_on_both!(
        dev,
        "reshape",
        std::slice::from_ref(&x),
        &|t, v| t.reshape(v[0], &[37, 87]),
        RTOL,
    );
    let p4 = rnd(&mut r, &[3, 5, 7, 11]);
    same_on_both!(
        dev,
        "permute",
        &[p4],
        &|t, v| t.permute(v[0], &[2, 0, 3, 1]),
        RTOL,
    );
    same_on_both!(
        dev,
        "sum",
        std::slice::from_ref(&x),
        &|t, v| Ok(t.sum(v[0])),
        RTOL,
    );
    same_on_both!(
        dev,
        "mean",
        std::slice::from_ref(&x),
        &|t, v| Ok(t.mean(v[0])),
        RTOL,
    );
    same_on_both!(
        dev,
        "mse",
        &[x.clone(), rnd(&mut r, &[3, 37, 29])],
        &|t, v| t.mse(v[0], v[1]),
        RTOL,
    );

    // The Koopman ops, m = 37 modes, T = 23, B = 5.
    let (m, tl, bsz) = (37, 23, 5);
    let mu = (vec![m], r.vec(m, -0.5, 0.0));
    let om = (vec![m], r.vec(m, -3.0, 3.0));
    let ldt = (vec![1], vec![(0.1f32).ln()]);
    let u = rnd(&mut r, &[bsz, tl, 2 * m]);
    let z0 = rnd(&mut r, &[bsz, 2 * m]);
    let gain = rnd(&mut r, &[2 * m]);
    same_on_both!(
        dev,
        "cmul",
        &[u.clone(), gain],
        &|t, v| t.cmul(v[0], v[1]),
        RTOL,
    );
    let eig = [mu.clone(), om.clone(), ldt.clone()];
    same_on_both!(dev, "zoh", &eig, &|t, v| t.zoh(v[0], v[1], v[2]), RTOL);
    same_on_both!(
        dev,
        "vandermonde",
        &eig,
        &move |t, v| t.vandermonde(v[0], v[1], v[2], tl + 1),
        1e-3,
    );
    // Per-mode Δt (log_dt of m values), from its own generator so the inputs above and below stay
    // as they were.
    let ldt_m = (vec![m], Rng(7).vec(m, -3.5, -1.5));
    let eig_m = [mu.clone(), om.clone(), ldt_m.clone()];
    same_on_both!(
        dev,
        "zoh (per-mode dt)",
        &eig_m,
        &|t, v| t.zoh(v[0], v[1], v[2]),
        RTOL,
    );
    same_on_both!(
        dev,
        "vandermonde (per-mode dt)",
        &eig_m,
        &move |t, v| t.vandermonde(v[0], v[1], v[2], tl + 1),
        1e-3,
    );
    for (mode, dt) in [
        ("scan", &ldt),
        ("cconv", &ldt),
        ("scan (per-mode dt)", &ldt_m),
        ("cconv (per-mode dt)", &ldt_m),
    ] {
        let rollout = [mu.clone(), om.clone(), dt.clone(), z0.clone(), u.clone()];
        let scan = mode.starts_with("scan");
        same_on_both!(
            dev,
            mode,
            &rollout,
            &move |t, v| {
                let zg = t.zoh(v[0], v[1], v[2])?;
                let gain = t.narrow(zg, 0, 1, 1)?;
                let gain = t.reshape(gain, &[2 * m])?;
                let c = t.cmul(v[4], gain)?;
                if scan {
                    let lbar = t.narrow(zg, 0, 0, 1)?;
                    let lbar = t.reshape(lbar, &[2 * m])?;
                    t.scan(v[3], c, lbar)
                } else {
                    let vm = t.vandermonde(v[0], v[1], v[2], tl + 1)?;
                    t.cconv(v[3], c, vm)
                }
            },
            1e-3,
        );
    }
    let hd = 45;
    let xp = rnd(&mut r, &[7, 3 * hd]);
    let hp = rnd(&mut r, &[7, 3 * hd]);
    let h = rnd(&mut r, &[7, hd]);
    same_on_both!(
        dev,
        "gru_cell",
        &[xp, hp, h],
        &|t, v| t.gru_cell(v[0], v[1], v[2]),
        RTOL,
    );
}

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
