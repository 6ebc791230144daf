//! Every op, one test body for every device: each `check_op!` runs the op's body
//! - on the CPU in f64, its hand-written backward against central finite differences;
//! - on the CUDA tape against the CPU tape in f32 (forward and every input's gradient, rtol 1e-4
//!   plus 1e-5 of the tensor's scale), when a GPU is present; without one it prints `SKIP`
//!   (a failure under `REQUIRE_CUDA=1`).
//!
//! The body is written once and instantiated per backend, so the checks cannot diverge.
#![allow(clippy::cloned_ref_to_slice_refs)] // clones keep the check calls uniform
mod common;
use common::randn;
use koopman::ops::unary::Unary;
use koopman::util::rng::Rng;
use koopman::Tensor;

/// `check_op!(name, inputs, |t, v| body)`: the finite-difference check on the CPU, then the same
/// body on every other compiled-in backend against the CPU.
macro_rules! check_op {
    ($name:expr, $inputs:expr, $(move)? |$t:ident, $v:ident| $body:expr $(,)?) => {{
        use koopman::backend::Cpu;
        use koopman::{Tape, Var};
        let inputs: &[Tensor<f64>] = $inputs;
        common::gradcheck($name, inputs, |$t: &mut Tape<Cpu<f64>>, $v: &[Var]| $body);
        #[cfg(feature = "cuda")]
        common::device_parity(
            $name,
            inputs,
            &|$t: &mut Tape<Cpu>, $v: &[Var]| $body,
            &|$t: &mut Tape<koopman::backend::Cuda>, $v: &[Var]| $body,
        );
    }};
}

fn rng() -> Rng {
    Rng::new(42)
}

#[test]
fn matmul_with_and_without_bias() {
    let r = &mut rng();
    let (x, w, b) = (randn(&[2, 3, 5], r), randn(&[5, 4], r), randn(&[4], r));
    check_op!("matmul+bias", &[x.clone(), w.clone(), b], |t, v| {
        t.matmul(v[0], v[1], Some(v[2]))
    });
    check_op!("matmul", &[x, w], |t, v| t.matmul(v[0], v[1], None));
}

/// On a recording tape `linear` is matmul then the activation, with their backward rules.
#[test]
fn linear_with_activation_differentiates_as_matmul_then_unary() {
    let r = &mut rng();
    let (x, w, b) = (randn(&[2, 3, 5], r), randn(&[5, 4], r), randn(&[4], r));
    check_op!("linear+elu", &[x.clone(), w.clone(), b], |t, v| {
        t.linear(v[0], v[1], Some(v[2]), Some(Unary::Elu))
    });
    check_op!("linear", &[x, w], |t, v| t.linear(v[0], v[1], None, None));
}

/// f(x·w + b) on a no-grad tape, where `linear` is one fused op: against matmul then unary on the
/// CPU, for every activation, with and without a bias, one row block and several (300 rows of 256
/// outputs is two blocks); then the CUDA tape's fused epilogue against the same CPU values.
#[test]
fn linear_fused_where_no_gradient_flows_matches_matmul_then_unary() {
    use koopman::autodiff::ParamStore;
    use koopman::ops::Engine;
    use koopman::{Tape, Var};
    fn run<B: Engine<E = f32>>(
        t: &mut Tape<B>,
        ins: &[Tensor<f32>],
        bias: bool,
        act: Option<Unary>,
        fused: bool,
    ) -> Vec<f32> {
        let v: Vec<Var> = ins.iter().map(|x| t.tensor(x)).collect();
        let b = bias.then_some(v[2]);
        let y = if fused {
            t.linear(v[0], v[1], b, act).unwrap()
        } else {
            let y = t.matmul(v[0], v[1], b).unwrap();
            act.map_or(y, |k| t.unary(y, k))
        };
        t.fetch(y).unwrap()
    }
    let r = &mut rng();
    let params = ParamStore::<f32>::new();
    let acts = std::iter::once(None).chain(Unary::ALL.map(Some));
    for (n, k, m) in [(3, 5, 4), (300, 40, 256)] {
        let ins: Vec<Tensor<f32>> = [vec![n, k], vec![k, m], vec![m]]
            .iter()
            .map(|d| randn(d, r).cast())
            .collect();
        for act in acts.clone() {
            for bias in [true, false] {
                let what = format!("linear {n}x{k}x{m} {act:?} bias {bias}");
                let mut cpu = Tape::no_grad(&params);
                let want = run(&mut cpu, &ins, bias, act, false);
                let got = run(&mut cpu, &ins, bias, act, true);
                common::assert_scaled(&format!("{what} (CPU)"), &got, &want, 1e-5);
                #[cfg(feature = "cuda")]
                if let Some(dev) = common::cuda_device() {
                    use koopman::autodiff::DeviceParams;
                    use koopman::backend::{Cuda, Pool};
                    let cuda = Cuda::new(dev);
                    let dp = DeviceParams::upload(&cuda, &params).unwrap();
                    let mut gpu = Tape::on(cuda, &params, &dp, Pool::default(), false).unwrap();
                    let got = run(&mut gpu, &ins, bias, act, true);
                    common::assert_scaled(&format!("{what} (CUDA)"), &got, &want, 1e-4);
                }
            }
        }
    }
}

