//! Real `kernels/**/*.cu` kernels run on the emulated CUDA device (`backend::cuda::emu`), with the
//! launch shapes the launchers in `src/backend/cuda/launch/` use, compared with plain Rust
//! references. Skipped (with a message) when the emulator was not built (no C++ compiler).
#![cfg(feature = "cuda")]

use koopman::backend::cuda::emu::{self, kernels as k, EmuError, EmuLaunch};

/// Threads per 1-D block, as the launchers' `BLOCK_1D`.
const BLOCK: u32 = 256;

/// `false` (and a message) when the emulator is not in this build.
fn emu_ready() -> bool {
    match emu::status() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipped: {e}");
            false
        }
    }
}

/// The launchers' `grid_1d`: one 256-thread block per 256 elements.
fn grid_1d(n: usize) -> EmuLaunch {
    EmuLaunch::linear((n.div_ceil(BLOCK as usize)).max(1) as u32, BLOCK)
}

/// The launchers' `warp_rows`: one warp per row, 8 rows per 256-thread block.
fn warp_rows(rows: usize) -> EmuLaunch {
    EmuLaunch::linear(rows.div_ceil(8) as u32, BLOCK)
}

/// Deterministic values in [-1, 1).
fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `Err` naming the worst element unless |got - want| <= atol + rtol |want| everywhere.
fn close(name: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{name}: {} values, want {}", got.len(), want.len()));
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        // Written so that NaN (a read past a buffer) fails too.
        let ok = (g - w).abs() <= atol + rtol * w.abs();
        if !ok {
            return Err(format!("{name}[{i}] = {g}, want {w}"));
        }
    }
    Ok(())
}

/// Shuffle variants, early-returning threads, 3-D shapes and the warp-split error, on synthetic
/// kernels (the real ones do not use all of them).
#[test]
fn runtime_self_test() {
    if !emu_ready() {
        return;
    }
    emu::self_test().unwrap();
}

#[test]
fn relu_fwd_matches_reference() {
    if !emu_ready() {
        return;
    }
    let n = 100_003;
    let x = rnd(n, 1);
    let mut y = vec![7.0f32; n];
    k::unary::relu_fwd(grid_1d(n), &mut y, &x, n as i32).unwrap();
    let want: Vec<f64> = x.iter().map(|&v| v.max(0.0) as f64).collect();
    close("relu", &y, &want, 0.0, 0.0).unwrap();
    // Grid-stride: three blocks still cover every element.
    let mut y2 = vec![7.0f32; n];
    k::unary::relu_fwd(EmuLaunch::linear(3, BLOCK), &mut y2, &x, n as i32).unwrap();
    assert_eq!(y, y2);
}

#[test]
fn mse_two_pass_block_reduction() {
    if !emu_ready() {
        return;
    }
    let n = 70_001;
    let (pred, target) = (rnd(n, 2), rnd(n, 3));
    let parts = n.div_ceil(BLOCK as usize).min(1024);
    let mut partial = vec![0.0f32; parts];
    k::loss::mse_fwd_partial(
        EmuLaunch::linear(parts as u32, BLOCK),
        &mut partial,
        &pred,
        &target,
        n as i32,
    )
    .unwrap();
    let mut loss = [0.0f32];
    k::loss::mse_fwd_final(
        EmuLaunch::linear(1, BLOCK),
        &mut loss,
        &partial,
        parts as i32,
        n as i32,
    )
    .unwrap();
    let want: f64 = pred
        .iter()
        .zip(&target)
        .map(|(&p, &t)| (p as f64 - t as f64).powi(2))
        .sum::<f64>()
        / n as f64;
    close("mse", &loss, &[want], 1e-5, 0.0).unwrap();
    // Each partial is its block's grid-stride share.
    let p7: f64 = (7 * BLOCK as usize..n)
        .step_by(parts * BLOCK as usize)
        .flat_map(|s| s..(s + BLOCK as usize).min(n))
        .map(|i| (pred[i] as f64 - target[i] as f64).powi(2))
        .sum();
    close("mse partial[7]", &partial[7..8], &[p7], 1e-5, 0.0).unwrap();
}

