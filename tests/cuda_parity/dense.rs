//! GRU cell (`gru.cu`), row-major cuBLAS GEMM and the row/column sums of `reduce.cu`, against
//! `ops::gru_cell::cpu`, `ops::matmul::cpu` and `ops::binary::cpu` in f32.

use crate::gpu::{device, down, poisoned, up, RTOL};
use crate::{assert_close, f64s, Rng};
use koopman::backend::cuda::launch::{gemm, reduce};
use koopman::ops::reduce as reduce_op;
use koopman::ops::{binary, gru_cell, matmul};

#[test]
fn gru_cell_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(17);
    for (b, hd) in [(7, 67), (1, 1), (33, 300)] {
        let xp = rng.vec(b * 3 * hd, -2.0, 2.0);
        let hp = rng.vec(b * 3 * hd, -2.0, 2.0);
        let h = rng.vec(b * hd, -1.0, 1.0);
        let (d_xp, d_hp, d_h) = (up(dev, &xp), up(dev, &hp), up(dev, &h));
        let (mut hn, mut gates) = (poisoned(dev, b * hd), poisoned(dev, b * 3 * hd));
        gru_cell::cuda::gru_cell_fwd(dev, &mut hn, &mut gates, &d_xp, &d_hp, &d_h, b, hd).unwrap();
        let (mut wh, mut wg) = (vec![0.0f32; b * hd], vec![0.0f32; b * 3 * hd]);
        gru_cell::cpu::forward(hd, &xp, &hp, &h, &mut wh, &mut wg);
        assert_close("gru_cell_fwd h_new", &down(dev, &hn), &f64s(&wh), RTOL);
        assert_close("gru_cell_fwd gates", &down(dev, &gates), &f64s(&wg), RTOL);

        let dhn = rng.vec(b * hd, -1.0, 1.0);
        let (dxp0, dhp0, dh0) = (
            rng.vec(b * 3 * hd, -1.0, 1.0),
            rng.vec(b * 3 * hd, -1.0, 1.0),
            rng.vec(b * hd, -1.0, 1.0),
        );
        let (mut dxp, mut dhp, mut dh) = (up(dev, &dxp0), up(dev, &dhp0), up(dev, &dh0));
        gru_cell::cuda::gru_cell_bwd(
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
        let (mut wdx, mut wdhp, mut wdh) = (dxp0.clone(), dhp0.clone(), dh0.clone());
        gru_cell::cpu::backward(
            hd,
            &hp,
            &h,
            &wg,
            &dhn,
            Some(&mut wdx),
            Some(&mut wdhp),
            Some(&mut wdh),
        );
        assert_close("gru_cell_bwd dxp", &down(dev, &dxp), &f64s(&wdx), RTOL);
        assert_close("gru_cell_bwd dhp", &down(dev, &dhp), &f64s(&wdhp), RTOL);
        assert_close("gru_cell_bwd dh", &down(dev, &dh), &f64s(&wdh), RTOL);
    }
}

/// `alpha op(A) op(B) + beta C0` from the CPU GEMM (which computes `op(A) op(B)`, plain or `+=`).
fn cpu_gemm(g: &gemm::RowGemm, a: &[f32], b: &[f32], c0: &[f32]) -> Vec<f64> {
    let mut ab = vec![0.0f32; g.m * g.n];
    matmul::cpu::gemm(g.m, g.n, g.k, a, g.trans_a, b, g.trans_b, &mut ab, false);
    ab.iter()
        .zip(c0)
        .map(|(&p, &c)| g.alpha as f64 * p as f64 + g.beta as f64 * c as f64)
        .collect()
}

