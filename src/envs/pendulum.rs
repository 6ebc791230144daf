//! `pendulum-swingup` (dm_control `suite/pendulum.{py,xml}`): a torque-limited pendulum that must
//! swing up and balance; the reward is sparse.
//!
//! Model: a hinge about y with damping 0.1, a unit point mass (a sphere of radius 0.05) at 0.5 from
//! the hinge, massless pole, motor gear 1, timestep 0.02. The angle is 0 when the mass is straight
//! up. MuJoCo's Euler integrator treats joint damping implicitly, `α = τ / (I + h·b)`, then updates
//! the velocity before the position; the port does the same, and matches libmujoco to 2e-14
//! over 2000 steps (`scripts/envs_vs_mujoco.py`; in CI, `tests/mujoco_ports.rs`).

use super::tolerance::{Sigmoid, Tolerance};
use super::{action_component, tick, write_obs, Env, Spec, GRAVITY};
use crate::util::rng::Rng;

const TIMESTEP: f64 = 0.02;
const DAMPING: f64 = 0.1;
const MASS: f64 = 1.0;
const ARM: f64 = 0.5;
const BALL_RADIUS: f64 = 0.05;
/// About the hinge: the point mass plus the sphere's own inertia (2/5·m·r²) = 0.251.
pub const INERTIA: f64 = MASS * ARM * ARM + 0.4 * MASS * BALL_RADIUS * BALL_RADIUS;
/// cos(8°): the pole counts as upright within 8° of vertical.
const COS_BOUND: f64 = 0.990_268_068_741_570_4;

/// The pendulum task. Construct with [`Pendulum::new`] or via [`super::make`].
#[derive(Clone, Debug)]
pub struct Pendulum {
    theta: f64,
    omega: f64,
    steps: u32,
    upright: Tolerance,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new()
    }
}

impl Pendulum {
    /// A pendulum already reset with seed 0.
    pub fn new() -> Self {
        let mut env = Self {
            theta: 0.0,
            omega: 0.0,
            steps: 0,
            upright: Tolerance::new_unchecked((COS_BOUND, 1.0), 0.0, Sigmoid::Gaussian, 0.1),
        };
        env.reset_state(0);
        env
    }

    /// `(angle, angular velocity)`; angle 0 is upright and is not wrapped.
    pub fn state(&self) -> (f64, f64) {
        (self.theta, self.omega)
    }

    /// Places the pendulum in an arbitrary state (the step counter is untouched).
    pub fn set_state(&mut self, theta: f64, omega: f64) {
        self.theta = theta;
        self.omega = omega;
    }

    /// Mechanical energy: kinetic plus gravitational, zero at the hinge height.
    pub fn energy(&self) -> f64 {
        0.5 * INERTIA * self.omega * self.omega + MASS * GRAVITY * ARM * self.theta.cos()
    }

    /// `[cos θ, sin θ, ω]` (dm_control's `orientation` then `velocity`).
    pub fn observe(&self, obs: &mut [f32]) {
        let (s, c) = self.theta.sin_cos();
        write_obs(obs, &[c, s, self.omega]);
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = Rng::new(seed);
        self.theta = rng.range(-std::f64::consts::PI, std::f64::consts::PI);
        self.omega = 0.0;
        self.steps = 0;
    }

    /// One Euler step with implicit damping under torque `torque`.
    fn integrate(&mut self, torque: f64) {
        // Gravity pushes the mass away from upright: dV/dθ = -m g l sin θ.
        let force = torque + MASS * GRAVITY * ARM * self.theta.sin() - DAMPING * self.omega;
        let alpha = force / (INERTIA + TIMESTEP * DAMPING);
        self.omega += TIMESTEP * alpha;
        self.theta += TIMESTEP * self.omega;
    }
}

impl Env for Pendulum {
    fn name(&self) -> &'static str {
        "pendulum-swingup"
    }

    fn spec(&self) -> Spec {
        Spec {
            obs_dim: 3,
            act_dim: 1,
        }
    }

    fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
        self.reset_state(seed);
        self.observe(obs);
    }

    fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
        self.integrate(action_component(action, 0));
        self.observe(obs);
        let reward = self.upright.eval(self.theta.cos());
        (reward as f32, false, tick(&mut self.steps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        assert!((INERTIA - 0.251).abs() < 1e-12);
        assert!((COS_BOUND - 8f64.to_radians().cos()).abs() < 1e-15);
    }
}
