//! Plain f64 references for the Koopman, GRU and GEMM kernels (model-math.md sections 2 and 6),
//! written independently of the project's code. They anchor the chain of checks: the references
//! agree with central finite differences, the project's CPU ops (f64) agree with the references,
//! and the GPU agrees with the project's CPU ops (f32), all in this file's tests.

use crate::*;
use num_complex::Complex64 as C64;

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

/// Eigenvalue parameters as the model initialises them (mu < 0, omega_j = j pi), plus two modes
/// with lambda dt near 0 to exercise the ZOH series branch.
pub fn koopman_params(rng: &mut Rng, m: usize) -> (Vec<f32>, Vec<f32>) {
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
        let (a, c) = zoh_fwd(mu, om, l);
        dot(&a, &gl) + dot(&c, &gg)
    };
    let (dmu, dom, dl) = zoh_bwd(&gl, &gg, &mu, &om, ldt);
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
    let vl = |mu: &[f64], om: &[f64], l: f64| dot(&vandermonde_fwd(mu, om, l, kk), &gv);
    let (dmu, dom, dl) = vandermonde_bwd(&gv, &mu, &om, ldt, kk);
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
    let (du, dg) = cmul_gain_bwd(&gc, &u, &gain, rows, m);
    let gl2 = |u: &[f64], g: &[f64]| dot(&cmul_gain_fwd(u, g, rows, m), &gc);
    assert_close("ref gain du", &to32(&du), &fd(|p| gl2(p, &gain), &u), 1e-5);
    assert_close(
        "ref gain dgain",
        &to32(&dg),
        &fd(|p| gl2(&u, p), &gain),
        1e-5,
    );

    let (lbar, _) = zoh_fwd(&mu, &om, ldt);
    let z0 = f64s(&rng.vec(b * 2 * m, -1.0, 1.0));
    let gx = f64s(&rng.vec(rows * 2 * m, -1.0, 1.0));
    let x = scan_fwd(&z0, &u, &lbar, b, t, m);
    let (dz0, dc, dl) = scan_bwd(&gx, &x, &z0, &lbar, b, t, m);
    let sl = |z0: &[f64], c: &[f64], l: &[f64]| dot(&scan_fwd(z0, c, l, b, t, m), &gx);
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
    let v = vandermonde_fwd(&mu, &om, ldt, kk);
    let xc = cconv_fwd(&z0, &u, &v, b, t, m, kk);
    assert_close("ref cconv == scan", &to32(&xc), &x, 1e-6);
    let (dz0, dc, dv) = cconv_bwd(&gx, &z0, &u, &v, b, t, m, kk);
    let cl = |z0: &[f64], c: &[f64], v: &[f64]| dot(&cconv_fwd(z0, c, v, b, t, m, kk), &gx);
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
    let (_, gates) = gru_fwd(&xp, &hp, &h, gb, hd);
    let (dxp, dhp, dh) = gru_bwd(&dhn, &gates, &hp, &h, gb, hd);
    let hl = |xp: &[f64], hp: &[f64], h: &[f64]| dot(&gru_fwd(xp, hp, h, gb, hd).0, &dhn);
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

