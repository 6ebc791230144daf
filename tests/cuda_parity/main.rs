//! CUDA parity: every kernel launcher (each op's `cuda.rs`, `koopman::ops::<op>::cuda` and
//! `koopman::optim::cuda`, and the shared ones in `koopman::backend::cuda::launch`) against the
//! project's CPU ops, forward and backward, on fresh random inputs at shapes that are not
//! multiples of any block, warp or tile size. One test binary (`cuda_parity`, as
//! `scripts/gpu-check.sh` expects), split into files by kernel family:
//!
//! - `koopman_kernels.rs`: `zoh_parity`, `vandermonde_parity` (each with a shared and a per-mode
//!   Δt), `cmul_gain_parity`, `scan_parity`, `cconv_parity`, `scan_equals_cconv_on_gpu`, against
//!   `ops::koopman::{zoh, vandermonde, cmul, scan, cconv}::cpu`;
//! - `conv.rs`: `conv2d_parity_whole_and_chunked`, conv2d's forward, input and parameter gradients
//!   in one im2col chunk and in several, against `ops::conv2d::cpu`;
//! - `dense.rs`: `gru_cell_parity`, `sgemm_parity`, `sum_cols_parity`, `sum_rows_parity`, against
//!   `ops::gru_cell::cpu`, `ops::matmul::cpu::{gemm, bias_grad, add_bias}` and
//!   `ops::binary::cpu::mul_backward`;
//! - `elementwise.rs`: `unary_parity` (relu, elu, gelu, tanh, sigmoid, silu), `add_parity`,
//!   `mul_parity`, `scale_parity`, against `ops::unary::cpu`, `ops::binary::cpu` and
//!   `Tape::scale`;
//! - `norm.rs`: `softmax_parity` (plain), `softmax_causal_parity`, `layernorm_parity`, against
//!   `ops::softmax::cpu` and `ops::layernorm::cpu`;
//! - `train.rs`: `mse_parity`, `adamw_parity`, `clip_then_adamw_parity`, against `Tape::mse`,
//!   `optim::Adam` and `optim::clip_global_norm`;
//! - `reference.rs` (CPU only, always runs): `references_match_finite_differences` and
//!   `cpu_ops_match_references`, for the f64 references written there.
//!
//! Forward outputs are poisoned with NaN before each launch, so an element the kernel never writes
//! fails. Backward kernels accumulate (`+=`), so every gradient buffer starts random, the CPU op
//! accumulates onto the same values, and the two results are compared. The CPU ops run in f32, as
//! the engine trains; the Koopman/GRU/GEMM f64 references remain as an independent anchor: checked
//! against finite differences, and the project's CPU ops (in f64) against them (`reference.rs`).
//!
//! Tolerance: `|got - want| <= rtol |want| + atol`, rtol 1e-4 and atol `0.1 rtol max|want|` (the
//! tensor's scale) unless a test states otherwise: gelu uses a fixed 1e-5 absolute term, an
//! optimiser step (new minus old parameters) rtol 1e-3 plus 4 ulps of the parameters, and
//! `scan_equals_cconv_on_gpu` (two different f32 algorithms) rtol 1e-3.
//!
//! Without a GPU every CUDA test prints `SKIP: <reason>` to stderr and passes, unless
//! `REQUIRE_CUDA=1`, where it fails. With `KOOPMAN_CUDA=emu` every test runs on the emulated CUDA
//! device (the backend's own code, cudarc included, over a CPU driver and cuBLAS and the kernels
//! compiled for the CPU), as `.ci/run` does.
//!
//! - `precision.rs`: `tf32_and_bf16_gemm_within_format_bounds`, the opt-in GEMM precisions against
//!   exact products with tolerances derived from the formats (TF32: 2^-10 of Σ|a||b|, bf16: 2^-8,
//!   plus FP32 accumulation);
//! - `tape.rs` (every single op through the tape is in `tests/ops.rs`, one body per op for both
//!   devices): the loss and parameter gradients of all four models (`every_model_loss_and_gradients`), and a
//!   20-step Koopman training run following the CPU loss curve (`koopman_twenty_step_loss_curve`).

// Some helpers serve only the GPU tests, absent without the `cuda` feature.
#![cfg_attr(not(feature = "cuda"), allow(dead_code))]

mod reference;

#[cfg(feature = "cuda")]
mod conv;
#[cfg(feature = "cuda")]
mod dense;
#[cfg(feature = "cuda")]
mod elementwise;
#[cfg(feature = "cuda")]
mod gpu;
#[cfg(feature = "cuda")]
mod koopman_kernels;
#[cfg(feature = "cuda")]
mod norm;
#[cfg(feature = "cuda")]
mod precision;
#[cfg(feature = "cuda")]
mod tape;
#[cfg(feature = "cuda")]
mod train;

use num_complex::Complex64 as C64;

/// Without the `cuda` feature no GPU test is compiled; say so visibly (and fail under REQUIRE_CUDA=1).
#[cfg(not(feature = "cuda"))]
#[test]
fn gpu_parity_tests() {
    let reason = "built without the `cuda` feature: no GPU parity tests compiled";
    if std::env::var("REQUIRE_CUDA").is_ok_and(|v| v == "1") {
        panic!("REQUIRE_CUDA=1 but {reason}");
    }
    skip(reason);
}

