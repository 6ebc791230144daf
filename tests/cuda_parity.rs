//! CUDA kernels against plain f64 CPU references (written here; the project's CPU ops will replace
//! them), forward and backward, at shapes that are not multiples of any block or tile size.
//! Backward kernels accumulate, so every gradient buffer starts random and the expected value is
//! `initial + reference`.
//!
//! Without a GPU every CUDA test prints `SKIP: <reason>` and passes, unless `REQUIRE_CUDA=1`.
//! The references themselves are checked against central finite differences on the CPU, always.

// Some references and helpers serve only the GPU tests, absent without the `cuda` feature.
#![cfg_attr(not(feature = "cuda"), allow(dead_code))]

use num_complex::Complex64 as C64;

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
/// are judged on the tensor's scale. Prints the worst entry either way.
fn assert_close(name: &str, got: &[f32], want: &[f64], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let scale = want.iter().fold(0.0f64, |a, &w| a.max(w.abs()));
    let atol = 0.1 * rtol * scale + 1e-30;
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let r = (g as f64 - w).abs() / (rtol * w.abs() + atol);
        if r > worst || r.is_nan() {
            worst = if r.is_nan() { f64::INFINITY } else { r };
            at = i;
        }
    }
    eprintln!(
        "{name:<26} n={:<6} worst err/tol = {worst:.3} at {at} (got {} want {})",
        want.len(),
        got[at],
        want[at]
    );
    assert!(worst <= 1.0, "{name}: mismatch beyond rtol {rtol}");
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

// ----------------------------------------------------------------------------------------------
// f64 references (model-math.md sections 2 and 6)

mod reference {
    use super::*;

    /// lbar = exp(lambda dt), b = (lbar - 1) / lambda, b' = db/dlambda, series near lambda dt = 0.
    pub fn zoh_mode(mu: f64, om: f64, dt: f64) -> (C64, C64, C64) {
        let lam = C64::new(mu, om);
        let z = lam * dt;
        let lb = z.exp();
        if z.norm() < 1e-4 {
            let b = dt * (1.0 + z / 2.0 + z * z / 6.0 + z * z * z / 24.0);
            let bp = dt * dt * (0.5 + z / 3.0 + z * z / 8.0);
            (lb, b, bp)
        } else {
            let b = (lb - 1.0) / lam;
            (lb, b, (dt * lb - b) / lam)
        }
    }

    pub fn zoh_fwd(mu: &[f64], om: &[f64], log_dt: f64) -> (Vec<f64>, Vec<f64>) {
        let m = mu.len();
        let (mut lbar, mut gain) = (vec![0.0; 2 * m], vec![0.0; 2 * m]);
        for i in 0..m {
            let (lb, b, _) = zoh_mode(mu[i], om[i], log_dt.exp());
            cset(&mut lbar, 0, m, i, lb);
            cset(&mut gain, 0, m, i, b);
        }
        (lbar, gain)
    }

    /// (dmu, domega, dlog_dt) from G_lbar, G_gain.
    pub fn zoh_bwd(
        g_lbar: &[f64],
        g_gain: &[f64],
        mu: &[f64],
        om: &[f64],
        log_dt: f64,
    ) -> (Vec<f64>, Vec<f64>, f64) {
        let m = mu.len();
        let dt = log_dt.exp();
        let (mut dmu, mut dom, mut ddt) = (vec![0.0; m], vec![0.0; m], 0.0);
        for i in 0..m {
            let (lb, b, bp) = zoh_mode(mu[i], om[i], dt);
            let _ = b;
            let lam = C64::new(mu[i], om[i]);
            let gl = cget(g_lbar, 0, m, i);
            let gb = cget(g_gain, 0, m, i);
            let a = lb.conj() * gl;
            let c = bp.conj() * gb;
            dmu[i] = dt * a.re + c.re;
            dom[i] = dt * a.im + c.im;
            ddt += ((lam * lb).conj() * gl).re + (lb.conj() * gb).re;
        }
        (dmu, dom, dt * ddt)
    }

    pub fn vandermonde_fwd(mu: &[f64], om: &[f64], log_dt: f64, kk: usize) -> Vec<f64> {
        let m = mu.len();
        let dt = log_dt.exp();
        let mut v = vec![0.0; 2 * m * kk];
        for i in 0..m {
            for k in 0..kk {
                vadd(
                    &mut v,
                    m,
                    kk,
                    i,
                    k,
                    (C64::new(mu[i], om[i]) * dt * k as f64).exp(),
                );
            }
        }
        v
    }

