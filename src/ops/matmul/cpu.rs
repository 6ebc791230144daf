//! CPU GEMM through the `gemm` crate (AVX-512 microkernels chosen at run time, rayon threads).
use super::{Gemm, MatmulKernel};
use crate::backend::cpu::PAR_MIN;
use crate::backend::Cpu;
use crate::ops::unary::{cpu::f, Unary};
use crate::tensor::Real;
use crate::util::simd;
use crate::Result;
use gemm::Parallelism;
use rayon::prelude::*;

/// C[m,n] (+)= op(A)·op(B), all row-major. `a_t`: A is stored as [k,m]; `b_t`: B is stored as [n,k].
/// Large products use the rayon pool.
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
    gemm_on(true, m, n, k, a, a_t, b, b_t, c, acc)
}

/// [`gemm`] on the rayon pool (`threads`) or on the calling thread only: callers that already split
/// their work over the pool pass `false` (a nested parallel GEMM would only add fork/join overhead).
#[allow(clippy::too_many_arguments)]
pub fn gemm_on<E: Real>(
    threads: bool,
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
    let par = if threads && m * n * k >= 1 << 18 {
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
    simd::run(
        #[inline(always)]
        || {
            for row in y.chunks_exact_mut(b.len()) {
                row.iter_mut().zip(b).for_each(|(y, b)| *y += *b);
            }
        },
    )
}

/// y[r, :] = f(y[r, :] + b) for every row; `b` and `act` optional. One monomorphic loop per
/// activation so each vectorises.
pub fn bias_act<E: Real>(y: &mut [E], b: Option<&[E]>, act: Option<Unary>, m: usize) {
    macro_rules! each {
        ($k:expr) => {
            simd::run(
                #[inline(always)]
                || match b {
                    Some(b) => y.chunks_exact_mut(m).for_each(|row| {
                        row.iter_mut().zip(b).for_each(|(y, b)| *y = f($k, *y + *b))
                    }),
                    None => y.iter_mut().for_each(|y| *y = f($k, *y)),
                },
            )
        };
    }
    match act {
        None => {
            if let Some(b) = b {
                add_bias(y, b)
            }
        }
        Some(Unary::Relu) => each!(Unary::Relu),
        Some(Unary::Elu) => each!(Unary::Elu),
        Some(Unary::Gelu) => each!(Unary::Gelu),
        Some(Unary::Tanh) => each!(Unary::Tanh),
        Some(Unary::Sigmoid) => each!(Unary::Sigmoid),
        Some(Unary::Silu) => each!(Unary::Silu),
        Some(Unary::Exp) => each!(Unary::Exp),
        Some(Unary::Softplus) => each!(Unary::Softplus),
    }
}

/// Most output floats per row block of the fused dense layer: a block's y (≤ 512 KiB) stays in L2
/// between its GEMM and its epilogue, and each block packs the weights once, so larger blocks pack
/// less (512 KiB planned 3–5% faster than 256 KiB).
const LINEAR_BLOCK: usize = 1 << 17;

/// y[n, m] = f(x[n, k]·w[k, m] + b), a block of rows at a time: each block's GEMM runs on one
/// thread and its epilogue follows while the block is in cache; blocks run on the rayon pool.
/// The rows split into an even number of equal blocks (two cores share them evenly), a rule of the
/// sizes alone, so the result does not depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub fn linear<E: Real>(
    x: &[E],
    w: &[E],
    b: Option<&[E]>,
    act: Option<Unary>,
    y: &mut [E],
    n: usize,
    k: usize,
    m: usize,
) {
    let most = (LINEAR_BLOCK / m.max(1)).max(8);
    let blocks = n.div_ceil(most).next_multiple_of(2);
    let rows = n.div_ceil(blocks).max(8);
    let y = &mut y[..n * m];
    let block = |(i, yb): (usize, &mut [E])| {
        let r = yb.len() / m;
        gemm_on(
            false,
            r,
            m,
            k,
            &x[i * rows * k..],
            false,
            w,
            false,
            yb,
            false,
        );
        bias_act(yb, b, act, m);
    };
    if n > most && n * m * k >= 1 << 18 {
        y.par_chunks_mut(rows * m).enumerate().for_each(block);
    } else {
        gemm(n, m, k, x, false, w, false, y, false);
        bias_act(y, b, act, m);
    }
}

