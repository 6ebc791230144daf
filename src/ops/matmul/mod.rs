//! Dense layers (x·w + b, and f(x·w + b) fused where no gradient is needed) and batched matmul
//! (attention).
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::ops::unary::{Unary, UnaryKernel};
use crate::tensor::Shape;
use crate::{shape_err, Result};

/// `batch` row-major products C[m, n] (+)= op(A)·op(B), matrix i of each operand at i × its
/// stride. `trans_a`: A is stored [k, m]; `trans_b`: B is stored [n, k]; `acc`: add into C.
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub acc: bool,
    pub stride_a: usize,
    pub stride_b: usize,
    pub stride_c: usize,
}

impl Gemm {
    /// One product C[m, n] = A[m, k]·B[k, n].
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        Gemm {
            batch: 1,
            m,
            n,
            k,
            trans_a: false,
            trans_b: false,
            acc: false,
            stride_a: m * k,
            stride_b: k * n,
            stride_c: m * n,
        }
    }
    pub fn trans(self, trans_a: bool, trans_b: bool) -> Self {
        Gemm {
            trans_a,
            trans_b,
            ..self
        }
    }
    pub fn acc(self, acc: bool) -> Self {
        Gemm { acc, ..self }
    }
    /// `batch` products with dense strides.
    pub fn batched(self, batch: usize) -> Self {
        Gemm { batch, ..self }
    }
}

/// The dense-algebra kernels of a backend.
pub trait MatmulKernel: Backend {
    fn gemm(&self, g: &Gemm, a: &Self::Buf, b: &Self::Buf, c: &mut Self::Buf) -> Result<()>;
    /// y[r, j] += b[j] over `rows` rows of `m`.
    fn add_bias(&self, y: &mut Self::Buf, b: &Self::Buf, rows: usize, m: usize) -> Result<()>;
    /// db[j] += Σ_r g[r, j].
    fn bias_grad(&self, g: &Self::Buf, db: &mut Self::Buf, rows: usize, m: usize) -> Result<()>;
    /// y[r, j] = f(y[r, j] + b[j]) in place over `rows` rows of `m` (either part optional): a dense
    /// layer's epilogue in one pass.
    fn bias_act(
        &self,
        y: &mut Self::Buf,
        b: Option<&Self::Buf>,
        act: Option<Unary>,
        rows: usize,
        m: usize,
    ) -> Result<()>;
    /// y[n, m] = f(x[n, k]·w[k, m] + b): the GEMM, then [`MatmulKernel::bias_act`]. The CPU
    /// overrides it to run the epilogue on each block of rows while the block is still in cache.
    #[allow(clippy::too_many_arguments)]
    fn linear_fwd(
        &self,
        x: &Self::Buf,
        w: &Self::Buf,
        b: Option<&Self::Buf>,
        act: Option<Unary>,
        y: &mut Self::Buf,
        (n, k, m): (usize, usize, usize),
    ) -> Result<()> {
        self.gemm(&Gemm::new(n, m, k), x, w, y)?;
        if b.is_some() || act.is_some() {
            self.bias_act(y, b, act, n, m)?;
        }
        Ok(())
    }
}

impl<B: MatmulKernel> Tape<'_, B> {
    /// y[.., M] = x[.., K] · w[K, M] (+ b[M]). Leading axes of x are flattened into rows.
    pub fn matmul(&mut self, x: Var, w: Var, b: Option<Var>) -> Result<Var> {
        let (n, k, m, shape) = self.dense_dims("matmul", x, w, b)?;
        let mut y = self.alloc(n * m)?;
        let be = self.backend();
        be.gemm(&Gemm::new(n, m, k), self.buf(x)?, self.buf(w)?, &mut y)?;
        if let Some(b) = b {
            be.add_bias(&mut y, self.buf(b)?, n, m)?;
        }
        let inputs = [x, w, b.unwrap_or(x)];
        Ok(self.push(shape, y, Matmul { x, w, b }, &inputs))
    }

    /// f(x·w + b): a dense layer and its activation (none when `act` is None). Where a gradient
    /// can flow (a recording tape and an input that needs one) it is [`Tape::matmul`] then
    /// [`Tape::unary`], with their backward rules; elsewhere (planning, targets) it is one fused
    /// op, [`MatmulKernel::linear_fwd`], that saves a read and a write of y per bias and
    /// activation. The two agree to rounding (tests/ops.rs).
    pub fn linear(&mut self, x: Var, w: Var, b: Option<Var>, act: Option<Unary>) -> Result<Var>
    where
        B: UnaryKernel,
    {
        let differentiable = self.grad_enabled()
            && [Some(x), Some(w), b]
                .into_iter()
                .flatten()
                .any(|v| self.needs_grad(v));
        if differentiable {
            let y = self.matmul(x, w, b)?;
            return Ok(match act {
                Some(kind) => self.unary(y, kind),
                None => y,
            });
        }
        let (n, k, m, shape) = self.dense_dims("linear", x, w, b)?;
        let mut y = self.alloc(n * m)?;
        let bb = match b {
            Some(b) => Some(self.buf(b)?),
            None => None,
        };
        self.backend()
            .linear_fwd(self.buf(x)?, self.buf(w)?, bb, act, &mut y, (n, k, m))?;
        Ok(self.push_value("linear", shape, y))
    }

    /// A dense layer's sizes: rows n, inputs k, outputs m, and the output shape x[.., M]; checks
    /// x[.., K] · w[K, M] and a bias of M.
    fn dense_dims(
        &self,
        op: &str,
        x: Var,
        w: Var,
        b: Option<Var>,
    ) -> Result<(usize, usize, usize, Shape)> {
        let (xs, ws) = (self.shape(x), self.shape(w));
        if ws.rank() != 2 || xs.rank() == 0 || xs.last() != ws.dims()[0] {
            return Err(shape_err!(
                "{op}: x {xs:?} · w {ws:?} (need x[.., K], w[K, M])"
            ));
        }
        let (n, k, m) = (xs.rows(), ws.dims()[0], ws.dims()[1]);
        if let Some(b) = b {
            if self.shape(b).numel() != m {
                return Err(shape_err!(
                    "{op}: bias {:?} does not match {m} outputs",
                    self.shape(b)
                ));
            }
        }
        let mut dims = xs.dims().to_vec();
        *dims.last_mut().expect("rank checked above") = m;
        Ok((n, k, m, Shape::new(&dims)))
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
        let mut y = self.alloc(bt * m * n)?;
        let g = Gemm::new(m, n, k).trans(false, trans_b).batched(bt);
        self.backend()
            .gemm(&g, self.buf(a)?, self.buf(b)?, &mut y)?;
        let shape = Shape::new(&[bt, m, n]);
        Ok(self.push(shape, y, Bmm { a, b, trans_b }, &[a, b]))
    }
}

