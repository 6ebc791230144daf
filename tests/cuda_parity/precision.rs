//! The opt-in GEMM precisions against exact products, with tolerances derived from the formats
//! rather than tuned: for C = A·B with K terms, each output may differ from the exact product by
//!
//! - TF32 (10 explicit mantissa bits, operands rounded): `2^-10 · S + K · 2^-24 · S`;
//! - bf16 (7 explicit mantissa bits, operands rounded to nearest even): `2^-8 · S + K · 2^-24 · S`;
//!
//! where `S = Σ_k |a_ik| |b_kj|` (the rounding of both operands, then FP32 accumulation). The bf16
//! path is also checked against the exact product of bf16-rounded operands (only the accumulation
//! error remains), which pins down the cast kernel's rounding.
use crate::gpu::{device, down, poisoned, up};
use crate::Rng;
use cudarc::cublas::sys::{cublasMath_t, cublasSetMathMode};
use cudarc::cublas::{CudaBlas, Gemm};
use koopman::backend::cuda::launch::gemm::{gemm_bf16, RowGemm};

/// Round to nearest even at bf16, as `f32_to_bf16` does.
fn bf16(x: f32) -> f32 {
    half::bf16::from_f32(x).to_f32()
}

/// Exact products and the per-entry magnitude sums S of row-major a [m, k] · b [k, n].
fn exact(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut c, mut s) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        for l in 0..k {
            let av = a[i * k + l] as f64;
            for j in 0..n {
                let bv = b[l * n + j] as f64;
                c[i * n + j] += av * bv;
                s[i * n + j] += (av * bv).abs();
            }
        }
    }
    (c, s)
}

fn within(name: &str, got: &[f32], want: &[f64], s: &[f64], unit: f64, k: usize) {
    let mut worst = 0.0f64;
    for i in 0..want.len() {
        let tol = (unit + k as f64 * 2f64.powi(-24)) * s[i] + 1e-30;
        let r = (got[i] as f64 - want[i]).abs() / tol;
        assert!(
            r <= 1.0,
            "{name}: entry {i} got {} want {} (err/tol {r:.3})",
            got[i],
            want[i]
        );
        worst = worst.max(r);
    }
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr().lock(),
        format_args!("{name}: worst err/tol {worst:.3}\n"),
    );
}

#[test]
fn tf32_and_bf16_gemm_within_format_bounds() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(77);
    let (m, k, n) = (67, 301, 45);
    let (a, b) = (rng.vec(m * k, -1.0, 1.0), rng.vec(k * n, -1.0, 1.0));
    let (want, s) = exact(&a, &b, m, k, n);
    let g = RowGemm::new(m, n, k);
    let (da, db) = (up(dev, &a), up(dev, &b));

    // TF32 on a private cuBLAS handle, so no concurrently running test sees the math mode.
    let blas = CudaBlas::new(dev.stream().clone()).unwrap();
    // SAFETY: the handle is live for as long as `blas`.
    unsafe { cublasSetMathMode(*blas.handle(), cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH) };
    let mut c = poisoned(dev, m * n);
    // SAFETY: operands hold m·k and k·n floats; operands swapped for row-major as in `sgemm`.
    unsafe { blas.gemm(g.config().unwrap(), &db, &da, &mut c) }.unwrap();
    within("tf32", &down(dev, &c), &want, &s, 2f64.powi(-10), k);

    let mut c = poisoned(dev, m * n);
    gemm_bf16(dev, &g, 1, (&da, 0), (&db, 0), (&mut c, 0)).unwrap();
    let got = down(dev, &c);
    within("bf16", &got, &want, &s, 2f64.powi(-8), k);
    let (a16, b16): (Vec<f32>, Vec<f32>) = (
        a.iter().map(|&x| bf16(x)).collect(),
        b.iter().map(|&x| bf16(x)).collect(),
    );
    let (want16, s16) = exact(&a16, &b16, m, k, n);
    within(
        "bf16 vs exact product of bf16 operands",
        &got,
        &want16,
        &s16,
        0.0,
        k,
    );

    // Batched, with accumulation (beta = 1): the backward passes' form.
    let bt = 3;
    let (a3, b3) = (
        rng.vec(bt * m * k, -1.0, 1.0),
        rng.vec(bt * k * n, -1.0, 1.0),
    );
    let c0 = rng.vec(bt * m * n, -1.0, 1.0);
    let (d3a, d3b, mut d3c) = (up(dev, &a3), up(dev, &b3), up(dev, &c0));
    let acc = RowGemm { beta: 1.0, ..g };
    gemm_bf16(
        dev,
        &acc,
        bt,
        (&d3a, m * k),
        (&d3b, k * n),
        (&mut d3c, m * n),
    )
    .unwrap();
    let got = down(dev, &d3c);
    for i in 0..bt {
        let (w, s) = exact(
            &a3[i * m * k..(i + 1) * m * k],
            &b3[i * k * n..(i + 1) * k * n],
            m,
            k,
            n,
        );
        let w: Vec<f64> = w
            .iter()
            .zip(&c0[i * m * n..])
            .map(|(w, c)| w + *c as f64)
            .collect();
        let s: Vec<f64> = s
            .iter()
            .zip(&c0[i * m * n..])
            .map(|(s, c)| s + c.abs() as f64)
            .collect();
        within(
            &format!("bf16 batched += [{i}]"),
            &got[i * m * n..(i + 1) * m * n],
            &w,
            &s,
            2f64.powi(-8),
            k,
        );
    }
}
