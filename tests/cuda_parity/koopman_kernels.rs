//! Koopman kernels (`kernels/koopman/*.cu`, shared and per-mode Δt) against
//! `ops::koopman::*::cpu` in f32.

use crate::gpu::{device, down, poisoned, up, RTOL};
use crate::reference::koopman_params;
use crate::{assert_close, f64s, Rng};
use koopman::ops::koopman::{cconv, cmul, scan, vandermonde, zoh};

/// `init` after the CPU op accumulated into a copy of it.
fn acc(init: &[f32], f: impl FnOnce(&mut [f32])) -> Vec<f64> {
    let mut v = init.to_vec();
    f(&mut v);
    f64s(&v)
}

/// `nd` values of log Δt: `ln(dt)` shared (`nd == 1`), or per mode around `dt` (mode 0 keeps
/// `dt`; the others scaled by 1.25, 1.5, …, 2, repeating).
fn log_dts(dt: f64, nd: usize) -> Vec<f32> {
    (0..nd)
        .map(|i| (dt * (1.0 + 0.25 * (i % 5) as f64)).ln() as f32)
        .collect()
}

#[test]
fn zoh_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(11);
    // nd: the Δt count, 1 (shared) or m (per mode).
    for (m, nd) in [(1, 1), (3, 1), (300, 1), (3, 3), (300, 300)] {
        let (mu, om) = koopman_params(&mut rng, m);
        let ldt = log_dts(1.0 / m.max(8) as f64, nd);
        let (d_mu, d_om, d_ldt) = (up(dev, &mu), up(dev, &om), up(dev, &ldt));
        let mut zg = poisoned(dev, 4 * m);
        zoh::cuda::zoh_fwd(dev, &mut zg, &d_mu, &d_om, &d_ldt, m, nd).unwrap();
        let zg = down(dev, &zg);
        // CPU layout: [lbar (2m) ; gain (2m)].
        let mut out = vec![0.0f32; 4 * m];
        zoh::cpu::forward(&mu, &om, &ldt, &mut out);
        assert_close("zoh_fwd lbar", &zg[..2 * m], &f64s(&out[..2 * m]), RTOL);
        assert_close("zoh_fwd gain", &zg[2 * m..], &f64s(&out[2 * m..]), RTOL);

        let (gl, gg) = (rng.vec(2 * m, -1.0, 1.0), rng.vec(2 * m, -1.0, 1.0));
        let g = [gl.clone(), gg.clone()].concat();
        let (dmu0, dom0, dl0) = (
            rng.vec(m, -1.0, 1.0),
            rng.vec(m, -1.0, 1.0),
            rng.vec(nd, -1.0, 1.0),
        );
        let (mut dmu, mut dom, mut dl) = (up(dev, &dmu0), up(dev, &dom0), up(dev, &dl0));
        let d_g = up(dev, &g);
        zoh::cuda::zoh_bwd(
            dev,
            Some(&mut dmu),
            Some(&mut dom),
            &mut dl,
            &d_g,
            &d_mu,
            &d_om,
            &d_ldt,
            m,
            nd,
        )
        .unwrap();
        let (mut wmu, mut wom, mut wl) = (dmu0.clone(), dom0.clone(), dl0.clone());
        zoh::cpu::backward(
            &mu,
            &om,
            &ldt,
            &g,
            Some(&mut wmu),
            Some(&mut wom),
            Some(&mut wl),
        );
        assert_close("zoh_bwd dmu", &down(dev, &dmu), &f64s(&wmu), RTOL);
        assert_close("zoh_bwd domega", &down(dev, &dom), &f64s(&wom), RTOL);
        assert_close("zoh_bwd dlog_dt", &down(dev, &dl), &f64s(&wl), RTOL);

        // Frozen mu: a null gradient pointer; omega and log_dt accumulate a second time.
        zoh::cuda::zoh_bwd(
            dev,
            None,
            Some(&mut dom),
            &mut dl,
            &d_g,
            &d_mu,
            &d_om,
            &d_ldt,
            m,
            nd,
        )
        .unwrap();
        zoh::cpu::backward(&mu, &om, &ldt, &g, None, Some(&mut wom), Some(&mut wl));
        assert_close(
            "zoh_bwd (frozen mu) domega",
            &down(dev, &dom),
            &f64s(&wom),
            RTOL,
        );
        assert_close(
            "zoh_bwd (frozen mu) dlog_dt",
            &down(dev, &dl),
            &f64s(&wl),
            RTOL,
        );
        assert_close(
            "zoh_bwd (frozen mu) dmu",
            &down(dev, &dmu),
            &f64s(&wmu),
            RTOL,
        );
    }
}