struct Matmul {
    x: Var,
    w: Var,
    b: Option<Var>,
}

impl<B: MatmulKernel> Backward<B> for Matmul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (x, w) = (self.x, self.w);
        let (n, k, m) = (t.shape(x).rows(), t.dims(w)[0], t.dims(w)[1]);
        if let (Some(mut gx), acc) = s.take_write(x)? {
            // dx[n, k] (+)= g[n, m] · wᵀ (w stored [k, m])
            let mm = Gemm::new(n, k, m).trans(false, true).acc(acc);
            s.backend().gemm(&mm, g, t.buf(w)?, &mut gx)?;
            s.put(x, Some(gx))?;
        }
        if let (Some(mut gw), acc) = s.take_write(w)? {
            // dw[k, m] (+)= xᵀ · g (x stored [n, k])
            let mm = Gemm::new(k, m, n).trans(true, false).acc(acc);
            s.backend().gemm(&mm, t.buf(x)?, g, &mut gw)?;
            s.put(w, Some(gw))?;
        }
        if let Some(b) = self.b {
            if let Some(mut gb) = s.take(b)? {
                s.backend().bias_grad(g, &mut gb, n, m)?;
                s.put(b, Some(gb))?;
            }
        }
        Ok(())
    }
}

struct Bmm {
    a: Var,
    b: Var,
    trans_b: bool,
}

impl<B: MatmulKernel> Backward<B> for Bmm {
    fn name(&self) -> &'static str {
        "bmm"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (a, b, trans_b) = (self.a, self.b, self.trans_b);
        let (bt, m, k) = (t.dims(a)[0], t.dims(a)[1], t.dims(a)[2]);
        let n = if trans_b { t.dims(b)[1] } else { t.dims(b)[2] };
        let strided = |mm: Gemm, sa, sb, sc| Gemm {
            stride_a: sa,
            stride_b: sb,
            stride_c: sc,
            ..mm.batched(bt)
        };
        if let (Some(mut ga), acc) = s.take_write(a)? {
            // y = a·b: ga = g·bᵀ (b [K,N]); y = a·bᵀ: ga = g·b (b [N,K]).
            let mm = Gemm::new(m, k, n).trans(false, !trans_b).acc(acc);
            let mm = strided(mm, m * n, k * n, m * k);
            s.backend().gemm(&mm, g, t.buf(b)?, &mut ga)?;
            s.put(a, Some(ga))?;
        }
        if let (Some(mut gb), acc) = s.take_write(b)? {
            let av = t.buf(a)?;
            if trans_b {
                // gb[N, K] = gᵀ · a
                let mm = strided(
                    Gemm::new(n, k, m).trans(true, false).acc(acc),
                    m * n,
                    m * k,
                    n * k,
                );
                s.backend().gemm(&mm, g, av, &mut gb)?;
            } else {
                // gb[K, N] = aᵀ · g
                let mm = strided(
                    Gemm::new(k, n, m).trans(true, false).acc(acc),
                    m * k,
                    m * n,
                    k * n,
                );
                s.backend().gemm(&mm, av, g, &mut gb)?;
            }
            s.put(b, Some(gb))?;
        }
        Ok(())
    }
}
