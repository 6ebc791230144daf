//! Dense layers (x·w + b) and batched matmul (attention).
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use super::PAR_MIN;
use crate::autodiff::Slots;
use crate::autodiff::{Op, Tape, Var};
use crate::tensor::{Real, Shape};
use crate::{shape_err, Result};
use rayon::prelude::*;

impl<E: Real> Tape<'_, E> {
    /// y[.., M] = x[.., K] · w[K, M] (+ b[M]). Leading axes of x are flattened into rows.
    pub fn matmul(&mut self, x: Var, w: Var, b: Option<Var>) -> Result<Var> {
        let (xs, ws) = (self.shape(x), self.shape(w));
        if ws.rank() != 2 || xs.rank() == 0 || xs.last() != ws.dims()[0] {
            return Err(shape_err!(
                "matmul: x {xs:?} · w {ws:?} (need x[.., K], w[K, M])"
            ));
        }
        let (n, k, m) = (xs.rows(), ws.dims()[0], ws.dims()[1]);
        if let Some(b) = b {
            if self.shape(b).numel() != m {
                return Err(shape_err!(
                    "matmul: bias {:?} does not match {m} outputs",
                    self.shape(b)
                ));
            }
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::matmul(self, x, w, b);
        }
        let mut y = self.alloc_uninit(n * m);
        cpu::gemm(
            n,
            m,
            k,
            self.value(x),
            false,
            self.value(w),
            false,
            &mut y,
            false,
        );
        if let Some(b) = b {
            let bv = self.value(b);
            if y.len() >= PAR_MIN {
                y.par_chunks_mut(512 * m)
                    .for_each(|rows| cpu::add_bias(rows, bv));
            } else {
                cpu::add_bias(&mut y, bv);
            }
        }
        let mut dims = xs.dims().to_vec();
        *dims.last_mut().unwrap() = m;
        let inputs = [x, w, b.unwrap_or(x)];
        Ok(self.push(Shape::new(&dims), y, Op::Matmul { x, w, b }, &inputs))
    }

    /// y[Bt, M, N] = a[Bt, M, K] · b[Bt, K, N], or a · bᵀ with b[Bt, N, K] when `trans_b`.
    pub fn bmm(&mut self, a: Var, b: Var, trans_b: bool) -> Result<Var> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let (da, db) = (sa.dims(), sb.dims());
        let ok = da.len() == 3 && db.len() == 3 && da[0] == db[0];
        let (kb, nb) = if ok && trans_b {
            (db[2], db[1])
        } else if ok {
            (db[1], db[2])
        } else {
            (0, 0)
        };
        if !ok || da[2] != kb {
            return Err(shape_err!("bmm: a {sa:?} · b {sb:?} (trans_b = {trans_b})"));
        }
        let (bt, m, k, n) = (da[0], da[1], da[2], nb);
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::bmm(self, a, b, trans_b);
        }
        let mut y = self.alloc_uninit(bt * m * n);
        let (av, bv) = (self.value(a), self.value(b));
        let body = |(i, yc): (usize, &mut [E])| {
            cpu::gemm(
                m,
                n,
                k,
                &av[i * m * k..],
                false,
                &bv[i * k * n..],
                trans_b,
                yc,
                false,
            )
        };
        if bt * m * n * k >= PAR_MIN * 8 {
            y.par_chunks_mut(m * n).enumerate().for_each(body);
        } else {
            y.chunks_mut(m * n).enumerate().for_each(body);
        }
        Ok(self.push(
            Shape::new(&[bt, m, n]),
            y,
            Op::Bmm { a, b, trans_b },
            &[a, b],
        ))
    }
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    x: Var,
    w: Var,
    b: Option<Var>,
    g: &[E],
    s: &mut Slots<E>,
) {
    let (k, m) = (t.dims(w)[0], t.dims(w)[1]);
    let n = g.len() / m;
    let (mut gx, acc) = s.take_write(x);
    if let Some(gx) = gx.as_deref_mut() {
        cpu::gemm(n, k, m, g, false, t.value(w), true, gx, acc);
    }
    s.put(x, gx);
    let (mut gw, acc) = s.take_write(w);
    if let Some(gw) = gw.as_deref_mut() {
        cpu::gemm(k, m, n, t.value(x), true, g, false, gw, acc);
    }
    s.put(w, gw);
    if let Some(b) = b {
        let mut gb = s.take(b);
        if let Some(gb) = gb.as_deref_mut() {
            cpu::bias_grad(gb, g);
        }
        s.put(b, gb);
    }
}

pub(crate) fn bmm_backward<E: Real>(
    t: &Tape<E>,
    a: Var,
    b: Var,
    trans_b: bool,
    g: &[E],
    s: &mut Slots<E>,
) {
    let (bt, m, k) = (t.dims(a)[0], t.dims(a)[1], t.dims(a)[2]);
    let n = g.len() / (bt * m);
    let (av, bv) = (t.value(a), t.value(b));
    let mut ga = s.take(a);
    if let Some(ga) = ga.as_deref_mut() {
        ga.par_chunks_mut(m * k).enumerate().for_each(|(i, gai)| {
            let gi = &g[i * m * n..];
            // y = a·b: ga = g·bᵀ (b [K,N]); y = a·bᵀ: ga = g·b (b [N,K]).
            cpu::gemm(m, k, n, gi, false, &bv[i * k * n..], !trans_b, gai, true);
        });
    }
    s.put(a, ga);
    let mut gb = s.take(b);
    if let Some(gb) = gb.as_deref_mut() {
        gb.par_chunks_mut(k * n).enumerate().for_each(|(i, gbi)| {
            let (ai, gi) = (&av[i * m * k..], &g[i * m * n..]);
            if trans_b {
                cpu::gemm(n, k, m, gi, true, ai, false, gbi, true); // gb[N,K] = gᵀ·a
            } else {
                cpu::gemm(k, n, m, ai, true, gi, false, gbi, true); // gb[K,N] = aᵀ·g
            }
        });
    }
    s.put(b, gb);
}