/// db += Σ_rows g[r, :]. Large cases sum fixed blocks of rows in parallel (contiguous reads) and add
/// the block sums in order, so the result does not depend on the thread count.
pub fn bias_grad<E: Real>(db: &mut [E], g: &[E]) {
    let m = db.len();
    if m == 0 {
        return;
    }
    let col_sums = |d: &mut [E], g: &[E]| {
        simd::run(
            #[inline(always)]
            || {
                for row in g.chunks_exact(m) {
                    d.iter_mut().zip(row).for_each(|(d, g)| *d += *g);
                }
            },
        )
    };
    const ROWS: usize = 256;
    if g.len() >= PAR_MIN && g.len() / m > ROWS {
        let parts: Vec<Vec<E>> = g
            .par_chunks(ROWS * m)
            .map(|blk| {
                let mut p = vec![E::zero(); m];
                col_sums(&mut p, blk);
                p
            })
            .collect();
        for p in parts {
            db.iter_mut().zip(&p).for_each(|(d, v)| *d += *v);
        }
    } else {
        col_sums(db, g);
    }
}

impl<E: Real> MatmulKernel for Cpu<E> {
    fn gemm(&self, g: &Gemm, a: &Vec<E>, b: &Vec<E>, c: &mut Vec<E>) -> Result<()> {
        let (m, n, k) = (g.m, g.n, g.k);
        let body = |(i, ci): (usize, &mut [E])| {
            let (a, b) = (&a[i * g.stride_a..], &b[i * g.stride_b..]);
            gemm(m, n, k, a, g.trans_a, b, g.trans_b, ci, g.acc)
        };
        let c = &mut c[..g.batch * g.stride_c];
        if g.batch <= 1 {
            body((0, c));
        } else if g.batch * m * n * k >= PAR_MIN * 8 {
            c.par_chunks_mut(g.stride_c).enumerate().for_each(body);
        } else {
            c.chunks_mut(g.stride_c).enumerate().for_each(body);
        }
        Ok(())
    }
    fn add_bias(&self, y: &mut Vec<E>, b: &Vec<E>, rows: usize, m: usize) -> Result<()> {
        let (y, b) = (&mut y[..rows * m], &b[..m]);
        if y.len() >= PAR_MIN {
            y.par_chunks_mut(512 * m).for_each(|rows| add_bias(rows, b));
        } else {
            add_bias(y, b);
        }
        Ok(())
    }
    fn bias_grad(&self, g: &Vec<E>, db: &mut Vec<E>, rows: usize, m: usize) -> Result<()> {
        bias_grad(&mut db[..m], &g[..rows * m]);
        Ok(())
    }
    fn bias_act(
        &self,
        y: &mut Vec<E>,
        b: Option<&Vec<E>>,
        act: Option<Unary>,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        let (y, b) = (&mut y[..rows * m], b.map(|b| &b[..m]));
        if y.len() >= PAR_MIN {
            y.par_chunks_mut(512 * m)
                .for_each(|rows| bias_act(rows, b, act, m));
        } else {
            bias_act(y, b, act, m);
        }
        Ok(())
    }
    fn linear_fwd(
        &self,
        x: &Vec<E>,
        w: &Vec<E>,
        b: Option<&Vec<E>>,
        act: Option<Unary>,
        y: &mut Vec<E>,
        (n, k, m): (usize, usize, usize),
    ) -> Result<()> {
        let b = b.map(|b| &b[..m]);
        linear(&x[..n * k], &w[..k * m], b, act, y, n, k, m);
        Ok(())
    }
}
