//! Shared test helpers: closeness checks and the finite-difference gradient check.
#![allow(dead_code)]
use koopman::backend::Cpu;
use koopman::util::rng::Rng;
use koopman::{ParamStore, Result, Tape, Tensor, Var};

/// Asserts |a − b| ≤ atol + rtol·|b| elementwise, printing the worst element on failure.
pub fn assert_close(a: &[f64], b: &[f64], atol: f64, rtol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let mut worst = (0usize, 0.0f64);
    for i in 0..a.len() {
        let err = (a[i] - b[i]).abs() - (atol + rtol * b[i].abs());
        if err > worst.1 || a[i].is_nan() {
            worst = (i, err.max(f64::MIN_POSITIVE));
        }
    }
    if worst.1 > 0.0 || a.iter().any(|x| x.is_nan()) {
        let i = worst.0;
        panic!(
            "{what}: element {i}: got {} expected {} (atol {atol}, rtol {rtol})",
            a[i], b[i]
        );
    }
}

pub fn randn(dims: &[usize], rng: &mut Rng) -> Tensor<f64> {
    let n: usize = dims.iter().product();
    Tensor::from_vec(dims, (0..n).map(|_| rng.normal()).collect()).unwrap()
}

pub fn to64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Checks the hand-written backward of `f` against central differences, in f64.
/// loss = Σ f(inputs) ⊙ w with a random w, so upstream gradients are not uniform.
pub fn gradcheck<F>(name: &str, inputs: &[Tensor<f64>], f: F)
where
    F: Fn(&mut Tape<Cpu<f64>>, &[Var]) -> Result<Var>,
{
    let params = ParamStore::<f64>::new();
    let mut rng = Rng::new(0xC0FFEE);
    let eval = |ins: &[Tensor<f64>],
                w: Option<&Tensor<f64>>|
     -> (f64, Option<Vec<Vec<f64>>>, Tensor<f64>) {
        let mut tape = Tape::new(&params);
        let vars: Vec<Var> = ins.iter().map(|t| tape.input(t)).collect();
        let out = f(&mut tape, &vars).expect("op failed");
        let outv = tape.to_tensor(out);
        let Some(w) = w else { return (0.0, None, outv) };
        let wv = tape.tensor(w);
        let prod = tape.mul(out, wv).unwrap();
        let loss = tape.sum(prod);
        let l = tape.item(loss);
        let grads = tape.backward(loss).unwrap();
        let g = vars
            .iter()
            .zip(ins)
            .map(|(&v, t)| {
                grads
                    .wrt(v)
                    .map(|g| g.to_vec())
                    .unwrap_or_else(|| vec![0.0; t.numel()])
            })
            .collect();
        (l, Some(g), outv)
    };
    let (_, _, out0) = eval(inputs, None);
    let w = randn(out0.dims(), &mut rng);
    let (_, analytic, _) = eval(inputs, Some(&w));
    let analytic = analytic.unwrap();
    let eps = 1e-6;
    for (ii, inp) in inputs.iter().enumerate() {
        // Check up to 40 entries per input (all when small), chosen at random.
        let n = inp.numel();
        let idx: Vec<usize> = if n <= 40 {
            (0..n).collect()
        } else {
            (0..40).map(|_| rng.below(n)).collect()
        };
        for &j in &idx {
            let mut plus = inputs.to_vec();
            plus[ii].data[j] += eps;
            let mut minus = inputs.to_vec();
            minus[ii].data[j] -= eps;
            let lp = eval(&plus, Some(&w)).0;
            let lm = eval(&minus, Some(&w)).0;
            let fd = (lp - lm) / (2.0 * eps);
            let a = analytic[ii][j];
            let tol = 1e-6 + 1e-5 * fd.abs().max(a.abs());
            assert!(
                (a - fd).abs() <= tol,
                "{name}: d/d(input {ii})[{j}]: analytic {a:.9e} vs finite difference {fd:.9e}"
            );
        }
    }
}

/// An op body on a tape of backend `B`.
pub type Build<'a, B> = dyn Fn(&mut Tape<B>, &[Var]) -> Result<Var> + 'a;

/// The op's output and every input's gradient on `t` (loss = Σ y ⊙ w for a fixed random w).
fn run_on<B: koopman::ops::Engine<E = f32>>(
    t: &mut Tape<B>,
    inputs: &[Tensor<f32>],
    build: &Build<'_, B>,
) -> Result<(Vec<f32>, Vec<Vec<f32>>)> {
    let vars: Vec<Var> = inputs.iter().map(|x| t.input(x)).collect();
    let y = build(t, &vars)?;
    let mut rng = Rng::new(99);
    let w: Vec<f32> = (0..t.shape(y).numel())
        .map(|_| rng.normal() as f32)
        .collect();
    let wv = t.constant(t.shape(y), &w)?;
    let l = t.mul(y, wv)?;
    let l = t.sum(l);
    let grads = t.backward(l)?;
    let value = t.fetch(y)?;
    let mut dins = Vec::new();
    for (&v, x) in vars.iter().zip(inputs) {
        let mut host = vec![0.0; x.numel()];
        if let Some(g) = grads.wrt(v) {
            t.backend().download(g, &mut host)?;
        }
        dins.push(host);
    }
    Ok((value, dins))
}

