//! Dense layers and batched matmul on cuBLAS (row-major by operand swap), in the device's GEMM
//! precision (FP32 by default; TF32 or bf16 when opted in); the bias is a separate in-place pass
//! after the GEMM, its gradient a deterministic column sum.
use crate::autodiff::{DevBuf, DevSlots, Op, Tape, Var};
use crate::backend::cuda::launch::elementwise::bias_add;
use crate::backend::cuda::launch::gemm::{gemm, RowGemm};
use crate::backend::cuda::launch::reduce::sum_cols;
use crate::tensor::{Real, Shape};
use crate::Result;

/// `RowGemm` that accumulates into its output (the backward `+=` contract).
fn acc(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool) -> RowGemm {
    RowGemm {
        trans_a,
        trans_b,
        beta: 1.0,
        ..RowGemm::new(m, n, k)
    }
}

pub(crate) fn matmul<E: Real>(t: &mut Tape<E>, x: Var, w: Var, b: Option<Var>) -> Result<Var> {
    let (n, k, m) = (t.shape(x).rows(), t.dims(w)[0], t.dims(w)[1]);
    let mut dims = t.dims(x).to_vec();
    *dims.last_mut().expect("checked rank ≥ 1") = m;
    let shape = Shape::new(&dims);
    let mut y = t.dev_alloc(n * m)?;
    let dev = t.dev()?;
    let (xv, wv) = (t.dev_value(x)?, t.dev_value(w)?);
    gemm(
        dev,
        &RowGemm::new(n, m, k),
        1,
        (xv, 0),
        (wv, 0),
        (&mut y, 0),
    )?;
    if let Some(b) = b {
        bias_add(dev, &mut y, t.dev_value(b)?, n * m, m)?;
    }
    let inputs = [x, w, b.unwrap_or(x)];
    Ok(t.push_dev(shape, y, Vec::new(), Op::Matmul { x, w, b }, &inputs))
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    x: Var,
    w: Var,
    b: Option<Var>,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (n, k, m) = (t.shape(x).rows(), t.dims(w)[0], t.dims(w)[1]);
    let dev = t.dev()?;
    if let Some(mut gx) = s.take(x)? {
        // dx[n, k] += g[n, m] · wᵀ (w stored [k, m])
        gemm(
            dev,
            &acc(n, k, m, false, true),
            1,
            (g, 0),
            (t.dev_value(w)?, 0),
            (&mut gx, 0),
        )?;
        s.put(x, Some(gx))?;
    }
    if let Some(mut gw) = s.take(w)? {
        // dw[k, m] += xᵀ · g (x stored [n, k])
        gemm(
            dev,
            &acc(k, m, n, true, false),
            1,
            (t.dev_value(x)?, 0),
            (g, 0),
            (&mut gw, 0),
        )?;
        s.put(w, Some(gw))?;
    }
    if let Some(b) = b {
        if let Some(mut gb) = s.take(b)? {
            sum_cols(dev, &mut gb, g, None, n, m, true)?;
            s.put(b, Some(gb))?;
        }
    }
    Ok(())
}

/// (Bt, M, K, N) of a · op(b).
fn bmm_dims<E: Real>(t: &Tape<E>, a: Var, b: Var, trans_b: bool) -> (usize, usize, usize, usize) {
    let (da, db) = (t.dims(a), t.dims(b));
    let n = if trans_b { db[1] } else { db[2] };
    (da[0], da[1], da[2], n)
}

pub(crate) fn bmm<E: Real>(t: &mut Tape<E>, a: Var, b: Var, trans_b: bool) -> Result<Var> {
    let (bt, m, k, n) = bmm_dims(t, a, b, trans_b);
    let mut y = t.dev_alloc(bt * m * n)?;
    let g = RowGemm {
        trans_b,
        ..RowGemm::new(m, n, k)
    };
    gemm(
        t.dev()?,
        &g,
        bt,
        (t.dev_value(a)?, m * k),
        (t.dev_value(b)?, k * n),
        (&mut y, m * n),
    )?;
    let shape = Shape::new(&[bt, m, n]);
    Ok(t.push_dev(shape, y, Vec::new(), Op::Bmm { a, b, trans_b }, &[a, b]))
}

pub(crate) fn bmm_backward<E: Real>(
    t: &Tape<E>,
    a: Var,
    b: Var,
    trans_b: bool,
    g: &DevBuf,
    s: &mut DevSlots,
) -> Result<()> {
    let (bt, m, k, n) = bmm_dims(t, a, b, trans_b);
    let dev = t.dev()?;
    if let Some(mut ga) = s.take(a)? {
        // da[M, K] += g[M, N] · op(b)ᵀ: b stored [K, N] is op(b)ᵀ transposed; stored [N, K] is op(b)ᵀ.
        gemm(
            dev,
            &acc(m, k, n, false, !trans_b),
            bt,
            (g, m * n),
            (t.dev_value(b)?, k * n),
            (&mut ga, m * k),
        )?;
        s.put(a, Some(ga))?;
    }
    if let Some(mut gb) = s.take(b)? {
        let av = t.dev_value(a)?;
        if trans_b {
            // db[N, K] += gᵀ[N, M] · a[M, K]
            gemm(
                dev,
                &acc(n, k, m, true, false),
                bt,
                (g, m * n),
                (av, m * k),
                (&mut gb, n * k),
            )?;
        } else {
            // db[K, N] += aᵀ[K, M] · g[M, N]
            gemm(
                dev,
                &acc(k, n, m, true, false),
                bt,
                (av, m * k),
                (g, m * n),
                (&mut gb, k * n),
            )?;
        }
        s.put(b, Some(gb))?;
    }
    Ok(())
}
