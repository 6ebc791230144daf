//! CPU GEMM through the `gemm` crate (AVX-512 microkernels chosen at run time, rayon threads).
use crate::ops::PAR_MIN;
use crate::tensor::Real;
use gemm::Parallelism;
use rayon::prelude::*;

/// C[m,n] (+)= op(A)·op(B), all row-major. `a_t`: A is stored as [k,m]; `b_t`: B is stored as [n,k].
#[allow(clippy::too_many_arguments)]
pub fn gemm<E: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[E],
    a_t: bool,
    b: &[E],
    b_t: bool,
    c: &mut [E],
    acc: bool,
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm operand too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !acc {
            c[..m * n].iter_mut().for_each(|x| *x = E::zero());
        }
        return;
    }
    let (a_rs, a_cs) = if a_t {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    let par = if m * n * k >= 1 << 18 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above bound every index the strides can reach.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            acc,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            E::one(),
            E::one(),
            false,
            false,
            false,
            par,
        )
    }
}

/// y[r, :] += b for every row.
pub fn add_bias<E: Real>(y: &mut [E], b: &[E]) {
    for row in y.chunks_exact_mut(b.len()) {
        row.iter_mut().zip(b).for_each(|(y, b)| *y += *b);
    }
}

/// db += Σ_rows g[r, :]. Large cases split the columns over threads; each column is still summed in
/// row order, so the result does not depend on the thread count.
pub fn bias_grad<E: Real>(db: &mut [E], g: &[E]) {
    let m = db.len();
    if m == 0 {
        return;
    }
    const COLS: usize = 128;
    if g.len() >= PAR_MIN && m >= 2 * COLS {
        db.par_chunks_mut(COLS).enumerate().for_each(|(j, d)| {
            let cols = j * COLS..j * COLS + d.len();
            for row in g.chunks_exact(m) {
                d.iter_mut()
                    .zip(&row[cols.clone()])
                    .for_each(|(d, g)| *d += *g);
            }
        });
    } else {
        for row in g.chunks_exact(m) {
            db.iter_mut().zip(row).for_each(|(d, g)| *d += *g);
        }
    }
}