#[test]
fn bmm_plain_and_transposed() {
    let r = &mut rng();
    check_op!(
        "bmm",
        &[randn(&[3, 4, 5], r), randn(&[3, 5, 2], r)],
        |t, v| t.bmm(v[0], v[1], false),
    );
    check_op!(
        "bmm_t",
        &[randn(&[3, 4, 5], r), randn(&[3, 2, 5], r)],
        |t, v| t.bmm(v[0], v[1], true),
    );
}

#[test]
fn unary_activations() {
    let r = &mut rng();
    for kind in Unary::ALL {
        check_op!(kind.name(), &[randn(&[4, 7], r)], move |t, v| {
            Ok(t.unary(v[0], kind))
        });
    }
}

/// F.normalize over the last axis, including a row below eps (held at eps: y = x / eps).
#[test]
fn l2_normalize_rows_and_a_row_below_eps() {
    let r = &mut rng();
    let mut x = randn(&[3, 2, 5], r);
    x.data[..5].iter_mut().for_each(|v| *v *= 1e-5);
    check_op!("l2_normalize", &[x], |t, v| t.l2_normalize(v[0], 1e-3));
}

/// Cosine similarity as SPR computes it, composed: Σ l2n(a)·l2n(b) over the last axis.
#[test]
fn cosine_similarity_composed_from_l2_normalize() {
    let r = &mut rng();
    let (a, b) = (randn(&[4, 6], r), randn(&[4, 6], r));
    check_op!("cosine", &[a, b], |t, v| {
        let (a, b) = (t.l2_normalize(v[0], 1e-3)?, t.l2_normalize(v[1], 1e-3)?);
        let ab = t.mul(a, b)?;
        let ones = t.constant([6, 1], &[1.0; 6])?;
        t.matmul(ab, ones, None)
    });
}

#[test]
fn add_mul_scale_with_broadcasting() {
    let r = &mut rng();
    let (a, b) = (randn(&[3, 2, 4], r), randn(&[2, 4], r));
    check_op!("add", &[a.clone(), b.clone()], |t, v| t.add(v[0], v[1]));
    check_op!("mul", &[a.clone(), b.clone()], |t, v| t.mul(v[0], v[1]));
    check_op!("mul_same", &[b.clone()], |t, v| t.mul(v[0], v[0]));
    check_op!("add_same", &[b], |t, v| t.add(v[0], v[0]));
    check_op!("scale", &[a], |t, v| Ok(t.scale(v[0], -1.7)));
}

#[test]
fn layernorm() {
    let r = &mut rng();
    let (x, g, b) = (randn(&[5, 6], r), randn(&[6], r), randn(&[6], r));
    check_op!("layernorm", &[x, g, b], |t, v| {
        t.layernorm(v[0], v[1], v[2])
    });
}

#[test]
fn softmax_plain_and_causal() {
    let r = &mut rng();
    check_op!("softmax", &[randn(&[3, 5], r)], |t, v| {
        t.softmax(v[0], false)
    });
    check_op!("softmax_causal", &[randn(&[2, 4, 4], r)], |t, v| {
        t.softmax(v[0], true)
    });
}