/// `|got − want| ≤ rtol·|want| + 0.1·rtol·max|want|`, naming the worst element.
pub fn assert_scaled(what: &str, got: &[f32], want: &[f32], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(0f64, |m, &x| m.max((x as f64).abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = rtol * (w as f64).abs() + 0.1 * rtol * scale;
        assert!(
            ((g - w) as f64).abs() <= tol,
            "{what}: element {i}: got {g}, want {w} (tolerance {tol:.3e})"
        );
    }
}

/// The CUDA device, or `None` after printing `SKIP: <reason>` (a failure under REQUIRE_CUDA=1).
#[cfg(feature = "cuda")]
pub fn cuda_device() -> Option<&'static koopman::backend::cuda::CudaDevice> {
    use std::io::Write;
    let reason = match koopman::backend::cuda::CudaDevice::get() {
        Ok(dev) => return Some(dev),
        Err(e) => e.0,
    };
    if std::env::var("REQUIRE_CUDA").is_ok_and(|v| v == "1") {
        panic!("REQUIRE_CUDA=1 but CUDA is unavailable: {reason}");
    }
    let _ = writeln!(std::io::stderr().lock(), "SKIP: {reason}");
    None
}

/// The same op body on the CUDA tape against the CPU tape, in f32.
#[cfg(feature = "cuda")]
pub fn device_parity(
    name: &str,
    inputs: &[Tensor<f64>],
    on_cpu: &Build<'_, Cpu>,
    on_cuda: &Build<'_, koopman::backend::Cuda>,
) {
    use koopman::autodiff::DeviceParams;
    use koopman::backend::{Cuda, Pool};
    let Some(dev) = cuda_device() else { return };
    let inputs: Vec<Tensor<f32>> = inputs.iter().map(|t| t.cast()).collect();
    let params = ParamStore::<f32>::new();
    let want = run_on(&mut Tape::new(&params), &inputs, on_cpu).expect("CPU op");
    let cuda = Cuda::new(dev);
    let dparams = DeviceParams::upload(&cuda, &params).unwrap();
    let mut gpu = Tape::on(cuda, &params, &dparams, Pool::default(), true).unwrap();
    let got = run_on(&mut gpu, &inputs, on_cuda).unwrap_or_else(|e| panic!("{name} on CUDA: {e}"));
    const RTOL: f64 = 1e-4;
    assert_scaled(&format!("{name} forward"), &got.0, &want.0, RTOL);
    for (i, (g, w)) in got.1.iter().zip(&want.1).enumerate() {
        assert_scaled(&format!("{name} d input {i}"), g, w, RTOL);
    }
}

/// Two SAC updates and a greedy action on the CUDA backend (a GPU, or the emulated device under
/// KOOPMAN_CUDA=emu) against the CPU, from the same networks: the same losses, α, entropy,
/// parameters and action.
#[cfg(feature = "cuda")]
pub fn sac_cuda_parity(
    nets: koopman::rl::sac::SacNets,
    batch: &koopman::rl::ReplayBatch,
    obs: &[f32],
) {
    use koopman::rl::sac::SacAgent;
    let Some(dev) = cuda_device() else {
        return;
    };
    let mut cpu = SacAgent::new(nets.clone(), Cpu::default(), 22).unwrap();
    let mut gpu = SacAgent::new(nets, koopman::backend::Cuda::new(dev), 22).unwrap();
    for _ in 0..2 {
        let (x, y) = (cpu.update(batch).unwrap(), gpu.update(batch).unwrap());
        for (name, p, q) in [
            ("critic loss", x.critic_loss, y.critic_loss),
            ("actor loss", x.actor_loss, y.actor_loss),
            ("alpha", x.alpha, y.alpha),
            ("entropy", x.entropy, y.entropy),
            ("SPR loss", x.spr_loss, y.spr_loss),
        ] {
            assert!(
                (p - q).abs() <= 1e-4 * p.abs().max(1.0),
                "{name}: cpu {p}, cuda {q}"
            );
        }
    }
    let (sa, sb) = (cpu.state().unwrap(), gpu.state().unwrap());
    for ((name, x), (_, y)) in sa.online.iter().zip(sb.online.iter()) {
        assert_scaled(name, &y.data, &x.data, 1e-3);
    }
    assert_scaled(
        "greedy action",
        &gpu.act(obs, false).unwrap(),
        &cpu.act(obs, false).unwrap(),
        1e-4,
    );
}