#[test]
fn sgemm_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(18);
    for (m, n, k) in [(37, 29, 45), (1, 300, 7), (129, 1, 65)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for (alpha, beta) in [(1.0f32, 0.0f32), (1.0, 1.0), (0.5, 0.0), (0.5, 1.0)] {
                let a = rng.vec(m * k, -1.0, 1.0);
                let b = rng.vec(k * n, -1.0, 1.0);
                let c0 = rng.vec(m * n, -1.0, 1.0);
                // beta = 0 must ignore C's contents entirely: start from NaN there.
                let mut c = if beta == 0.0 {
                    poisoned(dev, m * n)
                } else {
                    up(dev, &c0)
                };
                let g = gemm::RowGemm {
                    trans_a: ta,
                    trans_b: tb,
                    alpha,
                    beta,
                    ..gemm::RowGemm::new(m, n, k)
                };
                gemm::sgemm(dev, &g, &up(dev, &a), &up(dev, &b), &mut c).unwrap();
                assert_close(
                    &format!("sgemm {m}x{n}x{k} ta={ta} tb={tb} a={alpha} b={beta}"),
                    &down(dev, &c),
                    &cpu_gemm(&g, &a, &b, &c0),
                    RTOL,
                );
            }
        }
    }
    // Batched: 3 independent products with padded strides.
    let (m, n, k) = (37, 29, 45);
    let batch = 3;
    let (sa, sb, sc) = (m * k + 5, k * n + 3, m * n + 7);
    let a = rng.vec(batch * sa, -1.0, 1.0);
    let b = rng.vec(batch * sb, -1.0, 1.0);
    let mut c = poisoned(dev, batch * sc);
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
        let want = cpu_gemm(
            &g,
            &a[i * sa..i * sa + m * k],
            &b[i * sb..i * sb + k * n],
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

/// Column sums (bias gradients, the broadcast operand of add/mul backward): plain against
/// `matmul::cpu::bias_grad`, weighted against `binary::cpu::mul_backward`'s `db`, both accumulating
/// and overwriting; and their backward against `matmul::cpu::add_bias`. Row counts above 256 span
/// several row chunks.
#[test]
fn sum_cols_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(19);
    for (rows, cols) in [(1, 1), (7, 37), (1003, 37), (531, 300), (300, 1)] {
        let x = rng.vec(rows * cols, -1.0, 1.0);
        let w = rng.vec(rows * cols, -1.0, 1.0);
        let y0 = rng.vec(cols, -1.0, 1.0);
        let (d_x, d_w) = (up(dev, &x), up(dev, &w));

        let mut y = up(dev, &y0);
        reduce::sum_cols(dev, &mut y, &d_x, None, rows, cols, true).unwrap();
        let mut want = y0.clone();
        matmul::cpu::bias_grad(&mut want, &x);
        assert_close("sum_cols (+=)", &down(dev, &y), &f64s(&want), RTOL);

        let mut y = poisoned(dev, cols);
        reduce::sum_cols(dev, &mut y, &d_x, None, rows, cols, false).unwrap();
        let mut want = vec![0.0f32; cols];
        matmul::cpu::bias_grad(&mut want, &x);
        assert_close("sum_cols (=)", &down(dev, &y), &f64s(&want), RTOL);

        let mut y = up(dev, &y0);
        reduce::sum_cols(dev, &mut y, &d_x, Some(&d_w), rows, cols, true).unwrap();
        let mut want = y0.clone();
        // db += sum_r g[r] * a[r] with g = x, a = w.
        binary::cpu::mul_backward(&w, &y0, &x, None, Some(&mut want));
        assert_close("sum_cols weighted (+=)", &down(dev, &y), &f64s(&want), RTOL);

        let dy = rng.vec(cols, -1.0, 1.0);
        let mut dx = up(dev, &w);
        reduce_op::cuda::sum_cols_bwd(dev, &mut dx, &up(dev, &dy), rows, cols).unwrap();
        let mut want = w.clone();
        matmul::cpu::add_bias(&mut want, &dy);
        assert_close("sum_cols_bwd", &down(dev, &dx), &f64s(&want), RTOL);
    }
}

/// Row sums and their backward against the CPU GEMM with a ones vector: `y = X 1`, `dX += dy 1^T`.
#[test]
fn sum_rows_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(20);
    for (rows, cols) in [(1, 1), (9, 31), (1003, 33), (5, 300)] {
        let x = rng.vec(rows * cols, -1.0, 1.0);
        let ones = vec![1.0f32; cols];
        let mut y = poisoned(dev, rows);
        reduce_op::cuda::sum_rows_fwd(dev, &mut y, &up(dev, &x), rows, cols).unwrap();
        let mut want = vec![0.0f32; rows];
        matmul::cpu::gemm(rows, 1, cols, &x, false, &ones, false, &mut want, false);
        assert_close("sum_rows_fwd", &down(dev, &y), &f64s(&want), RTOL);

        let dy = rng.vec(rows, -1.0, 1.0);
        let dx0 = rng.vec(rows * cols, -1.0, 1.0);
        let mut dx = up(dev, &dx0);
        reduce_op::cuda::sum_rows_bwd(dev, &mut dx, &up(dev, &dy), rows, cols).unwrap();
        let mut want = dx0.clone();
        matmul::cpu::gemm(rows, cols, 1, &dy, false, &ones, false, &mut want, true);
        assert_close("sum_rows_bwd", &down(dev, &dx), &f64s(&want), RTOL);
    }
}