    pub fn vandermonde_bwd(
        g_v: &[f64],
        mu: &[f64],
        om: &[f64],
        log_dt: f64,
        kk: usize,
    ) -> (Vec<f64>, Vec<f64>, f64) {
        let m = mu.len();
        let dt = log_dt.exp();
        let (mut dmu, mut dom, mut dldt) = (vec![0.0; m], vec![0.0; m], 0.0);
        for i in 0..m {
            let lam = C64::new(mu[i], om[i]);
            let mut s = C64::new(0.0, 0.0);
            for k in 0..kk {
                let v = (lam * dt * k as f64).exp();
                s += (dt * k as f64 * v).conj() * vget(g_v, m, kk, i, k);
            }
            dmu[i] = s.re;
            dom[i] = s.im;
            dldt += (lam.conj() * s).re;
        }
        (dmu, dom, dldt)
    }

    pub fn cmul_gain_fwd(u: &[f64], gain: &[f64], rows: usize, m: usize) -> Vec<f64> {
        let mut c = vec![0.0; rows * 2 * m];
        for r in 0..rows {
            for i in 0..m {
                cset(&mut c, r, m, i, cget(gain, 0, m, i) * cget(u, r, m, i));
            }
        }
        c
    }

    pub fn cmul_gain_bwd(
        gc: &[f64],
        u: &[f64],
        gain: &[f64],
        rows: usize,
        m: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut du, mut dg) = (vec![0.0; rows * 2 * m], vec![0.0; 2 * m]);
        for r in 0..rows {
            for i in 0..m {
                let g = cget(gc, r, m, i);
                cset(&mut du, r, m, i, cget(gain, 0, m, i).conj() * g);
                cadd(&mut dg, 0, m, i, cget(u, r, m, i).conj() * g);
            }
        }
        (du, dg)
    }

    /// x row k = xhat_{k+1}, xhat_{k+1} = lbar xhat_k + c_k, xhat_0 = z0.
    pub fn scan_fwd(z0: &[f64], c: &[f64], lbar: &[f64], b: usize, t: usize, m: usize) -> Vec<f64> {
        let mut x = vec![0.0; b * t * 2 * m];
        for bi in 0..b {
            for i in 0..m {
                let l = cget(lbar, 0, m, i);
                let mut s = cget(z0, bi, m, i);
                for k in 0..t {
                    s = l * s + cget(c, bi * t + k, m, i);
                    cset(&mut x, bi * t + k, m, i, s);
                }
            }
        }
        x
    }

    /// Reverse-time adjoint with conj(lbar): (dz0, dc, dlbar).
    #[allow(clippy::too_many_arguments)]
    pub fn scan_bwd(
        gx: &[f64],
        x: &[f64],
        z0: &[f64],
        lbar: &[f64],
        b: usize,
        t: usize,
        m: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut dz0, mut dc, mut dl) = (
            vec![0.0; b * 2 * m],
            vec![0.0; b * t * 2 * m],
            vec![0.0; 2 * m],
        );
        for bi in 0..b {
            for i in 0..m {
                let lc = cget(lbar, 0, m, i).conj();
                let mut a = C64::new(0.0, 0.0);
                for k in (0..t).rev() {
                    a = cget(gx, bi * t + k, m, i) + lc * a;
                    cset(&mut dc, bi * t + k, m, i, a);
                    let prev = if k == 0 {
                        cget(z0, bi, m, i)
                    } else {
                        cget(x, bi * t + k - 1, m, i)
                    };
                    cadd(&mut dl, 0, m, i, prev.conj() * a);
                }
                cset(&mut dz0, bi, m, i, lc * a);
            }
        }
        (dz0, dc, dl)
    }

    /// x[b, k] = V[:, k+1] z0[b] + sum_{l <= k} V[:, k-l] c[b, l].
    #[allow(clippy::too_many_arguments)]
    pub fn cconv_fwd(
        z0: &[f64],
        c: &[f64],
        v: &[f64],
        b: usize,
        t: usize,
        m: usize,
        kk: usize,
    ) -> Vec<f64> {
        let mut x = vec![0.0; b * t * 2 * m];
        for bi in 0..b {
            for i in 0..m {
                for k in 0..t {
                    let mut s = vget(v, m, kk, i, k + 1) * cget(z0, bi, m, i);
                    for l in 0..=k {
                        s += vget(v, m, kk, i, k - l) * cget(c, bi * t + l, m, i);
                    }
                    cset(&mut x, bi * t + k, m, i, s);
                }
            }
        }
        x
    }

    /// (dz0, dc, dV): correlations with conj(V), and conj(inputs) against G for dV.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    pub fn cconv_bwd(
        g: &[f64],
        z0: &[f64],
        c: &[f64],
        v: &[f64],
        b: usize,
        t: usize,
        m: usize,
        kk: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut dz0, mut dc, mut dv) = (
            vec![0.0; b * 2 * m],
            vec![0.0; b * t * 2 * m],
            vec![0.0; 2 * m * kk],
        );
        for bi in 0..b {
            for i in 0..m {
                let z = cget(z0, bi, m, i);
                for k in 0..t {
                    let gk = cget(g, bi * t + k, m, i);
                    cadd(&mut dz0, bi, m, i, vget(v, m, kk, i, k + 1).conj() * gk);
                    vadd(&mut dv, m, kk, i, k + 1, z.conj() * gk);
                    for l in 0..=k {
                        cadd(
                            &mut dc,
                            bi * t + l,
                            m,
                            i,
                            vget(v, m, kk, i, k - l).conj() * gk,
                        );
                        vadd(
                            &mut dv,
                            m,
                            kk,
                            i,
                            k - l,
                            cget(c, bi * t + l, m, i).conj() * gk,
                        );
                    }
                }
            }
        }
        (dz0, dc, dv)
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// (h_new, gates = r | z | n), PyTorch gate order.
    pub fn gru_fwd(xp: &[f64], hp: &[f64], h: &[f64], b: usize, hd: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut hn, mut gates) = (vec![0.0; b * hd], vec![0.0; b * 3 * hd]);
        for bi in 0..b {
            let o = bi * 3 * hd;
            for j in 0..hd {
                let r = sigmoid(xp[o + j] + hp[o + j]);
                let z = sigmoid(xp[o + hd + j] + hp[o + hd + j]);
                let n = (xp[o + 2 * hd + j] + r * hp[o + 2 * hd + j]).tanh();
                gates[o + j] = r;
                gates[o + hd + j] = z;
                gates[o + 2 * hd + j] = n;
                hn[bi * hd + j] = (1.0 - z) * n + z * h[bi * hd + j];
            }
        }
        (hn, gates)
    }

    /// (dxp, dhp, dh) from dh_new.
    pub fn gru_bwd(
        dhn: &[f64],
        gates: &[f64],
        hp: &[f64],
        h: &[f64],
        b: usize,
        hd: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut dxp, mut dhp, mut dh) = (
            vec![0.0; b * 3 * hd],
            vec![0.0; b * 3 * hd],
            vec![0.0; b * hd],
        );
        for bi in 0..b {
            let o = bi * 3 * hd;
            for j in 0..hd {
                let (r, z, n) = (gates[o + j], gates[o + hd + j], gates[o + 2 * hd + j]);
                let d = dhn[bi * hd + j];
                dh[bi * hd + j] = d * z;
                let dn = d * (1.0 - z) * (1.0 - n * n);
                let dz = d * (h[bi * hd + j] - n) * z * (1.0 - z);
                let dr = dn * hp[o + 2 * hd + j] * r * (1.0 - r);
                dxp[o + j] = dr;
                dxp[o + hd + j] = dz;
                dxp[o + 2 * hd + j] = dn;
                dhp[o + j] = dr;
                dhp[o + hd + j] = dz;
                dhp[o + 2 * hd + j] = dn * r;
            }
        }
        (dxp, dhp, dh)
    }

    /// Row-major C = alpha op(A) op(B) + beta C0.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f64,
        a: &[f64],
        b: &[f64],
        beta: f64,
        c0: &[f64],
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av * bv;
                }
                c[i * n + j] = alpha * s + beta * c0[i * n + j];
            }
        }
        c
    }
}