#[test]
fn sum_cols_tiled_two_pass() {
    if !emu_ready() {
        return;
    }
    let (rows, cols, per) = (1000usize, 70usize, 256usize);
    let parts = rows.div_ceil(per);
    let (x, w) = (rnd(rows * cols, 4), rnd(rows * cols, 5));
    for weighted in [false, true] {
        let mut partial = vec![0.0f32; parts * cols];
        // Block (32, 8), grid (cols / 32, parts), as launch/reduce.rs.
        let cfg = EmuLaunch::new((cols.div_ceil(32) as u32, parts as u32, 1), (32, 8, 1));
        let wopt = weighted.then_some(&w[..]);
        k::reduce::sum_cols_partial(
            cfg,
            &mut partial,
            &x,
            wopt,
            rows as i32,
            cols as i32,
            per as i32,
        )
        .unwrap();
        let mut y = vec![1.0f32; cols];
        k::reduce::sum_cols_final(
            grid_1d(cols),
            &mut y,
            &partial,
            parts as i32,
            cols as i32,
            1,
        )
        .unwrap();
        let want: Vec<f64> = (0..cols)
            .map(|c| {
                1.0 + (0..rows)
                    .map(|r| {
                        let i = r * cols + c;
                        x[i] as f64 * if weighted { w[i] as f64 } else { 1.0 }
                    })
                    .sum::<f64>()
            })
            .collect();
        close("sum_cols", &y, &want, 1e-5, 1e-5).unwrap();
    }
}

#[test]
fn softmax_warp_per_row() {
    if !emu_ready() {
        return;
    }
    let (rows, cols) = (37usize, 50usize);
    let x: Vec<f32> = rnd(rows * cols, 6).iter().map(|v| v * 4.0).collect();
    for causal in [0, 1] {
        let mut y = vec![9.0f32; rows * cols];
        k::softmax::softmax_fwd(
            warp_rows(rows),
            &mut y,
            &x,
            rows as i32,
            cols as i32,
            causal,
        )
        .unwrap();
        let mut want = vec![0.0f64; rows * cols];
        for r in 0..rows {
            let live = if causal == 1 { r % cols + 1 } else { cols };
            let xr = &x[r * cols..r * cols + live];
            let mx = xr.iter().fold(f64::MIN, |a, &b| a.max(b as f64));
            let s: f64 = xr.iter().map(|&v| (v as f64 - mx).exp()).sum();
            for c in 0..live {
                want[r * cols + c] = (xr[c] as f64 - mx).exp() / s;
            }
        }
        close("softmax", &y, &want, 1e-5, 1e-7).unwrap();
    }
}

#[test]
fn layernorm_forward() {
    if !emu_ready() {
        return;
    }
    let (rows, cols) = (45usize, 96usize);
    let (x, gamma, beta) = (rnd(rows * cols, 7), rnd(cols, 8), rnd(cols, 9));
    let mut y = vec![0.0f32; rows * cols];
    let (mut mean, mut rstd) = (vec![0.0f32; rows], vec![0.0f32; rows]);
    k::layernorm::layernorm_fwd(
        warp_rows(rows),
        &mut y,
        &mut mean,
        &mut rstd,
        &x,
        &gamma,
        &beta,
        rows as i32,
        cols as i32,
    )
    .unwrap();
    let (mut wy, mut wm, mut wr) = (vec![0.0; rows * cols], vec![0.0; rows], vec![0.0; rows]);
    for r in 0..rows {
        let xr: Vec<f64> = x[r * cols..(r + 1) * cols]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let mu = xr.iter().sum::<f64>() / cols as f64;
        let var = xr.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / cols as f64;
        let rs = 1.0 / (var + 1e-5).sqrt();
        for c in 0..cols {
            wy[r * cols + c] = (xr[c] - mu) * rs * gamma[c] as f64 + beta[c] as f64;
        }
        (wm[r], wr[r]) = (mu, rs);
    }
    close("layernorm y", &y, &wy, 1e-4, 1e-5).unwrap();
    close("layernorm mean", &mean, &wm, 1e-4, 1e-6).unwrap();
    close("layernorm rstd", &rstd, &wr, 1e-4, 0.0).unwrap();
}

/// x row k = xhat_{k+1}, xhat_0 = z0, xhat_{k+1} = lbar xhat_k + c_k, planar complex rows of 2m.
fn scan_ref(z0: &[f32], c: &[f32], lbar: &[f32], b: usize, t: usize, m: usize) -> Vec<f64> {
    let mut x = vec![0.0f64; b * t * 2 * m];
    for bi in 0..b {
        for i in 0..m {
            let (lr, li) = (lbar[i] as f64, lbar[m + i] as f64);
            let (mut sr, mut si) = (z0[bi * 2 * m + i] as f64, z0[bi * 2 * m + m + i] as f64);
            for k in 0..t {
                let row = (bi * t + k) * 2 * m;
                let (cr, ci) = (c[row + i] as f64, c[row + m + i] as f64);
                (sr, si) = (lr * sr - li * si + cr, lr * si + li * sr + ci);
                x[row + i] = sr;
                x[row + m + i] = si;
            }
        }
    }
    x
}

/// |lbar| < 1 so the recurrence stays bounded.
fn koopman_inputs(b: usize, t: usize, m: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let z0 = rnd(b * 2 * m, 10);
    let c = rnd(b * t * 2 * m, 11);
    let lbar: Vec<f32> = rnd(2 * m, 12).iter().map(|v| v * 0.6).collect();
    (z0, c, lbar)
}

