//! Elementwise kernels (`elementwise.cu`) against `ops::unary::cpu`, `ops::binary::cpu` and the
//! tape's add and scale, in f32. Sizes straddle the 256-thread block: 1, 255, 257, and larger.

use crate::gpu::{device, down, poisoned, up, RTOL};
use crate::{assert_close, assert_close_tol, f64s, plus, tape_op, Rng};
use koopman::backend::cuda::launch::elementwise as el;
use koopman::ops::binary;
use koopman::ops::unary::{self, Unary};

const SIZES: [usize; 5] = [1, 255, 257, 4099, 100_003];

/// `(rows, nb)`: `a` is `[rows, nb]`, `b` is `[nb]` repeated over rows (rows 1: no broadcast).
const BROADCASTS: [(usize, usize); 6] =
    [(1, 1), (3, 37), (1003, 37), (17, 300), (257, 1), (1, 4099)];

#[test]
fn unary_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(21);
    for kind in Unary::ALL {
        for n in SIZES {
            let name = kind.name();
            let x = rng.vec(n, -4.0, 4.0);
            let d_x = up(dev, &x);
            let mut y = poisoned(dev, n);
            unary::cuda::unary_fwd(dev, kind, &mut y, &d_x, n).unwrap();
            let mut want = vec![0.0f32; n];
            unary::cpu::forward(kind, &x, &mut want);
            let got = down(dev, &y);
            if kind == Unary::Gelu {
                // tanhf on the GPU and tanh on the CPU may differ by an ulp, and in gelu's
                // negative tail (1 + tanh) cancels: judged on a fixed 1e-5 absolute term.
                assert_close_tol(&format!("{name}_fwd n={n}"), &got, &f64s(&want), RTOL, 1e-5);
            } else {
                assert_close(&format!("{name}_fwd n={n}"), &got, &f64s(&want), RTOL);
            }

            let dy = rng.vec(n, -1.0, 1.0);
            let dx0 = rng.vec(n, -1.0, 1.0);
            let mut dx = up(dev, &dx0);
            // The GPU backward gets its own forward output (tanh and sigmoid differentiate from
            // it), as the CPU op does (`Unary::uses_output`).
            unary::cuda::unary_bwd(dev, kind, &mut dx, &d_x, &y, &up(dev, &dy), n).unwrap();
            let mut want = dx0.clone();
            let mut yh = vec![0.0; n];
            unary::cpu::forward(kind, &x, &mut yh);
            let xy = if kind.uses_output() { &yh } else { &x };
            unary::cpu::backward_acc(kind, xy, &dy, &mut want, true);
            let got = down(dev, &dx);
            if kind == Unary::Gelu {
                assert_close_tol(&format!("{name}_bwd n={n}"), &got, &f64s(&want), RTOL, 1e-5);
            } else {
                assert_close(&format!("{name}_bwd n={n}"), &got, &f64s(&want), RTOL);
            }
        }
    }
}

#[test]
fn add_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(22);
    for (rows, nb) in BROADCASTS {
        let n = rows * nb;
        let (a, b) = (rng.vec(n, -1.0, 1.0), rng.vec(nb, -1.0, 1.0));
        let dy = rng.vec(n, -1.0, 1.0);
        // The tape's add: forward through binary::cpu::add, da = g, db = binary::cpu::reduce_repeats(g).
        let (wy, grads) = tape_op(&[(&[rows, nb], &a), (&[nb], &b)], &dy, |t, v| {
            t.add(v[0], v[1])
        });
        let (d_a, d_b) = (up(dev, &a), up(dev, &b));
        let mut y = poisoned(dev, n);
        binary::cuda::add_fwd(dev, &mut y, &d_a, &d_b, n, nb).unwrap();
        assert_close(
            &format!("add_fwd {rows}x{nb}"),
            &down(dev, &y),
            &f64s(&wy),
            RTOL,
        );

        let (da0, db0) = (rng.vec(n, -1.0, 1.0), rng.vec(nb, -1.0, 1.0));
        let (mut da, mut db) = (up(dev, &da0), up(dev, &db0));
        let d_dy = up(dev, &dy);
        binary::cuda::add_bwd(dev, Some(&mut da), Some(&mut db), &d_dy, n, nb).unwrap();
        assert_close(
            &format!("add_bwd da {rows}x{nb}"),
            &down(dev, &da),
            &plus(&da0, &f64s(&grads[0])),
            RTOL,
        );
        assert_close(
            &format!("add_bwd db {rows}x{nb}"),
            &down(dev, &db),
            &plus(&db0, &f64s(&grads[1])),
            RTOL,
        );
        // One operand frozen: the other accumulates a second time, the frozen one is untouched.
        binary::cuda::add_bwd(dev, None, Some(&mut db), &d_dy, n, nb).unwrap();
        let twice = |g: &[f32]| g.iter().map(|&v| 2.0 * v as f64).collect::<Vec<_>>();
        assert_close(
            &format!("add_bwd db (da None) {rows}x{nb}"),
            &down(dev, &db),
            &plus(&db0, &twice(&grads[1])),
            RTOL,
        );
        binary::cuda::add_bwd(dev, Some(&mut da), None, &d_dy, n, nb).unwrap();
        assert_close(
            &format!("add_bwd da (db None) {rows}x{nb}"),
            &down(dev, &da),
            &plus(&da0, &twice(&grads[0])),
            RTOL,
        );
    }
    // Shape errors come back as Err, before any launch.
    let (a, b) = (up(dev, &[1.0; 10]), up(dev, &[1.0; 3]));
    let mut y = poisoned(dev, 10);
    assert!(
        binary::cuda::add_fwd(dev, &mut y, &a, &b, 10, 3).is_err(),
        "3 does not tile 10"
    );
    assert!(
        binary::cuda::add_fwd(dev, &mut y, &a, &b, 12, 3).is_err(),
        "buffers too small"
    );
    assert!(
        binary::cuda::add_bwd(dev, None, None, &a, 10, 0).is_err(),
        "empty broadcast operand"
    );
}

