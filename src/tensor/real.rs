//! The element type: f32 for training and inference, f64 for gradient checks of the same code.
use num_traits::Float;
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

pub trait Real:
    Float
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
    /// e^x for activations. f32 uses a branch-free polynomial (≤ 2 ulp on [-87, 88]) that vectorises;
    /// f64 (gradient checks) keeps the exact library call.
    fn fast_exp(self) -> Self;
    /// e^x − 1, accurate near 0 (ELU), same split as `fast_exp`.
    fn fast_exp_m1(self) -> Self;
    /// tanh for activations: f32 from `fast_exp_m1` (vectorises; libm's tanhf is a scalar call),
    /// f64 the library call.
    fn fast_tanh(self) -> Self;
    /// The slice as f32 when `Self` is f32 (device uploads need no conversion copy).
    fn as_f32s(s: &[Self]) -> Option<&[f32]>;
}

impl Real for f32 {
    fn as_f32s(s: &[Self]) -> Option<&[f32]> {
        Some(s)
    }
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn fast_exp_m1(self) -> Self {
        // Near 0, e^x − 1 cancels: use the Taylor series there (|x| < 0.5, 8 terms: < 1e-9 rel).
        let x = self;
        let p = x
            * (1.0
                + x * (0.5
                    + x * (1.0 / 6.0
                        + x * (1.0 / 24.0
                            + x * (1.0 / 120.0
                                + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0))))))));
        if x.abs() < 0.5 {
            p
        } else {
            exp_f32(x) - 1.0
        }
    }
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        // tanh|x| = u / (u + 2), u = e^{2|x|} − 1: no cancellation near 0, and past |x| = 9 the
        // ratio is 1 in f32.
        let a = self.abs();
        let a = if a > 9.0 { 9.0 } else { a }; // keeps NaN (f32::min would not)
        let u = (2.0 * a).fast_exp_m1();
        (u / (u + 2.0)).copysign(self)
    }
}

/// e^x = 2^n · e^r with n = round(x / ln 2), |r| ≤ ln2/2, e^r by a degree-6 polynomial; 2^n built from
/// the exponent bits. Plain arithmetic only, so loops over it vectorise.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.7);
    let n = (x * std::f32::consts::LOG2_E).round();
    // Cody-Waite split of ln 2 keeps r accurate.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

impl Real for f64 {
    fn as_f32s(_: &[Self]) -> Option<&[f32]> {
        None
    }
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn fast_exp_m1(self) -> Self {
        self.exp_m1()
    }
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        self.tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::Real;

    #[test]
    fn fast_tanh_matches_the_library_in_f32() {
        let mut x = -12.0f32;
        while x < 12.0 {
            let (a, b) = (x.fast_tanh() as f64, (x as f64).tanh());
            assert!(
                ((a - b) / b).abs() < 1e-6 || (a - b).abs() < 1e-12,
                "tanh at {x}: {a} vs {b}"
            );
            x += 0.00731;
        }
        for x in [0.0f32, -0.0, 1e-30, -1e-20, 1e-6, f32::MAX, f32::MIN] {
            let (a, b) = (x.fast_tanh() as f64, (x as f64).tanh());
            assert!(
                (a - b).abs() <= 1e-7 * b.abs().max(1e-30),
                "tanh at {x}: {a} vs {b}"
            );
        }
        assert!(f32::NAN.fast_tanh().is_nan());
    }

    #[test]
    fn fast_exp_matches_the_library_in_f32() {
        let mut worst = (0.0f64, 0.0f32);
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (x.fast_exp() as f64, (x as f64).exp());
            let rel = ((a - b) / b).abs();
            if rel > worst.0 {
                worst = (rel, x);
            }
            x += 0.0137;
        }
        assert!(
            worst.0 < 5e-7,
            "fast_exp rel error {} at {}",
            worst.0,
            worst.1
        );
        let mut x = -20.0f32;
        while x < 20.0 {
            let (a, b) = (x.fast_exp_m1() as f64, (x as f64).exp_m1());
            assert!(
                ((a - b) / b).abs() < 5e-7 || (a - b).abs() < 1e-12,
                "expm1 at {x}: {a} vs {b}"
            );
            x += 0.00731;
        }
    }
}
