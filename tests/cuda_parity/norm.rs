//! Softmax and LayerNorm (`reduce.cu`, one warp per row) against `ops::softmax::cpu` and
//! `ops::layernorm::cpu` in f32. Column counts straddle the warp (1, 31, 33, 257) and row counts
//! the 8-rows-per-block launch and the 256-row chunks of the gamma/beta sums.

use crate::gpu::{device, down, poisoned, up, RTOL};
use crate::{assert_close, f64s, Rng};
use koopman::backend::cuda::CudaDevice;
use koopman::ops::{layernorm, softmax};

fn softmax_case(dev: &CudaDevice, rng: &mut Rng, rows: usize, cols: usize, causal: bool) {
    let tag = format!("{}{rows}x{cols}", if causal { "causal " } else { "" });
    let n = rows * cols;
    let x = rng.vec(n, -3.0, 3.0);
    let d_x = up(dev, &x);
    let mut y = poisoned(dev, n);
    softmax::cuda::softmax_fwd(dev, &mut y, &d_x, rows, cols, causal).unwrap();
    let mut wy = vec![0.0f32; n];
    softmax::cpu::forward(&x, &mut wy, cols, causal);
    let got = down(dev, &y);
    assert_close(&format!("softmax_fwd {tag}"), &got, &f64s(&wy), RTOL);
    if causal {
        // Masked entries are exactly zero (not merely small).
        for r in 0..rows {
            for c in (r % cols + 1)..cols {
                assert_eq!(
                    got[r * cols + c],
                    0.0,
                    "softmax_fwd {tag}: ({r}, {c}) is masked"
                );
            }
        }
    }

    let dy = rng.vec(n, -1.0, 1.0);
    let dx0 = rng.vec(n, -1.0, 1.0);
    let mut dx = up(dev, &dx0);
    softmax::cuda::softmax_bwd(dev, &mut dx, &y, &up(dev, &dy), rows, cols).unwrap();
    let mut want = dx0.clone();
    softmax::cpu::backward(&wy, &dy, &mut want, cols);
    assert_close(
        &format!("softmax_bwd {tag}"),
        &down(dev, &dx),
        &f64s(&want),
        RTOL,
    );
}

#[test]
fn softmax_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(31);
    for (rows, cols) in [(1, 1), (7, 31), (9, 33), (1003, 37), (5, 257), (300, 64)] {
        softmax_case(dev, &mut rng, rows, cols, false);
    }
}

#[test]
fn softmax_causal_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(32);
    // rows = batch x T, cols = T.
    for (batch, t) in [(1, 1), (3, 5), (2, 33), (7, 40), (1, 100)] {
        softmax_case(dev, &mut rng, batch * t, t, true);
    }
    // Rows that are not whole [T, T] blocks are an error, not a wrong mask.
    let (x, mut y) = (up(dev, &[0.0; 15]), poisoned(dev, 15));
    assert!(softmax::cuda::softmax_fwd(dev, &mut y, &x, 3, 5, true).is_err());
}