#[test]
fn mul_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(23);
    for (rows, nb) in BROADCASTS {
        let n = rows * nb;
        let (a, b) = (rng.vec(n, -1.0, 1.0), rng.vec(nb, -1.0, 1.0));
        let (d_a, d_b) = (up(dev, &a), up(dev, &b));
        let mut y = poisoned(dev, n);
        binary::cuda::mul_fwd(dev, &mut y, &d_a, &d_b, n, nb).unwrap();
        let mut want = vec![0.0f32; n];
        binary::cpu::mul(&a, &b, &mut want);
        assert_close(
            &format!("mul_fwd {rows}x{nb}"),
            &down(dev, &y),
            &f64s(&want),
            RTOL,
        );

        let dy = rng.vec(n, -1.0, 1.0);
        let (da0, db0) = (rng.vec(n, -1.0, 1.0), rng.vec(nb, -1.0, 1.0));
        let (mut da, mut db) = (up(dev, &da0), up(dev, &db0));
        let d_dy = up(dev, &dy);
        binary::cuda::mul_bwd(dev, Some(&mut da), Some(&mut db), &d_a, &d_b, &d_dy, n, nb).unwrap();
        let (mut wa, mut wb) = (da0.clone(), db0.clone());
        binary::cpu::mul_backward(&a, &b, &dy, Some(&mut wa), Some(&mut wb));
        assert_close(
            &format!("mul_bwd da {rows}x{nb}"),
            &down(dev, &da),
            &f64s(&wa),
            RTOL,
        );
        assert_close(
            &format!("mul_bwd db {rows}x{nb}"),
            &down(dev, &db),
            &f64s(&wb),
            RTOL,
        );
        // One operand frozen at a time.
        binary::cuda::mul_bwd(dev, None, Some(&mut db), &d_a, &d_b, &d_dy, n, nb).unwrap();
        binary::cpu::mul_backward(&a, &b, &dy, None, Some(&mut wb));
        assert_close(
            &format!("mul_bwd db (da None) {rows}x{nb}"),
            &down(dev, &db),
            &f64s(&wb),
            RTOL,
        );
        binary::cuda::mul_bwd(dev, Some(&mut da), None, &d_a, &d_b, &d_dy, n, nb).unwrap();
        binary::cpu::mul_backward(&a, &b, &dy, Some(&mut wa), None);
        assert_close(
            &format!("mul_bwd da (db None) {rows}x{nb}"),
            &down(dev, &da),
            &f64s(&wa),
            RTOL,
        );
    }
}

#[test]
fn scale_parity() {
    let Some(dev) = device() else { return };
    let mut rng = Rng(24);
    let k = -1.7f32;
    for n in SIZES {
        let x = rng.vec(n, -1.0, 1.0);
        let dy = rng.vec(n, -1.0, 1.0);
        let (wy, grads) = tape_op(&[(&[n], &x)], &dy, |t, v| Ok(t.scale(v[0], k)));
        let d_x = up(dev, &x);
        let mut y = poisoned(dev, n);
        binary::cuda::scale_fwd(dev, &mut y, &d_x, k, n).unwrap();
        assert_close(
            &format!("scale_fwd n={n}"),
            &down(dev, &y),
            &f64s(&wy),
            RTOL,
        );

        let dx0 = rng.vec(n, -1.0, 1.0);
        let mut dx = up(dev, &dx0);
        binary::cuda::scale_bwd(dev, &mut dx, &up(dev, &dy), k, n).unwrap();
        assert_close(
            &format!("scale_bwd n={n}"),
            &down(dev, &dx),
            &plus(&dx0, &f64s(&grads[0])),
            RTOL,
        );

        // In place, host scalar (optim.cu): the same values as the out-of-place forward.
        let mut xi = up(dev, &x);
        el::scale_inplace(dev, &mut xi, k, n).unwrap();
        assert_close(
            &format!("scale_inplace n={n}"),
            &down(dev, &xi),
            &f64s(&wy),
            RTOL,
        );
    }
}