#[test]
fn concat_split_narrow_reshape_permute() {
    let r = &mut rng();
    let (a, b) = (randn(&[2, 3, 4], r), randn(&[2, 2, 4], r));
    check_op!("concat", &[a.clone(), b], |t, v| t.concat(&[v[0], v[1]], 1));
    check_op!("concat_last", &[a.clone(), randn(&[2, 3, 1], r)], |t, v| {
        t.concat(&[v[0], v[1]], 2)
    });
    check_op!("narrow", &[a.clone()], |t, v| t.narrow(v[0], 2, 1, 2));
    check_op!("split", &[a.clone()], |t, v| {
        let p = t.split(v[0], 1, &[1, 2])?;
        let q = t.scale(p[1], 2.0);
        let q = t.narrow(q, 1, 0, 1)?;
        t.add(p[0], q)
    });
    check_op!("reshape", &[a.clone()], |t, v| t.reshape(v[0], &[6, 4]));
    check_op!("permute", &[randn(&[2, 3, 4, 5], r)], |t, v| {
        t.permute(v[0], &[0, 2, 1, 3])
    });
    check_op!("transpose", &[a], |t, v| t.transpose(v[0], 0, 2));
}

#[test]
fn sum_mean_mse() {
    let r = &mut rng();
    let (a, b) = (randn(&[3, 4], r), randn(&[12], r));
    check_op!("sum", &[a.clone()], |t, v| Ok(t.sum(v[0])));
    check_op!("mean", &[a.clone()], |t, v| Ok(t.mean(v[0])));
    check_op!("mse", &[a, b], |t, v| t.mse(v[0], v[1]));
}

#[test]
fn cmul_complex_product() {
    let r = &mut rng();
    check_op!("cmul", &[randn(&[2, 3, 8], r), randn(&[8], r)], |t, v| {
        t.cmul(v[0], v[1])
    });
}

fn eig(m: usize, r: &mut Rng) -> (Tensor<f64>, Tensor<f64>) {
    let mu =
        Tensor::from_vec(&[m][..], (0..m).map(|_| -0.1 - 0.3 * r.uniform()).collect()).unwrap();
    let om = Tensor::from_vec(
        &[m][..],
        (0..m)
            .map(|j| (j + 1) as f64 * 0.7 + 0.1 * r.normal())
            .collect(),
    )
    .unwrap();
    (mu, om)
}

#[test]
fn zoh_discretisation_including_small_lambda() {
    let r = &mut rng();
    let (mu, om) = eig(4, r);
    let log_dt = Tensor::from_vec(&[1][..], vec![(0.1f64).ln()]).unwrap();
    check_op!("zoh", &[mu, om, log_dt.clone()], |t, v| {
        t.zoh(v[0], v[1], v[2])
    });
    // |λΔt| < 1e-4 takes the series branch; its derivative must still be exact.
    let tiny = Tensor::from_vec(&[2][..], vec![-3e-5, 2e-5]).unwrap();
    let tiny_w = Tensor::from_vec(&[2][..], vec![1e-5, -4e-5]).unwrap();
    check_op!("zoh_series", &[tiny, tiny_w, log_dt], |t, v| {
        t.zoh(v[0], v[1], v[2])
    });
    let per_mode = Tensor::from_vec(&[3][..], vec![-2.0, -2.5, -3.0]).unwrap();
    let (mu, om) = eig(3, r);
    check_op!("zoh_per_mode_dt", &[mu, om, per_mode], |t, v| {
        t.zoh(v[0], v[1], v[2])
    });
}

#[test]
fn vandermonde_closed_form() {
    let r = &mut rng();
    let (mu, om) = eig(3, r);
    let log_dt = Tensor::from_vec(&[1][..], vec![(0.05f64).ln()]).unwrap();
    check_op!("vandermonde", &[mu, om, log_dt], |t, v| {
        t.vandermonde(v[0], v[1], v[2], 7)
    });
    let (mu, om) = eig(3, r);
    let per_mode = Tensor::from_vec(&[3][..], vec![-2.5, -3.0, -2.2]).unwrap();
    check_op!("vandermonde_per_mode_dt", &[mu, om, per_mode], |t, v| {
        t.vandermonde(v[0], v[1], v[2], 7)
    });
}

#[test]
fn scan_recurrence() {
    let r = &mut rng();
    let (b, tl, m) = (2, 6, 3);
    let z0 = randn(&[b, 2 * m], r);
    let c = randn(&[b, tl, 2 * m], r);
    let lbar = Tensor::from_vec(
        &[2 * m][..],
        vec![0.9, 0.5, -0.3, 0.2, -0.6, 0.85], // |λ̄| < 1
    )
    .unwrap();
    check_op!("scan", &[z0, c, lbar], |t, v| t.scan(v[0], v[1], v[2]));
}