use reference as r;

/// Eigenvalue parameters as the model initialises them (mu < 0, omega_j = j pi), plus two modes
/// with lambda dt near 0 to exercise the ZOH series branch.
fn koopman_params(rng: &mut Rng, m: usize) -> (Vec<f32>, Vec<f32>) {
    let mut mu = rng.vec(m, -0.4, -0.05);
    let mut om: Vec<f32> = (0..m)
        .map(|j| ((j + 1) as f64 * std::f64::consts::PI) as f32)
        .collect();
    if m > 2 {
        (mu[0], om[0]) = (0.0, 0.0);
        (mu[1], om[1]) = (1e-3, 1e-3);
    }
    (mu, om)
}

// ----------------------------------------------------------------------------------------------
// The references agree with finite differences (CPU only, always runs)

#[test]
fn references_match_finite_differences() {
    let mut rng = Rng(7);
    let (b, t, m) = (2, 9, 5);
    let kk = t + 1;
    let (mu, om) = koopman_params(&mut rng, m);
    let (mu, om) = (f64s(&mu), f64s(&om));
    let ldt = (0.05f64).ln();

    let (gl, gg) = (
        f64s(&rng.vec(2 * m, -1.0, 1.0)),
        f64s(&rng.vec(2 * m, -1.0, 1.0)),
    );
    let zl = |mu: &[f64], om: &[f64], l: f64| {
        let (a, c) = r::zoh_fwd(mu, om, l);
        dot(&a, &gl) + dot(&c, &gg)
    };
    let (dmu, dom, dl) = r::zoh_bwd(&gl, &gg, &mu, &om, ldt);
    let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
    assert_close(
        "ref zoh dmu",
        &to32(&dmu),
        &fd(|p| zl(p, &om, ldt), &mu),
        1e-5,
    );
    assert_close(
        "ref zoh domega",
        &to32(&dom),
        &fd(|p| zl(&mu, p, ldt), &om),
        1e-5,
    );
    assert_close(
        "ref zoh dlog_dt",
        &[dl as f32],
        &fd(|p| zl(&mu, &om, p[0]), &[ldt]),
        1e-5,
    );

    let gv = f64s(&rng.vec(2 * m * kk, -1.0, 1.0));
    let vl = |mu: &[f64], om: &[f64], l: f64| dot(&r::vandermonde_fwd(mu, om, l, kk), &gv);
    let (dmu, dom, dl) = r::vandermonde_bwd(&gv, &mu, &om, ldt, kk);
    assert_close(
        "ref vand dmu",
        &to32(&dmu),
        &fd(|p| vl(p, &om, ldt), &mu),
        1e-5,
    );
    assert_close(
        "ref vand domega",
        &to32(&dom),
        &fd(|p| vl(&mu, p, ldt), &om),
        1e-5,
    );
    assert_close(
        "ref vand dlog_dt",
        &[dl as f32],
        &fd(|p| vl(&mu, &om, p[0]), &[ldt]),
        1e-5,
    );

    let rows = b * t;
    let u = f64s(&rng.vec(rows * 2 * m, -1.0, 1.0));
    let gain = f64s(&rng.vec(2 * m, -1.0, 1.0));
    let gc = f64s(&rng.vec(rows * 2 * m, -1.0, 1.0));
    let (du, dg) = r::cmul_gain_bwd(&gc, &u, &gain, rows, m);
    let gl2 = |u: &[f64], g: &[f64]| dot(&r::cmul_gain_fwd(u, g, rows, m), &gc);
    assert_close("ref gain du", &to32(&du), &fd(|p| gl2(p, &gain), &u), 1e-5);
    assert_close(
        "ref gain dgain",
        &to32(&dg),
        &fd(|p| gl2(&u, p), &gain),
        1e-5,
    );

    let (lbar, _) = r::zoh_fwd(&mu, &om, ldt);
    let z0 = f64s(&rng.vec(b * 2 * m, -1.0, 1.0));
    let gx = f64s(&rng.vec(rows * 2 * m, -1.0, 1.0));
    let x = r::scan_fwd(&z0, &u, &lbar, b, t, m);
    let (dz0, dc, dl) = r::scan_bwd(&gx, &x, &z0, &lbar, b, t, m);
    let sl = |z0: &[f64], c: &[f64], l: &[f64]| dot(&r::scan_fwd(z0, c, l, b, t, m), &gx);
    assert_close(
        "ref scan dz0",
        &to32(&dz0),
        &fd(|p| sl(p, &u, &lbar), &z0),
        1e-5,
    );
    assert_close(
        "ref scan dc",
        &to32(&dc),
        &fd(|p| sl(&z0, p, &lbar), &u),
        1e-5,
    );
    assert_close(
        "ref scan dlbar",
        &to32(&dl),
        &fd(|p| sl(&z0, &u, p), &lbar),
        1e-5,
    );

    // The convolution with V = powers of lbar is the scan (paper Eq. 9).
    let v = r::vandermonde_fwd(&mu, &om, ldt, kk);
    let xc = r::cconv_fwd(&z0, &u, &v, b, t, m, kk);
    assert_close("ref cconv == scan", &to32(&xc), &x, 1e-6);
    let (dz0, dc, dv) = r::cconv_bwd(&gx, &z0, &u, &v, b, t, m, kk);
    let cl = |z0: &[f64], c: &[f64], v: &[f64]| dot(&r::cconv_fwd(z0, c, v, b, t, m, kk), &gx);
    assert_close(
        "ref cconv dz0",
        &to32(&dz0),
        &fd(|p| cl(p, &u, &v), &z0),
        1e-5,
    );
    assert_close(
        "ref cconv dc",
        &to32(&dc),
        &fd(|p| cl(&z0, p, &v), &u),
        1e-5,
    );
    assert_close(
        "ref cconv dV",
        &to32(&dv),
        &fd(|p| cl(&z0, &u, p), &v),
        1e-5,
    );

    let (gb, hd) = (3, 4);
    let xp = f64s(&rng.vec(gb * 3 * hd, -1.0, 1.0));
    let hp = f64s(&rng.vec(gb * 3 * hd, -1.0, 1.0));
    let h = f64s(&rng.vec(gb * hd, -1.0, 1.0));
    let dhn = f64s(&rng.vec(gb * hd, -1.0, 1.0));
    let (_, gates) = r::gru_fwd(&xp, &hp, &h, gb, hd);
    let (dxp, dhp, dh) = r::gru_bwd(&dhn, &gates, &hp, &h, gb, hd);
    let hl = |xp: &[f64], hp: &[f64], h: &[f64]| dot(&r::gru_fwd(xp, hp, h, gb, hd).0, &dhn);
    assert_close(
        "ref gru dxp",
        &to32(&dxp),
        &fd(|p| hl(p, &hp, &h), &xp),
        1e-5,
    );
    assert_close(
        "ref gru dhp",
        &to32(&dhp),
        &fd(|p| hl(&xp, p, &h), &hp),
        1e-5,
    );
    assert_close("ref gru dh", &to32(&dh), &fd(|p| hl(&xp, &hp, p), &h), 1e-5);
}

