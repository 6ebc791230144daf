//! dm_control's `rewards.tolerance`: a soft indicator that is 1 inside `[lower, upper]` and
//! decays with the distance to the nearest bound, measured in units of `margin`.
//!
//! Semantics follow `dm_control/utils/rewards.py`: with `margin == 0` the result is a hard
//! indicator and `value_at_margin` is ignored; otherwise the sigmoid is scaled so that it equals
//! `value_at_margin` at distance `margin`. The scale is computed once, at construction.

/// Shape of the decay outside the bounds (the names of `rewards._sigmoids`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sigmoid {
    Gaussian,
    Hyperbolic,
    LongTail,
    Reciprocal,
    Cosine,
    Linear,
    Quadratic,
    TanhSquared,
}

/// The `value_at_margin` dm_control uses when none is given.
pub const DEFAULT_VALUE_AT_MARGIN: f64 = 0.1;

/// A validated tolerance function with its sigmoid scale precomputed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    lower: f64,
    upper: f64,
    margin: f64,
    sigmoid: Sigmoid,
    scale: f64,
}

impl Tolerance {
    /// Checks the arguments as dm_control does and precomputes the sigmoid scale.
    pub fn new(
        bounds: (f64, f64),
        margin: f64,
        sigmoid: Sigmoid,
        value_at_margin: f64,
    ) -> Result<Self, String> {
        let (lower, upper) = bounds;
        if lower.is_nan() || upper.is_nan() || lower > upper {
            return Err(format!(
                "tolerance: lower bound {lower} must be <= upper bound {upper}"
            ));
        }
        if margin.is_nan() || margin < 0.0 {
            return Err(format!(
                "tolerance: margin must be non-negative, got {margin}"
            ));
        }
        if margin > 0.0 {
            let zero_ok = matches!(
                sigmoid,
                Sigmoid::Cosine | Sigmoid::Linear | Sigmoid::Quadratic
            );
            let lo_ok = if zero_ok {
                value_at_margin >= 0.0
            } else {
                value_at_margin > 0.0
            };
            if !(lo_ok && value_at_margin < 1.0) {
                let range = if zero_ok { "[0, 1)" } else { "(0, 1)" };
                return Err(format!(
                    "tolerance: value_at_margin for {sigmoid:?} must lie in {range}, got {value_at_margin}"
                ));
            }
        }
        Ok(Self::build(bounds, margin, sigmoid, value_at_margin))
    }

    /// For the built-in tasks, whose constants are valid; debug builds re-check them.
    pub(crate) fn new_unchecked(
        bounds: (f64, f64),
        margin: f64,
        sigmoid: Sigmoid,
        value_at_margin: f64,
    ) -> Self {
        debug_assert!(Self::new(bounds, margin, sigmoid, value_at_margin).is_ok());
        Self::build(bounds, margin, sigmoid, value_at_margin)
    }

    fn build(bounds: (f64, f64), margin: f64, sigmoid: Sigmoid, value_at_margin: f64) -> Self {
        let v = value_at_margin;
        let scale = match sigmoid {
            Sigmoid::Gaussian => (-2.0 * v.ln()).sqrt(),
            Sigmoid::Hyperbolic => (1.0 / v).acosh(),
            Sigmoid::LongTail => (1.0 / v - 1.0).sqrt(),
            Sigmoid::Reciprocal => 1.0 / v - 1.0,
            Sigmoid::Cosine => (2.0 * v - 1.0).acos() / std::f64::consts::PI,
            Sigmoid::Linear => 1.0 - v,
            Sigmoid::Quadratic => (1.0 - v).sqrt(),
            Sigmoid::TanhSquared => (1.0 - v).sqrt().atanh(),
        };
        Self {
            lower: bounds.0,
            upper: bounds.1,
            margin,
            sigmoid,
            scale,
        }
    }