#[test]
fn vandermonde_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(12);
    // nd: the Δt count, 1 (shared) or m (per mode).
    for (m, kk, nd) in [
        (67, 101, 1),
        (1, 2, 1),
        (33, 257, 1),
        (67, 101, 67),
        (33, 257, 33),
    ] {
        let (mu, om) = koopman_params(&mut rng, m);
        let ldt = log_dts(1.0 / 64.0, nd);
        let (d_mu, d_om, d_ldt) = (up(dev, &mu), up(dev, &om), up(dev, &ldt));
        let mut v = poisoned(dev, 2 * m * kk);
        vandermonde::cuda::vandermonde_fwd(dev, &mut v, &d_mu, &d_om, &d_ldt, m, kk, nd).unwrap();
        let mut wv = vec![0.0f32; 2 * m * kk];
        vandermonde::cpu::forward(&mu, &om, &ldt, kk, &mut wv);
        assert_close("vandermonde_fwd", &down(dev, &v), &f64s(&wv), RTOL);

        let gv = rng.vec(2 * m * kk, -1.0, 1.0);
        let (dmu0, dom0, dl0) = (
            rng.vec(m, -1.0, 1.0),
            rng.vec(m, -1.0, 1.0),
            rng.vec(nd, -1.0, 1.0),
        );
        let (mut dmu, mut dom, mut dl) = (up(dev, &dmu0), up(dev, &dom0), up(dev, &dl0));
        vandermonde::cuda::vandermonde_bwd(
            dev,
            Some(&mut dmu),
            Some(&mut dom),
            &mut dl,
            &up(dev, &gv),
            &d_mu,
            &d_om,
            &d_ldt,
            m,
            kk,
            nd,
        )
        .unwrap();
        let (mut wmu, mut wom, mut wl) = (dmu0.clone(), dom0.clone(), dl0.clone());
        vandermonde::cpu::backward(
            &mu,
            &om,
            &ldt,
            &wv,
            &gv,
            kk,
            Some(&mut wmu),
            Some(&mut wom),
            Some(&mut wl),
        );
        assert_close("vandermonde_bwd dmu", &down(dev, &dmu), &f64s(&wmu), RTOL);
        assert_close(
            "vandermonde_bwd domega",
            &down(dev, &dom),
            &f64s(&wom),
            RTOL,
        );
        assert_close("vandermonde_bwd dlog_dt", &down(dev, &dl), &f64s(&wl), RTOL);
    }
}

#[test]
fn cmul_gain_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(13);
    for (rows, m) in [(3 * 45, 37), (1, 1), (700, 33)] {
        let (u, gain) = (rng.vec(rows * 2 * m, -1.0, 1.0), rng.vec(2 * m, -1.0, 1.0));
        let (d_u, d_gain) = (up(dev, &u), up(dev, &gain));
        let mut c = poisoned(dev, rows * 2 * m);
        cmul::cuda::cmul_gain_fwd(dev, &mut c, &d_u, &d_gain, rows, m).unwrap();
        let mut wc = vec![0.0f32; rows * 2 * m];
        cmul::cpu::forward(&u, &gain, &mut wc);
        assert_close("cmul_gain_fwd", &down(dev, &c), &f64s(&wc), RTOL);

        let gc = rng.vec(rows * 2 * m, -1.0, 1.0);
        let (du0, dg0) = (rng.vec(rows * 2 * m, -1.0, 1.0), rng.vec(2 * m, -1.0, 1.0));
        let (mut du, mut dg) = (up(dev, &du0), up(dev, &dg0));
        cmul::cuda::cmul_gain_bwd(dev, &mut du, &mut dg, &up(dev, &gc), &d_u, &d_gain, rows, m)
            .unwrap();
        let (mut wdu, mut wdg) = (du0.clone(), dg0.clone());
        cmul::cpu::backward(&u, &gain, &gc, Some(&mut wdu), Some(&mut wdg));
        assert_close("cmul_gain_bwd du", &down(dev, &du), &f64s(&wdu), RTOL);
        assert_close("cmul_gain_bwd dgain", &down(dev, &dg), &f64s(&wdg), RTOL);
    }
}

