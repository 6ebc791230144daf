//! Element-wise activations: f(x) and f'(x).
use super::Unary;
use crate::tensor::Real;
use crate::util::simd;

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
            E::of(0.5) * x * (E::one() + (c * (x + E::of(0.044715) * x * x * x)).tanh())
        }
        Unary::Tanh => x.tanh(),
        Unary::Sigmoid => sigmoid(x),
        Unary::Silu => x * sigmoid(x),
    }
}

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
            let th = u.tanh();
            let du = c * (E::one() + E::of(3.0) * a * x * x);
            E::of(0.5) * (E::one() + th) + E::of(0.5) * x * (E::one() - th * th) * du
        }
        Unary::Tanh => {
            let t = x.tanh();
            E::one() - t * t
        }
        Unary::Sigmoid => {
            let s = sigmoid(x);
            s * (E::one() - s)
        }
        Unary::Silu => {
            let s = sigmoid(x);
            s * (E::one() + x * (E::one() - s))
        }
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
    }
}

/// dx += dy · f'(x)
pub fn backward<E: Real>(kind: Unary, x: &[E], dy: &[E], dx: &mut [E]) {
    backward_acc(kind, x, dy, dx, true)
}

/// dx += dy · f'(x) when `acc`, else dx = dy · f'(x) (dx's old contents are not read).
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
    }
}