#[test]
fn cconv_convolution() {
    let r = &mut rng();
    let (b, tl, m) = (2, 5, 3);
    let z0 = randn(&[b, 2 * m], r);
    let c = randn(&[b, tl, 2 * m], r);
    let v = randn(&[2, m, tl + 2], r);
    check_op!("cconv", &[z0, c, v], |t, v| t.cconv(v[0], v[1], v[2]));
}

#[test]
fn rollout_through_zoh_gain_and_scan_or_conv() {
    // The full Koopman rollout: gradients reach z0, u, μ, ω and log Δt along both paths.
    let r = &mut rng();
    let (b, tl, m) = (2, 5, 3);
    let (mu, om) = eig(m, r);
    let shared = Tensor::from_vec(&[1][..], vec![(0.2f64).ln()]).unwrap();
    let per_mode = Tensor::from_vec(&[m][..], vec![-1.4, -1.8, -1.6]).unwrap();
    let z0 = randn(&[b, 2 * m], r);
    let u = randn(&[b, tl, 2 * m], r);
    for (conv, log_dt) in [false, true]
        .into_iter()
        .flat_map(|c| [(c, &shared), (c, &per_mode)])
    {
        let ins = [
            z0.clone(),
            u.clone(),
            mu.clone(),
            om.clone(),
            log_dt.clone(),
        ];
        let name = match (conv, log_dt.numel()) {
            (false, 1) => "rollout_scan",
            (true, 1) => "rollout_conv",
            (false, _) => "rollout_scan_per_mode_dt",
            (true, _) => "rollout_conv_per_mode_dt",
        };
        check_op!(name, &ins, move |t, v| {
            let zg = t.zoh(v[2], v[3], v[4])?;
            let parts = t.split(zg, 0, &[1, 1])?;
            let lbar = t.reshape(parts[0], &[2 * m])?;
            let gain = t.reshape(parts[1], &[2 * m])?;
            let c = t.cmul(v[1], gain)?;
            if conv {
                let vm = t.vandermonde(v[2], v[3], v[4], tl + 1)?;
                t.cconv(v[0], c, vm)
            } else {
                t.scan(v[0], c, lbar)
            }
        },);
    }
}

#[test]
fn gru_cell() {
    let r = &mut rng();
    let (b, h) = (3, 4);
    check_op!(
        "gru_cell",
        &[
            randn(&[b, 3 * h], r),
            randn(&[b, 3 * h], r),
            randn(&[b, h], r),
        ],
        |t, v| t.gru_cell(v[0], v[1], v[2]),
    );
}

#[test]
fn conv2d_strides_padding_channels_and_bias() {
    let r = &mut rng();
    // (x [N, C, H, W], w [O, C, KH, KW], stride, padding, bias)
    let cases = [
        ([2, 3, 6, 5], [4, 3, 3, 3], 1, 0, true),
        ([2, 3, 7, 6], [2, 3, 3, 2], 2, 1, false),
        ([1, 2, 5, 5], [3, 2, 3, 3], 2, 0, true),
        ([3, 1, 4, 4], [2, 1, 2, 2], 1, 1, false),
        // Five samples: two weight-gradient blocks on the CPU.
        ([5, 2, 5, 4], [3, 2, 3, 3], 1, 1, true),
        // Padding of kernel − 1 ("full" convolution), with a stride that skips pixels.
        ([1, 2, 3, 3], [2, 2, 2, 2], 3, 1, true),
        // im2col columns over the CPU's tile size: two tiles of whole output rows, then three
        // tiles that start mid-row.
        ([2, 8, 33, 32], [3, 8, 3, 3], 1, 1, true),
        ([1, 16, 64, 62], [2, 16, 3, 3], 2, 1, false),
        ([1, 8, 34, 30], [2, 8, 3, 3], 1, 0, true),
        // 1 × 1 filters, and a non-square kernel with stride 3.
        ([2, 4, 5, 5], [3, 4, 1, 1], 1, 0, true),
        ([2, 3, 10, 9], [2, 3, 2, 4], 3, 1, true),
        // A stride past the image: one output per filter.
        ([1, 2, 5, 6], [2, 2, 3, 3], 1000, 1, true),
    ];
    for (xd, wd, s, p, bias) in cases {
        let name = format!("conv2d x{xd:?} w{wd:?} stride {s} pad {p} bias {bias}");
        let (x, w) = (randn(&xd, r), randn(&wd, r));
        if bias {
            check_op!(&name, &[x, w, randn(&[wd[0]], r)], |t, v| {
                t.conv2d(v[0], v[1], Some(v[2]), s, p)
            });
        } else {
            check_op!(&name, &[x, w], |t, v| t.conv2d(v[0], v[1], None, s, p));
        }
    }
}