// ----------------------------------------------------------------------------------------------
// GPU parity

#[cfg(feature = "cuda")]
mod gpu {
    use super::*;
    use koopman::backend::cuda::launch::{gemm, gru, koopman as kl};
    use koopman::backend::cuda::{cuda_status, CudaDevice};

    const RTOL: f64 = 1e-4;

    /// The device, or `None` after printing SKIP (a failure instead under REQUIRE_CUDA=1).
    fn device() -> Option<&'static CudaDevice> {
        let reason = match cuda_status() {
            Ok(()) => match CudaDevice::get() {
                Ok(dev) => return Some(dev),
                Err(e) => e.0,
            },
            Err(reason) => reason,
        };
        if std::env::var("REQUIRE_CUDA").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_CUDA=1 but CUDA is unavailable: {reason}");
        }
        skip(&reason);
        None
    }

    fn up(dev: &CudaDevice, v: &[f32]) -> cudarc::driver::CudaSlice<f32> {
        dev.upload(v).expect("upload")
    }

    fn down(dev: &CudaDevice, s: &cudarc::driver::CudaSlice<f32>) -> Vec<f32> {
        dev.download(s).expect("download")
    }

    #[test]
    fn zoh_parity() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(11);
        let m = 300;
        let (mu, om) = koopman_params(&mut rng, m);
        let ldt = [(1.0f64 / m as f64).ln() as f32];
        let (d_mu, d_om, d_ldt) = (up(dev, &mu), up(dev, &om), up(dev, &ldt));
        let (mut lbar, mut gain) = (dev.zeros(2 * m).unwrap(), dev.zeros(2 * m).unwrap());
        kl::zoh_fwd(dev, &mut lbar, &mut gain, &d_mu, &d_om, &d_ldt, m).unwrap();
        let (rl, rg) = r::zoh_fwd(&f64s(&mu), &f64s(&om), ldt[0] as f64);
        assert_close("zoh_fwd lbar", &down(dev, &lbar), &rl, RTOL);
        assert_close("zoh_fwd gain", &down(dev, &gain), &rg, RTOL);

        let (gl, gg) = (rng.vec(2 * m, -1.0, 1.0), rng.vec(2 * m, -1.0, 1.0));
        let (dmu0, dom0, dl0) = (
            rng.vec(m, -1.0, 1.0),
            rng.vec(m, -1.0, 1.0),
            rng.vec(1, -1.0, 1.0),
        );
        let (mut dmu, mut dom, mut dl) = (up(dev, &dmu0), up(dev, &dom0), up(dev, &dl0));
        let (d_gl, d_gg) = (up(dev, &gl), up(dev, &gg));
        kl::zoh_bwd(
            dev,
            Some(&mut dmu),
            Some(&mut dom),
            &mut dl,
            &d_gl,
            &d_gg,
            &d_mu,
            &d_om,
            &d_ldt,
            m,
        )
        .unwrap();
        let (rmu, rom, rdl) = r::zoh_bwd(
            &f64s(&gl),
            &f64s(&gg),
            &f64s(&mu),
            &f64s(&om),
            ldt[0] as f64,
        );
        assert_close("zoh_bwd dmu", &down(dev, &dmu), &plus(&dmu0, &rmu), RTOL);
        assert_close("zoh_bwd domega", &down(dev, &dom), &plus(&dom0, &rom), RTOL);
        assert_close(
            "zoh_bwd dlog_dt",
            &down(dev, &dl),
            &plus(&dl0, &[rdl]),
            RTOL,
        );
        // Frozen mu: the kernel must accept a null gradient pointer.
        kl::zoh_bwd(
            dev,
            None,
            Some(&mut dom),
            &mut dl,
            &d_gl,
            &d_gg,
            &d_mu,
            &d_om,
            &d_ldt,
            m,
        )
        .unwrap();
        dev.synchronize().unwrap();
    }

    #[test]
    fn vandermonde_parity() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(12);
        let (m, t) = (67, 100);
        let kk = t + 1;
        let (mu, om) = koopman_params(&mut rng, m);
        let ldt = [(1.0f64 / m as f64).ln() as f32];
        let (d_mu, d_om, d_ldt) = (up(dev, &mu), up(dev, &om), up(dev, &ldt));
        let mut v = dev.zeros(2 * m * kk).unwrap();
        kl::vandermonde_fwd(dev, &mut v, &d_mu, &d_om, &d_ldt, m, kk).unwrap();
        let rv = r::vandermonde_fwd(&f64s(&mu), &f64s(&om), ldt[0] as f64, kk);
        assert_close("vandermonde_fwd", &down(dev, &v), &rv, RTOL);

        let gv = rng.vec(2 * m * kk, -1.0, 1.0);
        let (dmu0, dom0, dl0) = (
            rng.vec(m, -1.0, 1.0),
            rng.vec(m, -1.0, 1.0),
            rng.vec(1, -1.0, 1.0),
        );
        let (mut dmu, mut dom, mut dl) = (up(dev, &dmu0), up(dev, &dom0), up(dev, &dl0));
        let d_gv = up(dev, &gv);
        kl::vandermonde_bwd(
            dev,
            Some(&mut dmu),
            Some(&mut dom),
            &mut dl,
            &d_gv,
            &d_mu,
            &d_om,
            &d_ldt,
            m,
            kk,
        )
        .unwrap();
        let (rmu, rom, rdl) =
            r::vandermonde_bwd(&f64s(&gv), &f64s(&mu), &f64s(&om), ldt[0] as f64, kk);
        assert_close(
            "vandermonde_bwd dmu",
            &down(dev, &dmu),
            &plus(&dmu0, &rmu),
            RTOL,
        );
        assert_close(
            "vandermonde_bwd domega",
            &down(dev, &dom),
            &plus(&dom0, &rom),
            RTOL,
        );
        assert_close(
            "vandermonde_bwd dlog_dt",
            &down(dev, &dl),
            &plus(&dl0, &[rdl]),
            RTOL,
        );
    }

    #[test]
    fn cmul_gain_parity() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(13);
        let (rows, m) = (3 * 45, 37);
        let (u, gain) = (rng.vec(rows * 2 * m, -1.0, 1.0), rng.vec(2 * m, -1.0, 1.0));
        let (d_u, d_gain) = (up(dev, &u), up(dev, &gain));
        let mut c = dev.zeros(rows * 2 * m).unwrap();
        kl::cmul_gain_fwd(dev, &mut c, &d_u, &d_gain, rows, m).unwrap();
        assert_close(
            "cmul_gain_fwd",
            &down(dev, &c),
            &r::cmul_gain_fwd(&f64s(&u), &f64s(&gain), rows, m),
            RTOL,
        );

        let gc = rng.vec(rows * 2 * m, -1.0, 1.0);
        let (du0, dg0) = (rng.vec(rows * 2 * m, -1.0, 1.0), rng.vec(2 * m, -1.0, 1.0));
        let (mut du, mut dg) = (up(dev, &du0), up(dev, &dg0));
        kl::cmul_gain_bwd(dev, &mut du, &mut dg, &up(dev, &gc), &d_u, &d_gain, rows, m).unwrap();
        let (rdu, rdg) = r::cmul_gain_bwd(&f64s(&gc), &f64s(&u), &f64s(&gain), rows, m);
        assert_close("cmul_gain_bwd du", &down(dev, &du), &plus(&du0, &rdu), RTOL);
        assert_close(
            "cmul_gain_bwd dgain",
            &down(dev, &dg),
            &plus(&dg0, &rdg),
            RTOL,
        );
    }

    /// lbar from the model's default parameters (|lbar| < 1 slightly), as f32 planar.
    fn model_lbar(rng: &mut Rng, m: usize) -> Vec<f32> {
        let (mu, om) = koopman_params(rng, m);
        let (lb, _) = r::zoh_fwd(&f64s(&mu), &f64s(&om), (1.0f64 / 64.0).ln());
        lb.iter().map(|&x| x as f32).collect()
    }

    #[test]
    fn scan_parity() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(14);
        for (b, t, m) in [(3, 45, 37), (2, 203, 131)] {
            let lbar = model_lbar(&mut rng, m);
            let z0 = rng.vec(b * 2 * m, -1.0, 1.0);
            let c = rng.vec(b * t * 2 * m, -1.0, 1.0);
            let (d_l, d_z0, d_c) = (up(dev, &lbar), up(dev, &z0), up(dev, &c));
            let mut x = dev.zeros(b * t * 2 * m).unwrap();
            kl::scan_fwd(dev, &mut x, &d_z0, &d_c, &d_l, b, t, m).unwrap();
            let rx = r::scan_fwd(&f64s(&z0), &f64s(&c), &f64s(&lbar), b, t, m);
            let xh = down(dev, &x);
            assert_close("scan_fwd", &xh, &rx, RTOL);

            let gx = rng.vec(b * t * 2 * m, -1.0, 1.0);
            let (dz00, dc0, dl0) = (
                rng.vec(b * 2 * m, -1.0, 1.0),
                rng.vec(b * t * 2 * m, -1.0, 1.0),
                rng.vec(2 * m, -1.0, 1.0),
            );
            let (mut dz0, mut dc, mut dl) = (up(dev, &dz00), up(dev, &dc0), up(dev, &dl0));
            kl::scan_bwd(
                dev,
                &mut dz0,
                &mut dc,
                &mut dl,
                &up(dev, &gx),
                &x,
                &d_z0,
                &d_l,
                b,
                t,
                m,
            )
            .unwrap();
            // Backward consumes the kernel's own forward output, as in training.
            let (rz, rc, rl) =
                r::scan_bwd(&f64s(&gx), &f64s(&xh), &f64s(&z0), &f64s(&lbar), b, t, m);
            assert_close("scan_bwd dz0", &down(dev, &dz0), &plus(&dz00, &rz), RTOL);
            assert_close("scan_bwd dc", &down(dev, &dc), &plus(&dc0, &rc), RTOL);
            assert_close("scan_bwd dlbar", &down(dev, &dl), &plus(&dl0, &rl), RTOL);
        }
    }

    #[test]
    fn cconv_parity() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(15);
        for (b, t, m, extra) in [(3, 45, 37, 1), (2, 70, 33, 4)] {
            let kk = t + extra;
            let v = rng.vec(2 * m * kk, -0.8, 0.8);
            let z0 = rng.vec(b * 2 * m, -1.0, 1.0);
            let c = rng.vec(b * t * 2 * m, -1.0, 1.0);
            let (d_v, d_z0, d_c) = (up(dev, &v), up(dev, &z0), up(dev, &c));
            let mut x = dev.zeros(b * t * 2 * m).unwrap();
            kl::cconv_fwd(dev, &mut x, &d_z0, &d_c, &d_v, b, t, m, kk).unwrap();
            let rx = r::cconv_fwd(&f64s(&z0), &f64s(&c), &f64s(&v), b, t, m, kk);
            assert_close("cconv_fwd", &down(dev, &x), &rx, RTOL);

            let g = rng.vec(b * t * 2 * m, -1.0, 1.0);
            let (dz00, dc0, dv0) = (
                rng.vec(b * 2 * m, -1.0, 1.0),
                rng.vec(b * t * 2 * m, -1.0, 1.0),
                rng.vec(2 * m * kk, -1.0, 1.0),
            );
            let (mut dz0, mut dc, mut dv) = (up(dev, &dz00), up(dev, &dc0), up(dev, &dv0));
            kl::cconv_bwd(
                dev,
                &mut dz0,
                &mut dc,
                &mut dv,
                &up(dev, &g),
                &d_z0,
                &d_c,
                &d_v,
                b,
                t,
                m,
                kk,
            )
            .unwrap();
            let (rz, rc, rv) =
                r::cconv_bwd(&f64s(&g), &f64s(&z0), &f64s(&c), &f64s(&v), b, t, m, kk);
            assert_close("cconv_bwd dz0", &down(dev, &dz0), &plus(&dz00, &rz), RTOL);
            assert_close("cconv_bwd dc", &down(dev, &dc), &plus(&dc0, &rc), RTOL);
            assert_close("cconv_bwd dV", &down(dev, &dv), &plus(&dv0, &rv), RTOL);
        }
    }

    /// The two rollouts agree on the GPU when V holds the powers of lbar (paper Eq. 9).
    #[test]
    fn scan_equals_cconv_on_gpu() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(16);
        let (b, t, m) = (4, 100, 45);
        let kk = t + 1;
        let (mu, om) = koopman_params(&mut rng, m);
        let ldt = [(1.0f64 / 64.0).ln() as f32];
        let (d_mu, d_om, d_ldt) = (up(dev, &mu), up(dev, &om), up(dev, &ldt));
        let (mut lbar, mut gain) = (dev.zeros(2 * m).unwrap(), dev.zeros(2 * m).unwrap());
        kl::zoh_fwd(dev, &mut lbar, &mut gain, &d_mu, &d_om, &d_ldt, m).unwrap();
        let mut v = dev.zeros(2 * m * kk).unwrap();
        kl::vandermonde_fwd(dev, &mut v, &d_mu, &d_om, &d_ldt, m, kk).unwrap();
        let (z0, c) = (
            up(dev, &rng.vec(b * 2 * m, -1.0, 1.0)),
            up(dev, &rng.vec(b * t * 2 * m, -1.0, 1.0)),
        );
        let (mut xs, mut xc) = (
            dev.zeros(b * t * 2 * m).unwrap(),
            dev.zeros(b * t * 2 * m).unwrap(),
        );
        kl::scan_fwd(dev, &mut xs, &z0, &c, &lbar, b, t, m).unwrap();
        kl::cconv_fwd(dev, &mut xc, &z0, &c, &v, b, t, m, kk).unwrap();
        assert_close(
            "scan vs cconv",
            &down(dev, &xc),
            &f64s(&down(dev, &xs)),
            1e-3,
        );
    }

    #[test]
    fn gru_cell_parity() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(17);
        let (b, hd) = (7, 67);
        let xp = rng.vec(b * 3 * hd, -2.0, 2.0);
        let hp = rng.vec(b * 3 * hd, -2.0, 2.0);
        let h = rng.vec(b * hd, -1.0, 1.0);
        let (d_xp, d_hp, d_h) = (up(dev, &xp), up(dev, &hp), up(dev, &h));
        let (mut hn, mut gates) = (dev.zeros(b * hd).unwrap(), dev.zeros(b * 3 * hd).unwrap());
        gru::gru_cell_fwd(dev, &mut hn, &mut gates, &d_xp, &d_hp, &d_h, b, hd).unwrap();
        let (rh, rg) = r::gru_fwd(&f64s(&xp), &f64s(&hp), &f64s(&h), b, hd);
        assert_close("gru_cell_fwd h_new", &down(dev, &hn), &rh, RTOL);
        assert_close("gru_cell_fwd gates", &down(dev, &gates), &rg, RTOL);

        let dhn = rng.vec(b * hd, -1.0, 1.0);
        let (dxp0, dhp0, dh0) = (
            rng.vec(b * 3 * hd, -1.0, 1.0),
            rng.vec(b * 3 * hd, -1.0, 1.0),
            rng.vec(b * hd, -1.0, 1.0),
        );
        let (mut dxp, mut dhp, mut dh) = (up(dev, &dxp0), up(dev, &dhp0), up(dev, &dh0));
        gru::gru_cell_bwd(
            dev,
            &mut dxp,
            &mut dhp,
            &mut dh,
            &up(dev, &dhn),
            &gates,
            &d_hp,
            &d_h,
            b,
            hd,
        )
        .unwrap();
        let (rdx, rdhp, rdh) = r::gru_bwd(&f64s(&dhn), &rg, &f64s(&hp), &f64s(&h), b, hd);
        assert_close(
            "gru_cell_bwd dxp",
            &down(dev, &dxp),
            &plus(&dxp0, &rdx),
            RTOL,
        );
        assert_close(
            "gru_cell_bwd dhp",
            &down(dev, &dhp),
            &plus(&dhp0, &rdhp),
            RTOL,
        );
        assert_close("gru_cell_bwd dh", &down(dev, &dh), &plus(&dh0, &rdh), RTOL);
    }

    #[test]
    fn sgemm_parity() {
        let Some(dev) = device() else { return };
        let mut rng = Rng(18);
        let (m, n, k) = (37, 29, 45);
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for beta in [0.0f32, 1.0] {
                let a = rng.vec(m * k, -1.0, 1.0);
                let b = rng.vec(k * n, -1.0, 1.0);
                let c0 = rng.vec(m * n, -1.0, 1.0);
                let mut c = up(dev, &c0);
                let g = gemm::RowGemm {
                    trans_a: ta,
                    trans_b: tb,
                    alpha: 0.5,
                    beta,
                    ..gemm::RowGemm::new(m, n, k)
                };
                gemm::sgemm(dev, &g, &up(dev, &a), &up(dev, &b), &mut c).unwrap();
                let want = r::gemm(
                    ta,
                    tb,
                    m,
                    n,
                    k,
                    0.5,
                    &f64s(&a),
                    &f64s(&b),
                    beta as f64,
                    &f64s(&c0),
                );
                assert_close(
                    &format!("sgemm ta={ta} tb={tb} beta={beta}"),
                    &down(dev, &c),
                    &want,
                    RTOL,
                );
            }
        }
        // Batched: 3 independent products with padded strides.
        let batch = 3;
        let (sa, sb, sc) = (m * k + 5, k * n + 3, m * n + 7);
        let a = rng.vec(batch * sa, -1.0, 1.0);
        let b = rng.vec(batch * sb, -1.0, 1.0);
        let mut c = dev.zeros(batch * sc).unwrap();
        let g = gemm::RowGemm::new(m, n, k);
        gemm::sgemm_strided_batched(
            dev,
            &g,
            batch,
            (&up(dev, &a), sa),
            (&up(dev, &b), sb),
            (&mut c, sc),
        )
        .unwrap();
        let ch = down(dev, &c);
        for i in 0..batch {
            let want = r::gemm(
                false,
                false,
                m,
                n,
                k,
                1.0,
                &f64s(&a[i * sa..i * sa + m * k]),
                &f64s(&b[i * sb..i * sb + k * n]),
                0.0,
                &vec![0.0; m * n],
            );
            assert_close(
                &format!("sgemm batched [{i}]"),
                &ch[i * sc..i * sc + m * n],
                &want,
                RTOL,
            );
        }
    }
}