    /// 1 inside the bounds; outside, the sigmoid of (distance to the nearest bound) / margin.
    #[inline]
    pub fn eval(&self, x: f64) -> f64 {
        if self.lower <= x && x <= self.upper {
            return 1.0;
        }
        if self.margin == 0.0 {
            return 0.0;
        }
        let d = if x < self.lower {
            self.lower - x
        } else {
            x - self.upper
        } / self.margin;
        let sx = d * self.scale;
        match self.sigmoid {
            Sigmoid::Gaussian => (-0.5 * sx * sx).exp(),
            Sigmoid::Hyperbolic => 1.0 / sx.cosh(),
            Sigmoid::LongTail => 1.0 / (sx * sx + 1.0),
            Sigmoid::Reciprocal => 1.0 / (sx.abs() + 1.0),
            Sigmoid::Cosine if sx.abs() < 1.0 => (1.0 + (std::f64::consts::PI * sx).cos()) / 2.0,
            Sigmoid::Linear if sx.abs() < 1.0 => 1.0 - sx,
            Sigmoid::Quadratic if sx.abs() < 1.0 => 1.0 - sx * sx,
            Sigmoid::Cosine | Sigmoid::Linear | Sigmoid::Quadratic => 0.0,
            Sigmoid::TanhSquared => 1.0 - sx.tanh().powi(2),
        }
    }
}

/// One-shot form of [`Tolerance`], mirroring `rewards.tolerance(x, bounds, margin, sigmoid,
/// value_at_margin)`.
pub fn tolerance(
    x: f64,
    bounds: (f64, f64),
    margin: f64,
    sigmoid: Sigmoid,
    value_at_margin: f64,
) -> Result<f64, String> {
    Ok(Tolerance::new(bounds, margin, sigmoid, value_at_margin)?.eval(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Sigmoid; 8] = [
        Sigmoid::Gaussian,
        Sigmoid::Hyperbolic,
        Sigmoid::LongTail,
        Sigmoid::Reciprocal,
        Sigmoid::Cosine,
        Sigmoid::Linear,
        Sigmoid::Quadratic,
        Sigmoid::TanhSquared,
    ];

    #[test]
    fn every_sigmoid_hits_value_at_margin() {
        for s in ALL {
            let t = Tolerance::new((-1.0, 2.0), 0.5, s, 0.3).unwrap();
            assert_eq!(t.eval(0.0), 1.0);
            assert!((t.eval(2.5) - 0.3).abs() < 1e-12, "{s:?}");
            assert!((t.eval(-1.5) - 0.3).abs() < 1e-12, "{s:?}");
            assert!(t.eval(10.0) < 0.3, "{s:?}");
        }
    }

    #[test]
    fn hard_indicator_without_margin() {
        let t = Tolerance::new((0.0, 0.2), 0.0, Sigmoid::Gaussian, 0.0).unwrap();
        assert_eq!(t.eval(0.2), 1.0);
        assert_eq!(t.eval(0.2000001), 0.0);
    }

    #[test]
    fn quadratic_with_zero_value_at_margin() {
        // The small-control term of cartpole and point_mass.
        let t = Tolerance::new((0.0, 0.0), 1.0, Sigmoid::Quadratic, 0.0).unwrap();
        assert!((t.eval(0.5) - 0.75).abs() < 1e-12);
        assert_eq!(t.eval(1.0), 0.0);
        assert_eq!(t.eval(-1.0), 0.0);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(tolerance(0.0, (1.0, 0.0), 0.0, Sigmoid::Gaussian, 0.1).is_err());
        assert!(tolerance(0.0, (0.0, 0.0), -1.0, Sigmoid::Gaussian, 0.1).is_err());
        assert!(tolerance(0.0, (0.0, 0.0), f64::NAN, Sigmoid::Gaussian, 0.1).is_err());
        assert!(tolerance(0.0, (0.0, 0.0), 1.0, Sigmoid::Gaussian, 0.0).is_err());
        assert!(tolerance(0.0, (0.0, 0.0), 1.0, Sigmoid::Linear, 1.0).is_err());
        assert!(tolerance(0.0, (0.0, 0.0), 1.0, Sigmoid::Linear, 0.0).is_ok());
    }
}