/// lbar from the model's default parameters (|lbar| slightly below 1), through the CPU ZOH.
fn model_lbar(rng: &mut Rng, m: usize) -> Vec<f32> {
    let (mu, om) = koopman_params(rng, m);
    let mut out = vec![0.0f32; 4 * m];
    zoh::cpu::forward(&mu, &om, &[(1.0f64 / 64.0).ln() as f32], &mut out);
    out.truncate(2 * m);
    out
}

#[test]
fn scan_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(14);
    for (b, t, m) in [(3, 45, 37), (2, 203, 131), (1, 1, 1)] {
        let m2 = 2 * m;
        let lbar = model_lbar(&mut rng, m);
        let z0 = rng.vec(b * m2, -1.0, 1.0);
        let c = rng.vec(b * t * m2, -1.0, 1.0);
        let (d_l, d_z0, d_c) = (up(dev, &lbar), up(dev, &z0), up(dev, &c));
        let mut x = poisoned(dev, b * t * m2);
        scan::cuda::scan_fwd(dev, &mut x, &d_z0, &d_c, &d_l, b, t, m).unwrap();
        let mut wx = vec![0.0f32; b * t * m2];
        for i in 0..b {
            let seq = i * t * m2..(i + 1) * t * m2;
            scan::cpu::forward_one(
                &lbar,
                &z0[i * m2..(i + 1) * m2],
                &c[seq.clone()],
                &mut wx[seq],
            );
        }
        let xh = down(dev, &x);
        assert_close("scan_fwd", &xh, &f64s(&wx), RTOL);

        let gx = rng.vec(b * t * m2, -1.0, 1.0);
        let (dz00, dc0, dl0) = (
            rng.vec(b * m2, -1.0, 1.0),
            rng.vec(b * t * m2, -1.0, 1.0),
            rng.vec(m2, -1.0, 1.0),
        );
        let (mut dz0, mut dc, mut dl) = (up(dev, &dz00), up(dev, &dc0), up(dev, &dl0));
        scan::cuda::scan_bwd(
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
        // Backward consumes the kernel's own forward output, as in training; the CPU op gets the
        // same values. Per-sequence dlbar partials summed in batch order, as the tape does.
        let (mut wz, mut wc) = (dz00.clone(), dc0.clone());
        let mut partial = vec![0.0f32; b * m2];
        let mut a = vec![0.0f32; m2];
        for i in 0..b {
            let seq = i * t * m2..(i + 1) * t * m2;
            scan::cpu::backward_one(
                &lbar,
                &z0[i * m2..(i + 1) * m2],
                &xh[seq.clone()],
                &gx[seq.clone()],
                &mut a,
                Some(&mut wz[i * m2..(i + 1) * m2]),
                Some(&mut wc[seq]),
                Some(&mut partial[i * m2..(i + 1) * m2]),
            );
        }
        let wl = acc(&dl0, |d| {
            for row in partial.chunks_exact(m2) {
                d.iter_mut().zip(row).for_each(|(d, p)| *d += *p);
            }
        });
        assert_close("scan_bwd dz0", &down(dev, &dz0), &f64s(&wz), RTOL);
        assert_close("scan_bwd dc", &down(dev, &dc), &f64s(&wc), RTOL);
        assert_close("scan_bwd dlbar", &down(dev, &dl), &wl, RTOL);
    }
}