/// scan_fwd with the launch shape of launch/koopman.rs: block 128, grid (m / 128, B).
fn run_scan(grid_x: u32, b: usize, t: usize, m: usize) -> Result<Vec<f32>, EmuError> {
    let (z0, c, lbar) = koopman_inputs(b, t, m);
    let mut x = vec![0.0f32; b * t * 2 * m];
    let cfg = EmuLaunch::new((grid_x, b as u32, 1), (128, 1, 1));
    k::koopman::scan::scan_fwd(cfg, &mut x, &z0, &c, &lbar, b as i32, t as i32, m as i32)?;
    Ok(x)
}

#[test]
fn scan_forward() {
    if !emu_ready() {
        return;
    }
    let (b, t, m) = (3, 21, 150);
    let (z0, c, lbar) = koopman_inputs(b, t, m);
    let x = run_scan(m.div_ceil(128) as u32, b, t, m).unwrap();
    close("scan", &x, &scan_ref(&z0, &c, &lbar, b, t, m), 1e-4, 1e-5).unwrap();
}

#[test]
fn cconv_forward_tiled_shared_memory() {
    if !emu_ready() {
        return;
    }
    // T not a multiple of the 32-step tiles, m not a multiple of the 32-mode tiles.
    let (b, t, m) = (2usize, 45usize, 40usize);
    let kk = t + 1;
    let (z0, c, lbar) = koopman_inputs(b, t, m);
    // V[i, k] = lbar_i^k, planar [2][m][K].
    let mut v = vec![0.0f32; 2 * m * kk];
    for i in 0..m {
        let (lr, li) = (lbar[i] as f64, lbar[m + i] as f64);
        let (mut pr, mut pi) = (1.0f64, 0.0f64);
        for k in 0..kk {
            v[i * kk + k] = pr as f32;
            v[m * kk + i * kk + k] = pi as f32;
            (pr, pi) = (pr * lr - pi * li, pr * li + pi * lr);
        }
    }
    let mut x = vec![0.0f32; b * t * 2 * m];
    // Block (32, 8), grid (m / 32, T / 32, B), as launch/koopman.rs's cconv_cfg.
    let cfg = EmuLaunch::new(
        (m.div_ceil(32) as u32, t.div_ceil(32) as u32, b as u32),
        (32, 8, 1),
    );
    k::koopman::cconv::cconv_fwd(
        cfg, &mut x, &z0, &c, &v, b as i32, t as i32, m as i32, kk as i32,
    )
    .unwrap();
    close("cconv", &x, &scan_ref(&z0, &c, &lbar, b, t, m), 1e-4, 1e-5).unwrap();
}

