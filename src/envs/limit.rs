//! MuJoCo's soft joint limit for one scalar degree of freedom (a slide or hinge with
//! `limited="true"`), written out in closed form.
//!
//! MuJoCo activates a limit row when the joint passes a bound (`dist < margin`, margin 0). The
//! row has position `r < 0` (signed distance into the violation), velocity `v = J·qd` and
//! Jacobian `J = +1` at the lower bound, `-1` at the upper bound. From `solref = (timeconst,
//! dampratio)` and the default `solimp = (0.9, 0.95, 0.001, 0.5, 2)` it builds
//! - the impedance `d(r)` in `[dmin, dmax]` (`getimpedance`),
//! - the reference acceleration `aref = -B·v - K·d·r`, with `K = 1/(dmax² τ² ζ²)` and
//!   `B = 2/(dmax τ)` (`mj_makeImpedance`, `mj_referenceConstraint`),
//! - the regulariser `R = (1-d)/d · invweight0`, where `invweight0` is the diagonal of `M⁻¹` at
//!   the model's reference pose (`dof_invweight0`).
//!
//! With one active row the solver's convex problem has a closed-form optimum: the row force is
//! `f = max(0, (aref - J·a0) / (A + R))`, where `a0` is the unconstrained acceleration and `A` is
//! the row's current inverse inertia `(M⁻¹)ᵢᵢ`. MuJoCo's solver converges to this optimum up
//! to its tolerance (checked against libmujoco by `scripts/envs_vs_mujoco.py`).

/// Default `solimp` of MuJoCo: (dmin, dmax, width, midpoint, power).
const SOLIMP: [f64; 5] = [0.9, 0.95, 0.001, 0.5, 2.0];
/// MuJoCo's floor on divisors and on the regulariser.
const MINVAL: f64 = 1e-15;

/// A two-sided soft limit on one joint coordinate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoftLimit {
    lower: f64,
    upper: f64,
    stiffness: f64,
    damping: f64,
    invweight0: f64,
}

impl SoftLimit {
    /// `timestep` enforces MuJoCo's integrator safety rule `timeconst >= 2·timestep`.
    pub(crate) fn new(
        range: (f64, f64),
        solref: (f64, f64),
        timestep: f64,
        invweight0: f64,
    ) -> Self {
        let dmax = SOLIMP[1];
        let timeconst = solref.0.max(2.0 * timestep);
        let dampratio = solref.1;
        Self {
            lower: range.0,
            upper: range.1,
            stiffness: 1.0
                / (dmax * dmax * timeconst * timeconst * dampratio * dampratio).max(MINVAL),
            damping: 2.0 / (dmax * timeconst).max(MINVAL),
            invweight0,
        }
    }

    /// Generalised force the limit adds along the joint, given position `q`, velocity `qd`, the
    /// unconstrained acceleration `a0` and the current inverse inertia `inv_mass = (M⁻¹)ᵢᵢ`.
    /// Zero while the joint is inside its range.
    #[inline]
    pub(crate) fn force(&self, q: f64, qd: f64, a0: f64, inv_mass: f64) -> f64 {
        let (jac, pos) = if q < self.lower {
            (1.0, q - self.lower)
        } else if q > self.upper {
            (-1.0, self.upper - q)
        } else {
            return 0.0;
        };
        let imp = impedance(pos);
        let aref = -self.damping * (jac * qd) - self.stiffness * imp * pos;
        let reg = ((1.0 - imp) * self.invweight0 / imp).max(MINVAL);
        // A limit can only push the joint back into range.
        let f = ((aref - jac * a0) / (inv_mass + reg)).max(0.0);
        jac * f
    }
}

/// MuJoCo's `getimpedance` for the default `solimp`: a smooth ramp from dmin to dmax over the
/// first `width` of violation.
fn impedance(pos: f64) -> f64 {
    let [dmin, dmax, width, mid, power] = SOLIMP;
    let x = (pos / width).abs();
    if x >= 1.0 {
        return dmax;
    }
    if x <= 0.0 {
        return dmin;
    }
    let y = if x <= mid {
        x.powf(power) / mid.powf(power - 1.0)
    } else {
        1.0 - (1.0 - x).powf(power) / (1.0 - mid).powf(power - 1.0)
    };
    dmin + y * (dmax - dmin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impedance_ramps_between_bounds() {
        assert_eq!(impedance(0.0), 0.9);
        assert_eq!(impedance(-0.01), 0.95);
        assert!((impedance(-0.0005) - 0.925).abs() < 1e-12);
    }

    #[test]
    fn blends_towards_reference_acceleration() {
        // With A equal to invweight0 the constrained acceleration is (1-d)·a0 + d·aref.
        let lim = SoftLimit::new((-1.0, 1.0), (0.08, 1.0), 0.01, 2.0);
        let (q, qd, a0) = (1.1, 0.5, 3.0);
        let f = lim.force(q, qd, a0, 2.0);
        let a = a0 + 2.0 * f;
        let d = 0.95;
        let aref_row = -lim.damping * (-qd) - lim.stiffness * d * (1.0 - q);
        assert!(((-a) - ((1.0 - d) * (-a0) + d * aref_row)).abs() < 1e-9);
        assert!(f < 0.0, "upper limit pushes towards -x");
        assert_eq!(lim.force(0.5, 100.0, 100.0, 2.0), 0.0);
    }
}