// ----------------------------------------------------------------------------------------------
// Test utilities

/// Prints `SKIP: <reason>` straight to the process's stderr: libtest captures `eprintln!` of
/// passing tests, and a skip must stay visible in CI logs.
fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIP: {reason}");
}

/// Deterministic uniform numbers (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` f32 values in `[lo, hi)`.
    fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        (0..n)
            .map(|_| (lo + (hi - lo) * self.next_f64()) as f32)
            .collect()
    }
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn plus(a: &[f32], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(&x, &y)| x as f64 + y).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `|got - want| <= rtol * |want| + atol`, with `atol = 0.1 * rtol * max|want|` so entries near zero
/// are judged on the tensor's scale. Prints the worst entry either way; NaN always fails.
fn assert_close<T: Copy + Into<f64> + std::fmt::Display>(
    name: &str,
    got: &[T],
    want: &[f64],
    rtol: f64,
) {
    let scale = want.iter().fold(0.0f64, |a, &w| a.max(w.abs()));
    assert_close_tol(name, got, want, rtol, 0.1 * rtol * scale);
}

/// [`assert_close`] with an explicit absolute tolerance.
fn assert_close_tol<T: Copy + Into<f64> + std::fmt::Display>(
    name: &str,
    got: &[T],
    want: &[f64],
    rtol: f64,
    atol: f64,
) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    assert!(!want.is_empty(), "{name}: nothing to compare");
    let atol = atol + 1e-30;
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let r = (g.into() - w).abs() / (rtol * w.abs() + atol);
        if r > worst || r.is_nan() {
            worst = if r.is_nan() { f64::INFINITY } else { r };
            at = i;
        }
        if worst.is_infinite() {
            break;
        }
    }
    eprintln!(
        "{name:<34} n={:<7} worst err/tol = {worst:.3} at {at} (got {} want {})",
        want.len(),
        got[at],
        want[at]
    );
    assert!(
        worst <= 1.0,
        "{name}: mismatch beyond rtol {rtol}, atol {atol:e}"
    );
}

/// Central finite differences of `f` at `x`.
fn fd(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let o = x[i];
            let h = 1e-6 * o.abs().max(1.0);
            x[i] = o + h;
            let a = f(&x);
            x[i] = o - h;
            let b = f(&x);
            x[i] = o;
            (a - b) / (2.0 * h)
        })
        .collect()
}

// Planar complex rows: row r of m modes is [Re_0..Re_{m-1}, Im_0..Im_{m-1}].
fn cget(v: &[f64], row: usize, m: usize, i: usize) -> C64 {
    C64::new(v[row * 2 * m + i], v[row * 2 * m + m + i])
}

fn cset(v: &mut [f64], row: usize, m: usize, i: usize, z: C64) {
    v[row * 2 * m + i] = z.re;
    v[row * 2 * m + m + i] = z.im;
}

fn cadd(v: &mut [f64], row: usize, m: usize, i: usize, z: C64) {
    v[row * 2 * m + i] += z.re;
    v[row * 2 * m + m + i] += z.im;
}

/// V[i, k] of a planar [2][m][K] matrix.
fn vget(v: &[f64], m: usize, kk: usize, i: usize, k: usize) -> C64 {
    C64::new(v[i * kk + k], v[m * kk + i * kk + k])
}

fn vadd(v: &mut [f64], m: usize, kk: usize, i: usize, k: usize, z: C64) {
    v[i * kk + k] += z.re;
    v[m * kk + i * kk + k] += z.im;
}

/// Runs `f` on a CPU tape (f32) over `inputs` (`(dims, data)`, each receiving a gradient), then
/// back-propagates the upstream gradient `g` of its output, as `loss = sum(f(..) * g)`. Returns the
/// output and each input's gradient (zeros where none arrived).
fn tape_op(
    inputs: &[(&[usize], &[f32])],
    g: &[f32],
    f: impl FnOnce(&mut koopman::Tape, &[koopman::Var]) -> koopman::Result<koopman::Var>,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    use koopman::{ParamStore, Tape, Tensor};
    let params = ParamStore::<f32>::new();
    let mut tape = Tape::new(&params);
    let vars: Vec<_> = inputs
        .iter()
        .map(|&(dims, data)| tape.input(&Tensor::from_vec(dims, data.to_vec()).unwrap()))
        .collect();
    let y = f(&mut tape, &vars).expect("CPU op");
    let gv = tape
        .constant(tape.shape(y), g)
        .expect("upstream gradient shape");
    let weighted = tape.mul(y, gv).unwrap();
    let loss = tape.sum(weighted);
    let grads = tape.backward(loss).unwrap();
    let out = tape.value(y).to_vec();
    let dins = vars
        .iter()
        .zip(inputs)
        .map(|(&v, &(_, data))| {
            grads
                .wrt(v)
                .map_or_else(|| vec![0.0; data.len()], |d| d.to_vec())
        })
        .collect();
    (out, dins)
}