#[test]
fn adamw_step_matches_f32_reference() {
    if !emu_ready() {
        return;
    }
    let n = 5000;
    let (mut p, g) = (rnd(n, 13), rnd(n, 14));
    let (mut m, mut v) = (rnd(n, 15), rnd(n, 16));
    for x in &mut v {
        *x = x.abs();
    }
    let (p0, m0, v0) = (p.clone(), m.clone(), v.clone());
    let (lr, b1, b2, eps, wd, bc1, bc2) = (
        1e-2f32, 0.9f32, 0.999f32, 1e-8f32, 0.1f32, 0.19f32, 0.002f32,
    );
    k::optim::adamw_step(
        grid_1d(n),
        &mut p,
        &mut m,
        &mut v,
        &g,
        n as i32,
        lr,
        b1,
        b2,
        eps,
        wd,
        bc1,
        bc2,
    )
    .unwrap();
    let (mut wp, mut wm, mut wv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for i in 0..n {
        let mi = b1 * m0[i] + (1.0 - b1) * g[i];
        let vi = b2 * v0[i] + (1.0 - b2) * g[i] * g[i];
        let upd = lr * ((mi / bc1) / ((vi / bc2).sqrt() + eps) + wd * p0[i]);
        (wp[i], wm[i], wv[i]) = ((p0[i] - upd) as f64, mi as f64, vi as f64);
    }
    close("adamw p", &p, &wp, 1e-6, 1e-7).unwrap();
    close("adamw m", &m, &wm, 1e-6, 0.0).unwrap();
    close("adamw v", &v, &wv, 1e-6, 0.0).unwrap();
}

#[test]
fn launch_limits_are_enforced() {
    if !emu_ready() {
        return;
    }
    let x = [1.0f32; 8];
    let mut y = [0.0f32; 8];
    for cfg in [
        EmuLaunch::linear(1, 1025),
        EmuLaunch::new((1, 1, 1), (32, 32, 2)),
        EmuLaunch::linear(0, 32),
        EmuLaunch::new((1, 70_000, 1), (32, 1, 1)),
    ] {
        let e = k::unary::relu_fwd(cfg, &mut y, &x, 8).unwrap_err();
        assert!(
            matches!(&e, EmuError::Launch { kernel: "relu_fwd", message } if message.contains("invalid launch")),
            "{cfg:?}: {e}"
        );
    }
    // The largest legal block runs.
    k::unary::relu_fwd(EmuLaunch::new((1, 1, 1), (32, 32, 1)), &mut y, &x, 8).unwrap();
    assert_eq!(y, x);
}

/// The emulated run must be able to fail: a size past the buffers, and a grid too small for a
/// kernel without a grid-stride loop.
#[test]
fn faults_are_caught() {
    if !emu_ready() {
        return;
    }
    // n one past the slices: the write past `y` hits the guard zone.
    let x = rnd(100, 17);
    let mut y = vec![0.0f32; 100];
    let e = k::unary::relu_fwd(grid_1d(101), &mut y, &x, 101).unwrap_err();
    assert_eq!(
        e,
        EmuError::OutOfBounds {
            kernel: "relu_fwd",
            arg: "y"
        }
    );
    // scan_fwd covers modes with blockIdx.x only: one block of 128 for m = 150 leaves modes
    // 128..150 unwritten, and the comparison sees it.
    let (b, t, m) = (2, 5, 150);
    let (z0, c, lbar) = koopman_inputs(b, t, m);
    let x = run_scan(1, b, t, m).unwrap();
    let err = close("scan", &x, &scan_ref(&z0, &c, &lbar, b, t, m), 1e-4, 1e-5).unwrap_err();
    assert!(err.contains("scan["), "{err}");
}

/// Many launches from several threads at once (as `cargo test` does) stay independent.
#[test]
fn concurrent_launches() {
    if !emu_ready() {
        return;
    }
    std::thread::scope(|s| {
        for seed in 0..4u64 {
            s.spawn(move || {
                let n = 20_000;
                let (pred, target) = (rnd(n, 20 + seed), rnd(n, 30 + seed));
                let want: f64 = pred
                    .iter()
                    .zip(&target)
                    .map(|(&p, &t)| (p as f64 - t as f64).powi(2))
                    .sum::<f64>()
                    / n as f64;
                for _ in 0..5 {
                    let parts = n.div_ceil(BLOCK as usize);
                    let mut partial = vec![0.0f32; parts];
                    let cfg = EmuLaunch::linear(parts as u32, BLOCK);
                    k::loss::mse_fwd_partial(cfg, &mut partial, &pred, &target, n as i32).unwrap();
                    let mut loss = [0.0f32];
                    let one = EmuLaunch::linear(1, BLOCK);
                    k::loss::mse_fwd_final(one, &mut loss, &partial, parts as i32, n as i32)
                        .unwrap();
                    close("mse", &loss, &[want], 1e-5, 0.0).unwrap();
                }
            });
        }
    });
}

/// Timings for the record: `cargo test --release --test emu_kernels -- --ignored --nocapture`.
#[test]
#[ignore]
fn emu_timings() {
    if !emu_ready() {
        return;
    }
    let best = |f: &mut dyn FnMut()| {
        (0..10)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::MAX, f64::min)
    };
    let n = 100_000;
    let x = rnd(n, 1);
    let mut y = vec![0.0f32; n];
    let ms = best(&mut || k::unary::relu_fwd(grid_1d(n), &mut y, &x, n as i32).unwrap());
    eprintln!("relu_fwd, 1e5 elements, 391 blocks x 256: {ms:.2} ms");
    let n = 1000 * 256;
    let (p, t) = (rnd(n, 2), rnd(n, 3));
    let mut part = vec![0.0f32; 1000];
    let ms = best(&mut || {
        k::loss::mse_fwd_partial(EmuLaunch::linear(1000, 256), &mut part, &p, &t, n as i32).unwrap()
    });
    eprintln!(
        "mse_fwd_partial, 1000 blocks x 256 (block_sum: 2 barriers, 10 shuffles): {ms:.2} ms"
    );
    let (b, tt, m) = (16usize, 64usize, 64usize);
    let (z0, c, lbar) = koopman_inputs(b, tt, m);
    let v = rnd(2 * m * (tt + 1), 4);
    let mut xo = vec![0.0f32; b * tt * 2 * m];
    let cfg = EmuLaunch::new((2, 2, b as u32), (32, 8, 1));
    let ms = best(&mut || {
        k::koopman::cconv::cconv_fwd(
            cfg,
            &mut xo,
            &z0,
            &c,
            &v,
            b as i32,
            tt as i32,
            m as i32,
            (tt + 1) as i32,
        )
        .unwrap()
    });
    eprintln!("cconv_fwd B=16 T=64 m=64, 64 blocks of (32, 8): {ms:.2} ms");
    let _ = lbar;
}
