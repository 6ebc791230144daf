//! `acrobot-swingup` (dm_control `suite/acrobot.{py,xml}`): a two-link arm with an unactuated
//! shoulder that must raise its tip to a target above the base.
//!
//! Model: both links are capsules of length 1 and mass 1 (radii 0.05 and 0.049), hinges about y
//! with damping 0.05, the shoulder 2 m above the floor, a motor on the elbow only (gear 2),
//! timestep 0.01 with RK4 and constraints disabled. Angles are 0 when the links point straight
//! up; the elbow angle is relative to the upper arm. The closed-form Lagrangian below matches
//! libmujoco to 2e-14 after 100 steps and to 1e-12 to 1e-9 after 1000, depending on how chaotic
//! the trajectory is (`scripts/envs_vs_mujoco.py`; in CI, `tests/mujoco_ports.rs`).

use super::inertia::capsule_inertia_perp;
use super::integrate::{rk4_step, State2};
use super::tolerance::{Sigmoid, Tolerance};
use super::{action_component, tick, write_obs, Env, Spec, GRAVITY};
use crate::util::rng::Rng;

const TIMESTEP: f64 = 0.01;
const DAMPING: f64 = 0.05;
const GEAR: f64 = 2.0;
const MASS: f64 = 1.0;
const LENGTH: f64 = 1.0;
/// Each link's centre of mass sits halfway along it.
const COM: f64 = 0.5 * LENGTH;
const I_UPPER: f64 = capsule_inertia_perp(MASS, 0.05, LENGTH);
const I_LOWER: f64 = capsule_inertia_perp(MASS, 0.049, LENGTH);
/// Height of the shoulder and of the target; the target is a sphere of radius 0.2.
const SHOULDER_Z: f64 = 2.0;
const TARGET_Z: f64 = 4.0;
const TARGET_RADIUS: f64 = 0.2;

/// The acrobot task. Construct with [`Acrobot::new`] or via [`super::make`].
#[derive(Clone, Debug)]
pub struct Acrobot {
    /// `[shoulder, elbow, shoulder velocity, elbow velocity]`.
    state: State2,
    steps: u32,
    near_target: Tolerance,
}

impl Default for Acrobot {
    fn default() -> Self {
        Self::new()
    }
}

/// Joint-space mass matrix `[m11, m12, m22]` at elbow angle `q2`.
#[inline]
fn mass_matrix(cos_q2: f64) -> [f64; 3] {
    let m22 = I_LOWER + MASS * COM * COM;
    let m12 = m22 + MASS * LENGTH * COM * cos_q2;
    let m11 =
        I_UPPER + MASS * COM * COM + MASS * LENGTH * LENGTH + m12 + MASS * LENGTH * COM * cos_q2;
    [m11, m12, m22]
}

/// Generalised accelerations for elbow torque `tau`.
#[inline]
fn accel(s: &State2, tau: f64) -> [f64; 2] {
    let [q1, q2, v1, v2] = *s;
    let (s2, c2) = q2.sin_cos();
    let s1 = q1.sin();
    let s12 = (q1 + q2).sin();
    let [m11, m12, m22] = mass_matrix(c2);
    // Coriolis/centrifugal coefficient.
    let h = MASS * LENGTH * COM * s2;
    // Gravity drives the links away from upright.
    let g1 = GRAVITY * (MASS * COM * s1 + MASS * (LENGTH * s1 + COM * s12));
    let g2 = GRAVITY * MASS * COM * s12;
    let f1 = g1 + h * (2.0 * v1 * v2 + v2 * v2) - DAMPING * v1;
    let f2 = g2 - h * v1 * v1 - DAMPING * v2 + tau;
    let det = m11 * m22 - m12 * m12;
    [(m22 * f1 - m12 * f2) / det, (m11 * f2 - m12 * f1) / det]
}

impl Acrobot {
    /// An acrobot already reset with seed 0.
    pub fn new() -> Self {
        let mut env = Self {
            state: [0.0; 4],
            steps: 0,
            near_target: Tolerance::new_unchecked(
                (0.0, TARGET_RADIUS),
                1.0,
                Sigmoid::Gaussian,
                0.1,
            ),
        };
        env.reset_state(0);
        env
    }

    /// `[shoulder, elbow, shoulder velocity, elbow velocity]`; angles are not wrapped.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Places the arm in an arbitrary state (the step counter is untouched).
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
    }

    /// Mechanical energy: kinetic plus gravitational, zero at the shoulder height.
    pub fn energy(&self) -> f64 {
        let [q1, q2, v1, v2] = self.state;
        let [m11, m12, m22] = mass_matrix(q2.cos());
        let kinetic = 0.5 * (m11 * v1 * v1 + 2.0 * m12 * v1 * v2 + m22 * v2 * v2);
        let potential =
            GRAVITY * MASS * (COM * q1.cos() + LENGTH * q1.cos() + COM * (q1 + q2).cos());
        kinetic + potential
    }

    /// Distance from the tip of the lower arm to the target centre.
    pub fn tip_to_target(&self) -> f64 {
        let [q1, q2, ..] = self.state;
        let x = LENGTH * (q1.sin() + (q1 + q2).sin());
        let z = SHOULDER_Z + LENGTH * (q1.cos() + (q1 + q2).cos());
        x.hypot(TARGET_Z - z)
    }

    /// `[sin q1, sin(q1+q2), cos q1, cos(q1+q2), q̇1, q̇2]`: dm_control's `orientations` (the
    /// x then z components of each link's axis) then `velocity`.
    pub fn observe(&self, obs: &mut [f32]) {
        let [q1, q2, v1, v2] = self.state;
        let (s1, c1) = q1.sin_cos();
        let (s12, c12) = (q1 + q2).sin_cos();
        write_obs(obs, &[s1, s12, c1, c12, v1, v2]);
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = Rng::new(seed);
        let pi = std::f64::consts::PI;
        let shoulder = rng.range(-pi, pi);
        let elbow = rng.range(-pi, pi);
        self.state = [shoulder, elbow, 0.0, 0.0];
        self.steps = 0;
    }
}

impl Env for Acrobot {
    fn name(&self) -> &'static str {
        "acrobot-swingup"
    }

    fn spec(&self) -> Spec {
        Spec {
            obs_dim: 6,
            act_dim: 1,
        }
    }

    fn reset_into(&mut self, seed: u64, obs: &mut [f32]) {
        self.reset_state(seed);
        self.observe(obs);
    }

    fn step_into(&mut self, action: &[f32], obs: &mut [f32]) -> (f32, bool, bool) {
        let tau = GEAR * action_component(action, 0);
        self.state = rk4_step(&self.state, TIMESTEP, |s| accel(s, tau));
        self.observe(obs);
        let reward = self.near_target.eval(self.tip_to_target());
        (reward as f32, false, tick(&mut self.steps))
    }
}