#[test]
fn cconv_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(15);
    for (b, t, m, extra) in [(3, 45, 37, 1), (2, 70, 33, 4), (1, 1, 1, 1)] {
        let (m2, kk) = (2 * m, t + extra);
        let v = rng.vec(m2 * kk, -0.8, 0.8);
        let z0 = rng.vec(b * m2, -1.0, 1.0);
        let c = rng.vec(b * t * m2, -1.0, 1.0);
        let (d_v, d_z0, d_c) = (up(dev, &v), up(dev, &z0), up(dev, &c));
        let mut x = poisoned(dev, b * t * m2);
        cconv::cuda::cconv_fwd(dev, &mut x, &d_z0, &d_c, &d_v, b, t, m, kk).unwrap();
        let mut vt = vec![0.0f32; kk * m2];
        cconv::cpu::transpose_v(&v, m, kk, &mut vt);
        let mut wx = vec![0.0f32; b * t * m2];
        for i in 0..b {
            let seq = i * t * m2..(i + 1) * t * m2;
            cconv::cpu::forward_one(
                &vt,
                &z0[i * m2..(i + 1) * m2],
                &c[seq.clone()],
                &mut wx[seq],
            );
        }
        assert_close("cconv_fwd", &down(dev, &x), &f64s(&wx), RTOL);

        let g = rng.vec(b * t * m2, -1.0, 1.0);
        let (dz00, dc0, dv0) = (
            rng.vec(b * m2, -1.0, 1.0),
            rng.vec(b * t * m2, -1.0, 1.0),
            rng.vec(m2 * kk, -1.0, 1.0),
        );
        let (mut dz0, mut dc, mut dv) = (up(dev, &dz00), up(dev, &dc0), up(dev, &dv0));
        cconv::cuda::cconv_bwd(
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
        // As the tape's cconv backward: per-sequence input gradients, then dV row by row in the
        // transposed layout [K][2m], added back into [2][m][K].
        let (mut wz, mut wc) = (dz00.clone(), dc0.clone());
        for i in 0..b {
            let seq = i * t * m2..(i + 1) * t * m2;
            cconv::cpu::backward_inputs(
                &vt,
                &g[seq.clone()],
                m2,
                Some(&mut wz[i * m2..(i + 1) * m2]),
                Some(&mut wc[seq]),
            );
        }
        let mut dvt = vec![0.0f32; kk * m2];
        for (j, row) in dvt.chunks_exact_mut(m2).enumerate() {
            cconv::cpu::backward_v_row(j, &z0, &c, &g, b, t, m2, row);
        }
        let wv = acc(&dv0, |d| {
            for i in 0..m {
                for k in 0..kk {
                    d[i * kk + k] += dvt[k * m2 + i];
                    d[m * kk + i * kk + k] += dvt[k * m2 + m + i];
                }
            }
        });
        assert_close("cconv_bwd dz0", &down(dev, &dz0), &f64s(&wz), RTOL);
        assert_close("cconv_bwd dc", &down(dev, &dc), &f64s(&wc), RTOL);
        assert_close("cconv_bwd dV", &down(dev, &dv), &wv, RTOL);
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
    // [lbar ; gain]: the scan reads lbar, the buffer's first 2m floats.
    let mut lbar = poisoned(dev, 4 * m);
    zoh::cuda::zoh_fwd(dev, &mut lbar, &d_mu, &d_om, &d_ldt, m, 1).unwrap();
    let mut v = poisoned(dev, 2 * m * kk);
    vandermonde::cuda::vandermonde_fwd(dev, &mut v, &d_mu, &d_om, &d_ldt, m, kk, 1).unwrap();
    let (z0, c) = (
        up(dev, &rng.vec(b * 2 * m, -1.0, 1.0)),
        up(dev, &rng.vec(b * t * 2 * m, -1.0, 1.0)),
    );
    let (mut xs, mut xc) = (poisoned(dev, b * t * 2 * m), poisoned(dev, b * t * 2 * m));
    scan::cuda::scan_fwd(dev, &mut xs, &z0, &c, &lbar, b, t, m).unwrap();
    cconv::cuda::cconv_fwd(dev, &mut xc, &z0, &c, &v, b, t, m, kk).unwrap();
    assert_close(
        "scan vs cconv",
        &down(dev, &xc),
        &f64s(&down(dev, &xs)),
        1e-3,
    );
}
