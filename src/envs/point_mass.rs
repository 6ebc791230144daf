//! `point_mass-easy` (dm_control `suite/point_mass.{py,xml}`): drive a planar point mass to a
//! small target at the origin.
//!
//! Model: mass 0.3 on two slide joints (x and y), each with damping 1 and a soft limit at ±0.29
//! (MuJoCo's default `solref = (0.02, 1)`, raised to a 0.04 s time constant by the integrator
//! safety rule); two tendon motors with gear 0.1 push along x and y; timestep 0.02 with Euler,
//! contacts off, no gravity in the plane. MuJoCo's Euler step treats damping implicitly:
//! `a = (f + f_limit) / (m + h·b)`, velocity first, then position; the limit force is solved
//! against the unconstrained acceleration `f / m` (see the `limit` module). The port matches
//! libmujoco to 1e-15 when MuJoCo's solver runs to convergence, and to 1e-8 with its default
//! tolerance (`scripts/envs_vs_mujoco.py`).

use super::limit::SoftLimit;
use super::tolerance::{Sigmoid, Tolerance};
use super::{action_component, tick, write_obs, Env, Spec};
use crate::util::rng::Rng;

const TIMESTEP: f64 = 0.02;
const MASS: f64 = 0.3;
const DAMPING: f64 = 1.0;
const GEAR: f64 = 0.1;
const RANGE: f64 = 0.29;
const SOLREF_LIMIT: (f64, f64) = (0.02, 1.0);
const TARGET_SIZE: f64 = 0.015;

/// The point-mass task. Construct with [`PointMass::new`] or via [`super::make`].
#[derive(Clone, Debug)]
pub struct PointMass {
    pos: [f64; 2],
    vel: [f64; 2],
    steps: u32,
    limit: SoftLimit,
    near_target: Tolerance,
    small_control: Tolerance,
}

impl Default for PointMass {
    fn default() -> Self {
        Self::new()
    }
}

impl PointMass {
    /// A point mass already reset with seed 0.
    pub fn new() -> Self {
        let mut env = Self {
            pos: [0.0; 2],
            vel: [0.0; 2],
            steps: 0,
            limit: SoftLimit::new((-RANGE, RANGE), SOLREF_LIMIT, TIMESTEP, 1.0 / MASS),
            near_target: Tolerance::new_unchecked(
                (0.0, TARGET_SIZE),
                TARGET_SIZE,
                Sigmoid::Gaussian,
                0.1,
            ),
            small_control: Tolerance::new_unchecked((0.0, 0.0), 1.0, Sigmoid::Quadratic, 0.0),
        };
        env.reset_state(0);
        env
    }

    /// `([x, y], [ẋ, ẏ])`.
    pub fn state(&self) -> ([f64; 2], [f64; 2]) {
        (self.pos, self.vel)
    }

    /// Places the mass in an arbitrary state (the step counter is untouched).
    pub fn set_state(&mut self, pos: [f64; 2], vel: [f64; 2]) {
        self.pos = pos;
        self.vel = vel;
    }

    /// `[x, y, ẋ, ẏ]` (dm_control's `position` then `velocity`).
    pub fn observe(&self, obs: &mut [f32]) {
        write_obs(obs, &[self.pos[0], self.pos[1], self.vel[0], self.vel[1]]);
    }

    fn reset_state(&mut self, seed: u64) {
        // dm_control's randomizer draws each limited joint uniformly within its range.
        let mut rng = Rng::new(seed);
        self.pos = [rng.range(-RANGE, RANGE), rng.range(-RANGE, RANGE)];
        self.vel = [0.0; 2];
        self.steps = 0;
    }

    fn reward(&self, u: [f64; 2]) -> f64 {
        let near = self.near_target.eval(self.pos[0].hypot(self.pos[1]));
        let control = 0.5 * (self.small_control.eval(u[0]) + self.small_control.eval(u[1]));
        near * (control + 4.0) / 5.0
    }
}

impl Env for PointMass {
    fn name(&self) -> &'static str {
        "point_mass-easy"
    }

    fn spec(&self) -> Spec {
        Spec {
            obs_dim: 4,
            act_dim: 2,
        }
    }

    fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
        self.reset_state(seed);
        self.observe(obs);
    }

    fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
        let u = [action_component(action, 0), action_component(action, 1)];
        // The axes are decoupled: diagonal mass matrix, one tendon and one limit per axis.
        let limit = self.limit;
        for ((q, v), ui) in self.pos.iter_mut().zip(&mut self.vel).zip(u) {
            let smooth = GEAR * ui - DAMPING * *v;
            let f_lim = limit.force(*q, *v, smooth / MASS, 1.0 / MASS);
            let acc = (smooth + f_lim) / (MASS + TIMESTEP * DAMPING);
            *v += TIMESTEP * acc;
            *q += TIMESTEP * *v;
        }
        self.observe(obs);
        (self.reward(u) as f32, false, tick(&mut self.steps))
    }
}