#[test]
fn conv2d_input_used_twice_accumulates() {
    // The same x through two convolutions: the second input gradient adds into the first.
    let r = &mut rng();
    let (x, w) = (randn(&[2, 2, 5, 5], r), randn(&[2, 2, 3, 3], r));
    check_op!("conv2d twice", &[x, w], |t, v| {
        let a = t.conv2d(v[0], v[1], None, 1, 1)?;
        let b = t.conv2d(v[0], v[1], None, 1, 1)?;
        t.add(a, b)
    });
}

#[test]
fn conv2d_shape_errors_name_the_shapes() {
    use koopman::backend::Cpu;
    use koopman::{ParamStore, Tape};
    let params = ParamStore::<f32>::new();
    let mut t: Tape<Cpu> = Tape::new(&params);
    let x = t.input(&Tensor::zeros(&[2, 3, 8, 8][..]));
    let w = t.input(&Tensor::zeros(&[4, 3, 3, 3][..]));
    let bad = [
        (
            t.input(&Tensor::zeros(&[4, 2, 3, 3][..])),
            None,
            1,
            0,
            "channels",
        ),
        (
            t.input(&Tensor::zeros(&[4, 3, 9, 9][..])),
            None,
            1,
            0,
            "larger",
        ),
        (w, None, 0, 0, "stride"),
        (t.input(&Tensor::zeros(&[4, 3, 3][..])), None, 1, 0, "need"),
        (w, Some(t.input(&Tensor::zeros(&[3][..]))), 1, 0, "bias"),
    ];
    for (wv, b, s, p, what) in bad {
        let e = t.conv2d(x, wv, b, s, p).unwrap_err().to_string();
        assert!(e.contains("conv2d") && e.contains(what), "{e}");
    }
    let x3 = t.input(&Tensor::zeros(&[3, 8, 8][..]));
    assert!(t.conv2d(x3, w, None, 1, 0).is_err());
    // Padding as wide as the kernel (it could ask for any output size), or whose size overflows.
    for pad in [3, 1 << 30, usize::MAX / 2] {
        let e = t.conv2d(x, w, None, 1, pad).unwrap_err().to_string();
        assert!(e.contains("padding must be smaller"), "{e}");
    }
    // A kernel wider than the image fits once padded.
    let wide = t.input(&Tensor::zeros(&[4, 3, 9, 9][..]));
    let y = t.conv2d(x, wide, None, 1, 1).unwrap();
    assert_eq!(t.dims(y), &[2, 4, 2, 2]);
}

#[test]
fn conv2d_cpu_results_do_not_depend_on_the_thread_count() {
    use koopman::backend::Cpu;
    use koopman::{ParamStore, Tape};
    let r = &mut rng();
    let to32 = |t: Tensor<f64>| t.cast::<f32>();
    let (x, w, b) = (
        to32(randn(&[9, 3, 11, 10], r)),
        to32(randn(&[5, 3, 3, 3], r)),
        to32(randn(&[5], r)),
    );
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let params = ParamStore::<f32>::new();
            let mut t: Tape<Cpu> = Tape::new(&params);
            let (xv, wv, bv) = (t.input(&x), t.input(&w), t.input(&b));
            let y = t.conv2d(xv, wv, Some(bv), 2, 1).unwrap();
            let sq = t.mul(y, y).unwrap();
            let l = t.sum(sq);
            let g = t.backward(l).unwrap();
            let mut out = t.value(y).to_vec();
            for v in [xv, wv, bv] {
                out.extend_from_slice(g.wrt(v).unwrap());
            }
            out
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let many = run(threads);
        assert!(
            one.iter()
                .zip(&many)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{threads} threads differ from one"
        );
    }
}

