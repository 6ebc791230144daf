//! Classic fourth-order Runge–Kutta for two-degree-of-freedom mechanisms, staged exactly as
//! MuJoCo's `mj_RungeKutta`: every stage re-evaluates the full acceleration (including passive
//! damping and any active constraint) at the stage state, and the control is held fixed.

/// State `[q0, q1, qd0, qd1]`: two generalised coordinates followed by their velocities.
pub(crate) type State2 = [f64; 4];

/// One RK4 step of size `h`; `accel` maps a state to the generalised accelerations.
#[inline]
pub(crate) fn rk4_step(s: &State2, h: f64, mut accel: impl FnMut(&State2) -> [f64; 2]) -> State2 {
    let deriv = |s: &State2, a: [f64; 2]| [s[2], s[3], a[0], a[1]];
    let offset = |k: &State2, c: f64| {
        let mut out = *s;
        for (o, d) in out.iter_mut().zip(k) {
            *o += c * d;
        }
        out
    };
    let k1 = deriv(s, accel(s));
    let s2 = offset(&k1, 0.5 * h);
    let k2 = deriv(&s2, accel(&s2));
    let s3 = offset(&k2, 0.5 * h);
    let k3 = deriv(&s3, accel(&s3));
    let s4 = offset(&k3, h);
    let k4 = deriv(&s4, accel(&s4));
    let mut out = *s;
    for i in 0..4 {
        out[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmonic_oscillator_is_fourth_order() {
        // q'' = -q from (1, 0): after time T the exact state is (cos T, -sin T).
        let err = |n: usize| {
            let h = 1.0 / n as f64;
            let mut s = [1.0, 0.0, 0.0, 0.0];
            for _ in 0..n {
                s = rk4_step(&s, h, |s| [-s[0], 0.0]);
            }
            (s[0] - 1f64.cos()).abs() + (s[2] + 1f64.sin()).abs()
        };
        let ratio = err(10) / err(20);
        assert!((12.0..20.0).contains(&ratio), "error ratio {ratio}");
    }
}
