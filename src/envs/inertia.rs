//! Rigid-body inertias as MuJoCo's compiler computes them from geoms (`user_objects.cc`), so that
//! the hand-written dynamics use the same numbers as the XML models.

/// Moment of inertia of a solid capsule (cylinder of length `length` with two hemispherical caps
/// of radius `radius`, total mass `mass`) about an axis through its centre, perpendicular to its
/// length.
pub(crate) const fn capsule_inertia_perp(mass: f64, radius: f64, length: f64) -> f64 {
    // MuJoCo splits the mass between the caps and the cylinder in proportion to their volumes.
    let r = radius;
    let h = length;
    let m_caps = mass * 4.0 * r / (4.0 * r + 3.0 * h);
    let m_cyl = mass - m_caps;
    m_cyl * (3.0 * r * r + h * h) / 12.0
        + 2.0 * m_caps * r * r / 5.0
        + m_caps * h * (3.0 * r + 2.0 * h) / 8.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_mujoco_values() {
        // Values read from the compiled dm_control models (rl.md §7, data-and-envs.md §10).
        assert!((capsule_inertia_perp(0.1, 0.045, 1.0) - 0.009425).abs() < 1e-6);
        assert!((capsule_inertia_perp(1.0, 0.05, 1.0) - 0.09557).abs() < 1e-5);
        assert!((capsule_inertia_perp(1.0, 0.049, 1.0) - 0.09530).abs() < 1e-5);
    }
}