#[test]
fn conv2d_cpu_single_sample_on_the_pool_matches_one_thread() {
    // One sample, several tiles: the GEMMs themselves use the pool; the result must not change.
    use koopman::backend::Cpu;
    use koopman::{ParamStore, Tape};
    let r = &mut rng();
    let (x, w) = (
        randn(&[1, 32, 41, 41], r).cast::<f32>(),
        randn(&[32, 32, 3, 3], r).cast::<f32>(),
    );
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let params = ParamStore::<f32>::new();
            let mut t: Tape<Cpu> = Tape::new(&params);
            let (xv, wv) = (t.input(&x), t.input(&w));
            let y = t.conv2d(xv, wv, None, 1, 0).unwrap();
            let sq = t.mul(y, y).unwrap();
            let l = t.sum(sq);
            let g = t.backward(l).unwrap();
            let mut out = t.value(y).to_vec();
            out.extend_from_slice(g.wrt(xv).unwrap());
            out.extend_from_slice(g.wrt(wv).unwrap());
            out
        })
    };
    let one = run(1);
    assert!(one
        .iter()
        .zip(&run(2))
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn conv2d_f32_kernels_match_f64() {
    // The f32 CPU path (AVX-512 kernels with no im2col where the CPU has them) against the f64
    // path (im2col + GEMM), over strides, paddings (the weight gradient reads an unpadded x where
    // it lies), odd channel counts, filters that fill no whole register (5, 20, 50), output rows
    // in several blocks, and a 1 × 1 kernel with more filters than im2col rows.
    use koopman::ops::conv2d::{cpu, Conv2dGeom};
    let r = &mut rng();
    let cases = [
        ([3, 3, 11, 10], [5, 3, 3, 3], 2, 1),
        ([2, 7, 9, 13], [20, 7, 3, 2], 1, 0),
        ([2, 2, 17, 17], [50, 2, 4, 4], 3, 2),
        ([2, 3, 6, 6], [9, 3, 1, 1], 1, 0),
        ([5, 32, 20, 20], [32, 32, 3, 3], 1, 0),
        ([3, 9, 20, 20], [32, 9, 3, 3], 2, 0),
        ([2, 4, 13, 9], [17, 4, 4, 2], 2, 1),
        ([2, 2, 17, 17], [50, 2, 4, 4], 3, 0),
        ([2, 5, 12, 11], [7, 5, 3, 3], 1, 1),
    ];
    for (xd, wd, s, p) in cases {
        let g = Conv2dGeom::new(&xd, &wd, s, p).unwrap();
        let x = randn(&[g.n() * g.x_len()], r).data;
        let w = randn(&[g.o() * g.ckk()], r).data;
        let b = randn(&[g.o()], r).data;
        let dy = randn(&[g.n() * g.y_len()], r).data;
        let dx0 = randn(&[x.len()], r).data;
        let dw0 = randn(&[w.len()], r).data;
        fn run<E: koopman::Real>(
            g: &Conv2dGeom,
            [x, w, b, dy, dx0, dw0]: [&[f64]; 6],
        ) -> [Vec<f64>; 6] {
            let e = |v: &[f64]| v.iter().map(|v| E::of(*v)).collect::<Vec<E>>();
            let (mut dx, mut dw, mut db) = (e(dx0), e(dw0), e(b));
            let (x, w, b, dy) = (e(x), e(w), e(b), e(dy));
            let (mut y, mut y0) = (vec![E::zero(); dy.len()], vec![E::zero(); dy.len()]);
            let mut dx1 = e(dx0);
            let mut scratch = vec![E::zero(); 1 << 20];
            cpu::forward(g, &x, &w, Some(&b), &mut y, &mut scratch).unwrap();
            cpu::forward(g, &x, &w, None, &mut y0, &mut scratch).unwrap();
            cpu::data_grad(g, &w, &dy, &mut dx, true, &mut scratch).unwrap();
            cpu::data_grad(g, &w, &dy, &mut dx1, false, &mut scratch).unwrap();
            let grads = (Some((&mut dw[..], true)), Some((&mut db[..], true)));
            cpu::params_grad(g, &x, &dy, grads.0, grads.1, &mut scratch).unwrap();
            [y, y0, dx, dx1, dw, db].map(|v| v.iter().map(|v| v.f64()).collect())
        }
        let ops = [&x[..], &w, &b, &dy, &dx0, &dw0];
        let (single, double) = (run::<f32>(&g, ops), run::<f64>(&g, ops));
        let names = ["y", "y without bias", "dx (added)", "dx", "dw", "db"];
        for (what, (a, e)) in names.iter().zip(single.iter().zip(&double)) {
            let scale = e.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert!(
                    (a - e).abs() <= 1e-5 * scale,
                    "x {xd:?} w {wd:?} stride {s} pad {p}: {what}[{i}] = {a}, want {e}"
                );
            }
        }
    }
}
