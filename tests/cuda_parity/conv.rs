//! conv2d's launchers (`ops::conv2d::cuda`: im2col / col2im of `conv2d.cu` around the cuBLAS GEMM)
//! against the CPU kernels (`ops::conv2d::cpu`) in f32, in one chunk and in several: a small im2col
//! budget splits the batch, so the chunked path's operand and result copies are checked too.

use crate::gpu::{device, down, poisoned, up, RTOL};
use crate::{assert_close, f64s, Rng};
use koopman::ops::conv2d::{cpu, cuda, Conv2dGeom};

#[test]
fn conv2d_parity_whole_and_chunked() {
    let Some(dev) = device() else { return };
    let mut r = Rng(21);
    // (x, w, stride, padding)
    let cases = [
        ([5, 3, 9, 8], [4, 3, 3, 3], 1, 1),
        ([5, 2, 11, 10], [3, 2, 3, 2], 2, 0),
    ];
    for (xd, wd, s, p) in cases {
        let g = Conv2dGeom::new(&xd, &wd, s, p).unwrap();
        let x = r.vec(g.n() * g.x_len(), -1.0, 1.0);
        let w = r.vec(g.o() * g.ckk(), -1.0, 1.0);
        let b = r.vec(g.o(), -1.0, 1.0);
        let dy = r.vec(g.n() * g.y_len(), -1.0, 1.0);
        let (dx0, dw0, db0) = (
            r.vec(x.len(), -1.0, 1.0),
            r.vec(w.len(), -1.0, 1.0),
            r.vec(b.len(), -1.0, 1.0),
        );
        // The CPU reference, gradients accumulated onto dx0, dw0, db0.
        let mut scratch = vec![0.0f32; 1 << 20];
        let mut y = vec![0.0f32; dy.len()];
        cpu::forward(&g, &x, &w, Some(&b), &mut y, &mut scratch).unwrap();
        let mut dx = dx0.clone();
        cpu::data_grad(&g, &w, &dy, &mut dx, true, &mut scratch).unwrap();
        let (mut dw, mut db) = (dw0.clone(), db0.clone());
        cpu::params_grad(
            &g,
            &x,
            &dy,
            Some((&mut dw, true)),
            Some((&mut db, true)),
            &mut scratch,
        )
        .unwrap();
        // One chunk, then chunks of two samples (three chunks, the last one short).
        for col_max in [cuda::COL_MAX, 2 * g.col_len()] {
            let tag = format!("conv2d x{xd:?} stride {s} pad {p} col_max {col_max}");
            let (xg, wg, bg, dyg) = (up(dev, &x), up(dev, &w), up(dev, &b), up(dev, &dy));
            let mut yg = poisoned(dev, y.len());
            cuda::conv2d_fwd(dev, &mut yg, &xg, &wg, Some(&bg), &g, col_max).unwrap();
            assert_close(&format!("{tag} y"), &down(dev, &yg), &f64s(&y), RTOL);
            let mut dxg = up(dev, &dx0);
            cuda::conv2d_bwd_data(dev, &mut dxg, true, &wg, &dyg, &g, col_max).unwrap();
            assert_close(&format!("{tag} dx"), &down(dev, &dxg), &f64s(&dx), RTOL);
            let (mut dwg, mut dbg) = (up(dev, &dw0), up(dev, &db0));
            let (dwo, dbo) = (Some((&mut dwg, true)), Some((&mut dbg, true)));
            cuda::conv2d_bwd_params(dev, dwo, dbo, &xg, &dyg, &g, col_max).unwrap();
            assert_close(&format!("{tag} dw"), &down(dev, &dwg), &f64s(&dw), RTOL);
            assert_close(&format!("{tag} db"), &down(dev, &dbg), &f64s(&db), RTOL);
            // Overwriting (acc = false) ignores the buffers' contents.
            let mut dxg = poisoned(dev, dx0.len());
            cuda::conv2d_bwd_data(dev, &mut dxg, false, &wg, &dyg, &g, col_max).unwrap();
            let want: Vec<f64> = dx.iter().zip(&dx0).map(|(a, b)| (a - b) as f64).collect();
            assert_close(
                &format!("{tag} dx overwrite"),
                &down(dev, &dxg),
                &want,
                1e-3,
            );
            let (mut dwg, mut dbg) = (poisoned(dev, dw0.len()), poisoned(dev, db0.len()));
            let (dwo, dbo) = (Some((&mut dwg, false)), Some((&mut dbg, false)));
            cuda::conv2d_bwd_params(dev, dwo, dbo, &xg, &dyg, &g, col_max).unwrap();
            let want: Vec<f64> = dw.iter().zip(&dw0).map(|(a, b)| (a - b) as f64).collect();
            assert_close(
                &format!("{tag} dw overwrite"),
                &down(dev, &dwg),
                &want,
                1e-3,
            );
        }
    }
}