#[test]
fn layernorm_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(33);
    for (rows, cols) in [
        (1, 1),
        (3, 1),
        (7, 31),
        (9, 33),
        (531, 33),
        (1003, 300),
        (2, 257),
    ] {
        let tag = format!("{rows}x{cols}");
        let n = rows * cols;
        // A per-row offset and spread, so mean and variance differ between rows.
        let mut x = rng.vec(n, -1.0, 1.0);
        for r in 0..rows {
            let (off, sc) = (rng.vec(1, -2.0, 2.0)[0], rng.vec(1, 0.5, 3.0)[0]);
            x[r * cols..(r + 1) * cols]
                .iter_mut()
                .for_each(|v| *v = off + sc * *v);
        }
        let gamma = rng.vec(cols, 0.5, 1.5);
        let beta = rng.vec(cols, -0.5, 0.5);
        let (d_x, d_g, d_b) = (up(dev, &x), up(dev, &gamma), up(dev, &beta));
        let (mut y, mut mean, mut rstd) =
            (poisoned(dev, n), poisoned(dev, rows), poisoned(dev, rows));
        layernorm::cuda::layernorm_fwd(
            dev, &mut y, &mut mean, &mut rstd, &d_x, &d_g, &d_b, rows, cols,
        )
        .unwrap();
        let (mut wy, mut wm, mut wr) = (vec![0.0f32; n], vec![0.0f32; rows], vec![0.0f32; rows]);
        layernorm::cpu::forward(&x, &gamma, &beta, &mut wy, &mut wm, &mut wr);
        assert_close(
            &format!("layernorm_fwd y {tag}"),
            &down(dev, &y),
            &f64s(&wy),
            RTOL,
        );
        assert_close(
            &format!("layernorm_fwd mean {tag}"),
            &down(dev, &mean),
            &f64s(&wm),
            RTOL,
        );
        assert_close(
            &format!("layernorm_fwd rstd {tag}"),
            &down(dev, &rstd),
            &f64s(&wr),
            RTOL,
        );

        let dy = rng.vec(n, -1.0, 1.0);
        let (dx0, dg0, db0) = (
            rng.vec(n, -1.0, 1.0),
            rng.vec(cols, -1.0, 1.0),
            rng.vec(cols, -1.0, 1.0),
        );
        let (mut dx, mut dg, mut db) = (up(dev, &dx0), up(dev, &dg0), up(dev, &db0));
        let d_dy = up(dev, &dy);
        layernorm::cuda::layernorm_bwd(
            dev,
            Some(&mut dx),
            Some((&mut dg, &mut db)),
            &d_dy,
            &d_x,
            &d_g,
            &mean,
            &rstd,
            rows,
            cols,
        )
        .unwrap();
        let (mut wdx, mut wdg, mut wdb) = (dx0.clone(), dg0.clone(), db0.clone());
        layernorm::cpu::backward(
            &x,
            &gamma,
            &wm,
            &wr,
            &dy,
            Some(&mut wdx),
            Some(&mut wdg),
            Some(&mut wdb),
        );
        assert_close(
            &format!("layernorm_bwd dx {tag}"),
            &down(dev, &dx),
            &f64s(&wdx),
            RTOL,
        );
        assert_close(
            &format!("layernorm_bwd dgamma {tag}"),
            &down(dev, &dg),
            &f64s(&wdg),
            RTOL,
        );
        assert_close(
            &format!("layernorm_bwd dbeta {tag}"),
            &down(dev, &db),
            &f64s(&wdb),
            RTOL,
        );

        // Input without a gradient: gamma and beta accumulate again, dx is untouched.
        layernorm::cuda::layernorm_bwd(
            dev,
            None,
            Some((&mut dg, &mut db)),
            &d_dy,
            &d_x,
            &d_g,
            &mean,
            &rstd,
            rows,
            cols,
        )
        .unwrap();
        layernorm::cpu::backward(
            &x,
            &gamma,
            &wm,
            &wr,
            &dy,
            None,
            Some(&mut wdg),
            Some(&mut wdb),
        );
        assert_close(
            &format!("layernorm_bwd dgamma (dx None) {tag}"),
            &down(dev, &dg),
            &f64s(&wdg),
            RTOL,
        );
        assert_close(
            &format!("layernorm_bwd dbeta (dx None) {tag}"),
            &down(dev, &db),
            &f64s(&wdb),
            RTOL,
        );
        // Frozen gamma/beta: dx accumulates again.
        layernorm::cuda::layernorm_bwd(
            dev,
            Some(&mut dx),
            None,
            &d_dy,
            &d_x,
            &d_g,
            &mean,
            &rstd,
            rows,
            cols,
        )
        .unwrap();
        layernorm::cpu::backward(&x, &gamma, &wm, &wr, &dy, Some(&mut wdx), None, None);
        assert_close(
            &format!("layernorm_bwd dx (gb None) {tag}"),
            &down(dev, &dx),
            &f64s(&wdx),
            RTOL,
        );
    }
}
