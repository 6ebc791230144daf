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
    /// The same for a slice to write (f32-only kernels).
    fn as_f32s_mut(s: &mut [Self]) -> Option<&mut [f32]>;
}

impl Real for f32 {
    fn as_f32s(s: &[Self]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f32s_mut(s: &mut [Self]) -> Option<&mut [f32]> {
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
        exp_m1_f32(self)
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

/// n = round(x / ln 2) for |x| < 2^21, as a float and as the integer bits of a float: adding
/// 1.5 · 2^23 rounds to an integer in the mantissa (to nearest), whose low bits then hold n. Unlike
/// `n as i32` (a saturating conversion, one scalar instruction per lane), this vectorises.
#[inline(always)]
fn split_ln2(x: f32) -> (f32, i32) {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    (t - MAGIC, t.to_bits().wrapping_sub(MAGIC.to_bits()) as i32)
}

/// 2^k for integer k in [−126, 127], from the exponent bits.
#[inline(always)]
fn pow2(k: i32) -> f32 {
    f32::from_bits((k.wrapping_add(127) as u32) << 23)
}

/// e^x = 2^n · e^r with n = round(x / ln 2), |r| ≤ ln2/2, e^r by a degree-6 polynomial; 2^n built from
/// the exponent bits. Plain arithmetic only, so loops over it vectorise.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.7);
    let (n, k) = split_ln2(x);
    // Cody-Waite split of ln 2 keeps r accurate.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2^n in two factors: n = 128 (x near 88.7) and −126 have no normal exponent bits of their own.
    p * pow2(k >> 1) * pow2(k - (k >> 1))
}

/// e^x − 1 = 2^n (e^r − 1) + (2^n − 1) with the split of `exp_f32`: one polynomial (e^r − 1 to r⁷,
/// < 2e-8 relative on |r| ≤ ln2/2) and no cancellation at n = 0, where the result is the polynomial
/// itself. 2^n is built as 2 · 2^(n−1) (n ≤ 128 at x ≤ 88.7); below −80 the result is −1 in f32.
#[inline(always)]
fn exp_m1_f32(x: f32) -> f32 {
    let x = x.clamp(-80.0, 88.7);
    let (n, k) = split_ln2(x);
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = r
        * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let half = pow2(k - 1);
    2.0 * (half * p + (half - 0.5))
}

impl Real for f64 {
    fn as_f32s(_: &[Self]) -> Option<&[f32]> {
        None
    }
    fn as_f32s_mut(_: &mut [Self]) -> Option<&mut [f32]> {
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
        let mut x = -100.0f32;
        while x < 88.7 {
            let (a, b) = (x.fast_exp_m1() as f64, (x as f64).exp_m1());
            assert!(((a - b) / b).abs() < 5e-7, "expm1 at {x}: {a} vs {b}");
            x += if x.abs() < 1.0 { 0.000731 } else { 0.00731 };
        }
        for x in [1e-30f32, -1e-20, 1e-7, -3e-6, 0.346, -0.347, 0.35, -0.35] {
            let (a, b) = (x.fast_exp_m1() as f64, (x as f64).exp_m1());
            assert!(((a - b) / b).abs() < 2e-7, "expm1 at {x}: {a} vs {b}");
        }
        assert_eq!(0.0f32.fast_exp_m1(), 0.0);
        assert!(f32::NAN.fast_exp_m1().is_nan());
    }
}
