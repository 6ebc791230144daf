//! Element-wise activations: f(x) and f'(x).
use super::{Unary, UnaryKernel};
use crate::backend::Cpu;
use crate::ops::PAR_MIN;
use crate::tensor::Real;
use crate::util::simd;
use crate::Result;
use rayon::prelude::*;

#[inline(always)]
fn sigmoid<E: Real>(x: E) -> E {
    E::one() / (E::one() + (-x).fast_exp())
}

const GELU_C: f64 = 0.797_884_560_802_865_4; // sqrt(2/pi)

#[inline(always)]
pub fn f<E: Real>(kind: Unary, x: E) -> E {
    match kind {
        Unary::Relu => x.max(E::zero()),
        Unary::Elu => {
            if x > E::zero() {
                x
            } else {
                x.fast_exp_m1()
            }
        }
        Unary::Gelu => {
            let c = E::of(GELU_C);
            E::of(0.5) * x * (E::one() + (c * (x + E::of(0.044715) * x * x * x)).fast_tanh())
        }
        Unary::Tanh => x.fast_tanh(),
        Unary::Sigmoid => sigmoid(x),
        Unary::Silu => x * sigmoid(x),
        Unary::Exp => x.fast_exp(),
        Unary::Softplus => x.max(E::zero()) + (-x.abs()).fast_exp().ln_1p(),
    }
}

/// f'(·) from the value the backward reads ([`Unary::uses_output`]: x, or y for tanh and
/// sigmoid, whose derivatives are cheapest from their output).
#[inline(always)]
pub fn df<E: Real>(kind: Unary, x: E) -> E {
    match kind {
        Unary::Relu => {
            if x > E::zero() {
                E::one()
            } else {
                E::zero()
            }
        }
        Unary::Elu => {
            if x > E::zero() {
                E::one()
            } else {
                x.fast_exp()
            }
        }
        Unary::Gelu => {
            let c = E::of(GELU_C);
            let a = E::of(0.044715);
            let u = c * (x + a * x * x * x);
            let th = u.fast_tanh();
            let du = c * (E::one() + E::of(3.0) * a * x * x);
            E::of(0.5) * (E::one() + th) + E::of(0.5) * x * (E::one() - th * th) * du
        }
        Unary::Tanh => E::one() - x * x,
        Unary::Sigmoid => x * (E::one() - x),
        Unary::Silu => {
            let s = sigmoid(x);
            s * (E::one() + x * (E::one() - s))
        }
        // From the output: (eˣ)' = eˣ.
        Unary::Exp => x,
        Unary::Softplus => sigmoid(x),
    }
}

pub fn forward<E: Real>(kind: Unary, x: &[E], y: &mut [E]) {
    // One monomorphic loop per activation so each vectorises (through the SIMD dispatch).
    macro_rules! each {
        ($k:expr) => {
            simd::run(
                #[inline(always)]
                || y.iter_mut().zip(x).for_each(|(y, &x)| *y = f($k, x)),
            )
        };
    }
    match kind {
        Unary::Relu => each!(Unary::Relu),
        Unary::Elu => each!(Unary::Elu),
        Unary::Gelu => each!(Unary::Gelu),
        Unary::Tanh => each!(Unary::Tanh),
        Unary::Sigmoid => each!(Unary::Sigmoid),
        Unary::Silu => each!(Unary::Silu),
        Unary::Exp => each!(Unary::Exp),
        Unary::Softplus => each!(Unary::Softplus),
    }
}

/// dx += dy · f'(·) when `acc`, else dx = dy · f'(·) (dx's old contents are not read); `x` is the
/// value [`Unary::uses_output`] names.
pub fn backward_acc<E: Real>(kind: Unary, x: &[E], dy: &[E], dx: &mut [E], acc: bool) {
    macro_rules! each {
        ($k:expr) => {
            simd::run(
                #[inline(always)]
                || {
                    let it = dx.iter_mut().zip(x).zip(dy);
                    if acc {
                        it.for_each(|((dx, &x), &dy)| *dx += dy * df($k, x))
                    } else {
                        it.for_each(|((dx, &x), &dy)| *dx = dy * df($k, x))
                    }
                },
            )
        };
    }
    match kind {
        Unary::Relu => each!(Unary::Relu),
        Unary::Elu => each!(Unary::Elu),
        Unary::Gelu => each!(Unary::Gelu),
        Unary::Tanh => each!(Unary::Tanh),
        Unary::Sigmoid => each!(Unary::Sigmoid),
        Unary::Silu => each!(Unary::Silu),
        Unary::Exp => each!(Unary::Exp),
        Unary::Softplus => each!(Unary::Softplus),
    }
}

const CHUNK: usize = 1 << 14;

impl<E: Real> UnaryKernel for Cpu<E> {
    fn unary_fwd(&self, kind: Unary, x: &Vec<E>, y: &mut Vec<E>, n: usize) -> Result<()> {
        let (x, y) = (&x[..n], &mut y[..n]);
        if n >= PAR_MIN {
            y.par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK))
                .for_each(|(y, x)| forward(kind, x, y));
        } else {
            forward(kind, x, y);
        }
        Ok(())
    }
    fn unary_bwd(
        &self,
        kind: Unary,
        xy: &Vec<E>,
        dy: &Vec<E>,
        dx: &mut Vec<E>,
        n: usize,
        acc: bool,
    ) -> Result<()> {
        let (xy, dy, dx) = (&xy[..n], &dy[..n], &mut dx[..n]);
        if n >= PAR_MIN {
            dx.par_chunks_mut(CHUNK)
                .zip(xy.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK)))
                .for_each(|(d, (x, g))| backward_acc(kind, x, g, d, acc));
        } else {
            backward_acc(kind, xy, dy, dx, acc);
        }
        Ok(())
    }
}