/// The project's CPU Koopman, GRU and GEMM ops, run in f64, agree with the references above (CPU
/// only, always runs). With the finite-difference test this makes the references an independent
/// anchor for what the GPU tests compare against.
#[test]
fn cpu_ops_match_references() {
    use koopman::ops::koopman::{cconv, cmul, scan, vandermonde, zoh};
    use koopman::ops::{gru_cell, matmul};
    let mut rng = Rng(8);
    let (b, t, m) = (3, 11, 7);
    let (m2, kk) = (2 * m, t + 3);
    let (mu, om) = koopman_params(&mut rng, m);
    let (mu, om) = (f64s(&mu), f64s(&om));
    let ldt = (0.05f64).ln();
    let tol = 1e-10;

    let mut out = vec![0.0; 4 * m];
    zoh::cpu::forward(&mu, &om, &[ldt], &mut out);
    let (lbar, gain) = zoh_fwd(&mu, &om, ldt);
    assert_close("cpu zoh lbar", &out[..m2], &lbar, tol);
    assert_close("cpu zoh gain", &out[m2..], &gain, tol);
    let g = f64s(&rng.vec(4 * m, -1.0, 1.0));
    let (mut dmu, mut dom, mut dl) = (vec![0.0; m], vec![0.0; m], vec![0.0]);
    zoh::cpu::backward(
        &mu,
        &om,
        &[ldt],
        &g,
        Some(&mut dmu),
        Some(&mut dom),
        Some(&mut dl),
    );
    let (rmu, rom, rdl) = zoh_bwd(&g[..m2], &g[m2..], &mu, &om, ldt);
    assert_close("cpu zoh dmu", &dmu, &rmu, tol);
    assert_close("cpu zoh domega", &dom, &rom, tol);
    assert_close("cpu zoh dlog_dt", &dl, &[rdl], tol);

    let mut v = vec![0.0; m2 * kk];
    vandermonde::cpu::forward(&mu, &om, &[ldt], kk, &mut v);
    assert_close(
        "cpu vandermonde",
        &v,
        &vandermonde_fwd(&mu, &om, ldt, kk),
        tol,
    );
    let gv = f64s(&rng.vec(m2 * kk, -1.0, 1.0));
    let (mut dmu, mut dom, mut dl) = (vec![0.0; m], vec![0.0; m], vec![0.0]);
    vandermonde::cpu::backward(
        &mu,
        &om,
        &[ldt],
        &v,
        &gv,
        kk,
        Some(&mut dmu),
        Some(&mut dom),
        Some(&mut dl),
    );
    let (rmu, rom, rdl) = vandermonde_bwd(&gv, &mu, &om, ldt, kk);
    assert_close("cpu vandermonde dmu", &dmu, &rmu, tol);
    assert_close("cpu vandermonde domega", &dom, &rom, tol);
    assert_close("cpu vandermonde dlog_dt", &dl, &[rdl], tol);

    let rows = b * t;
    let u = f64s(&rng.vec(rows * m2, -1.0, 1.0));
    let gr = f64s(&rng.vec(rows * m2, -1.0, 1.0));
    let mut c = vec![0.0; rows * m2];
    cmul::cpu::forward(&u, &gain, &mut c);
    assert_close("cpu cmul", &c, &cmul_gain_fwd(&u, &gain, rows, m), tol);
    let (mut du, mut dg) = (vec![0.0; rows * m2], vec![0.0; m2]);
    cmul::cpu::backward(&u, &gain, &gr, Some(&mut du), Some(&mut dg));
    let (rdu, rdg) = cmul_gain_bwd(&gr, &u, &gain, rows, m);
    assert_close("cpu cmul du", &du, &rdu, tol);
    assert_close("cpu cmul dgain", &dg, &rdg, tol);

    let z0 = f64s(&rng.vec(b * m2, -1.0, 1.0));
    let rx = scan_fwd(&z0, &u, &lbar, b, t, m);
    let (rz, rc, rl) = scan_bwd(&gr, &rx, &z0, &lbar, b, t, m);
    let (mut x, mut dz, mut dc, mut dlb) = (
        vec![0.0; rows * m2],
        vec![0.0; b * m2],
        vec![0.0; rows * m2],
        vec![0.0; m2],
    );
    let mut a = vec![0.0; m2];
    for i in 0..b {
        let seq = i * t * m2..(i + 1) * t * m2;
        let z = &z0[i * m2..(i + 1) * m2];
        scan::cpu::forward_one(&lbar, z, &u[seq.clone()], &mut x[seq.clone()]);
        scan::cpu::backward_one(
            &lbar,
            z,
            &x[seq.clone()],
            &gr[seq.clone()],
            &mut a,
            Some(&mut dz[i * m2..(i + 1) * m2]),
            Some(&mut dc[seq]),
            Some(&mut dlb),
        );
    }
    assert_close("cpu scan", &x, &rx, tol);
    assert_close("cpu scan dz0", &dz, &rz, tol);
    assert_close("cpu scan dc", &dc, &rc, tol);
    assert_close("cpu scan dlbar", &dlb, &rl, tol);

    let vr = f64s(&rng.vec(m2 * kk, -0.8, 0.8));
    let mut vt = vec![0.0; kk * m2];
    cconv::cpu::transpose_v(&vr, m, kk, &mut vt);
    let (mut x, mut dz, mut dc) = (
        vec![0.0; rows * m2],
        vec![0.0; b * m2],
        vec![0.0; rows * m2],
    );
    for i in 0..b {
        let seq = i * t * m2..(i + 1) * t * m2;
        let z = &z0[i * m2..(i + 1) * m2];
        cconv::cpu::forward_one(&vt, z, &u[seq.clone()], &mut x[seq.clone()]);
        cconv::cpu::backward_inputs(
            &vt,
            &gr[seq.clone()],
            m2,
            Some(&mut dz[i * m2..(i + 1) * m2]),
            Some(&mut dc[seq]),
        );
    }
    let mut dvt = vec![0.0; kk * m2];
    for (j, row) in dvt.chunks_exact_mut(m2).enumerate() {
        cconv::cpu::backward_v_row(j, &z0, &u, &gr, b, t, m2, row);
    }
    // [K][2m] back to the planar [2][m][K] layout, as the tape's cconv backward does.
    let mut dv = vec![0.0; m2 * kk];
    for i in 0..m {
        for k in 0..kk {
            dv[i * kk + k] = dvt[k * m2 + i];
            dv[m * kk + i * kk + k] = dvt[k * m2 + m + i];
        }
    }
    let (rz, rc, rv) = cconv_bwd(&gr, &z0, &u, &vr, b, t, m, kk);
    assert_close("cpu cconv", &x, &cconv_fwd(&z0, &u, &vr, b, t, m, kk), tol);
    assert_close("cpu cconv dz0", &dz, &rz, tol);
    assert_close("cpu cconv dc", &dc, &rc, tol);
    assert_close("cpu cconv dV", &dv, &rv, tol);

    let (gb, hd) = (3, 5);
    let xp = f64s(&rng.vec(gb * 3 * hd, -2.0, 2.0));
    let hp = f64s(&rng.vec(gb * 3 * hd, -2.0, 2.0));
    let h = f64s(&rng.vec(gb * hd, -1.0, 1.0));
    let dhn = f64s(&rng.vec(gb * hd, -1.0, 1.0));
    let (mut hn, mut gates) = (vec![0.0; gb * hd], vec![0.0; gb * 3 * hd]);
    gru_cell::cpu::forward(hd, &xp, &hp, &h, &mut hn, &mut gates);
    let (rh, rg) = gru_fwd(&xp, &hp, &h, gb, hd);
    assert_close("cpu gru h_new", &hn, &rh, tol);
    assert_close("cpu gru gates", &gates, &rg, tol);
    let (mut dxp, mut dhp, mut dh) = (
        vec![0.0; gb * 3 * hd],
        vec![0.0; gb * 3 * hd],
        vec![0.0; gb * hd],
    );
    gru_cell::cpu::backward(
        hd,
        &hp,
        &h,
        &gates,
        &dhn,
        Some(&mut dxp),
        Some(&mut dhp),
        Some(&mut dh),
    );
    let (rdx, rdhp, rdh) = gru_bwd(&dhn, &rg, &hp, &h, gb, hd);
    assert_close("cpu gru dxp", &dxp, &rdx, tol);
    assert_close("cpu gru dhp", &dhp, &rdhp, tol);
    assert_close("cpu gru dh", &dh, &rdh, tol);

    let (mm, nn, kd) = (5, 4, 6);
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = f64s(&rng.vec(mm * kd, -1.0, 1.0));
        let bm = f64s(&rng.vec(kd * nn, -1.0, 1.0));
        let c0 = f64s(&rng.vec(mm * nn, -1.0, 1.0));
        let mut cc = c0.clone();
        matmul::cpu::gemm(mm, nn, kd, &a, ta, &bm, tb, &mut cc, true);
        let want = gemm(ta, tb, mm, nn, kd, 1.0, &a, &bm, 1.0, &c0);
        assert_close(&format!("cpu gemm ta={ta} tb={tb}"), &cc, &want, tol);
    }
}
