//! The pure-Rust dm_control ports (`envs::acrobot`, `envs::pendulum`) against MuJoCo on
//! dm_control 1.0.50's own XML (feature `mujoco`; run `scripts/setup-mujoco.sh` first).
//!
//! Same start state and the same 1000 actions in both; MuJoCo steps the vendored model with its
//! own integrator (acrobot RK4 at 0.01, pendulum Euler at 0.02) and `ctrl = action`, leaving the
//! clamping to the actuator's `ctrlrange`. qpos/qvel must agree to a tolerance, and the port's
//! observation and reward must equal dm_control's, computed here from MuJoCo's body frames and
//! site positions the way `suite/acrobot.py` and `suite/pendulum.py` do.
#![cfg(feature = "mujoco")]

use koopman::envs::acrobot::Acrobot;
use koopman::envs::mujoco::Sim;
use koopman::envs::pendulum::Pendulum;
use koopman::envs::tolerance::{Sigmoid, Tolerance};
use koopman::envs::Env;
use koopman::util::rng::Rng;
use mujoco_rs::prelude::{MjtIntegrator, MjtObjBase};

const ACROBOT_XML: &str = include_str!("../src/envs/mujoco/assets/dmc/acrobot.xml");
const PENDULUM_XML: &str = include_str!("../src/envs/mujoco/assets/dmc/pendulum.xml");

const STEPS: usize = 1000;
/// Actions are drawn from ±ACTION_RANGE, so about a fifth of them exercise the clamp to ±1.
const ACTION_RANGE: f64 = 1.25;
/// Row-major `xmat` entries dm_control reads by name.
const XZ: usize = 2;
const ZZ: usize = 8;

fn load(xml: &str) -> Sim {
    // The suite's common includes only add textures, materials and a headlight.
    let xml = koopman::envs::mujoco::dmc::standalone(xml).unwrap_or_else(|e| panic!("{e}"));
    Sim::from_xml(&xml).unwrap_or_else(|e| panic!("{e}"))
}

fn id(sim: &Sim, kind: MjtObjBase, name: &str) -> usize {
    sim.model()
        .name_to_id(kind, name)
        .unwrap_or_else(|| panic!("no {kind:?} named {name}"))
}

/// Checks the model's integrator, timestep, joint damping and the single actuator's gear and
/// control range against the constants the port hard-codes.
fn check_model(sim: &Sim, integrator: MjtIntegrator, dt: f64, damping: &[f64], gear: f64) {
    let opt = sim.model().opt();
    assert_eq!(opt.integrator, integrator as i32, "integrator");
    assert_eq!(opt.timestep, dt, "timestep");
    assert_eq!(sim.model().dof_damping(), damping, "joint damping");
    assert_eq!(sim.model().ffi().nu, 1);
    assert_eq!(sim.model().actuator_gear()[0][0], gear, "gear");
    assert!(sim.model().actuator_ctrllimited()[0], "ctrllimited");
    assert_eq!(
        sim.model().actuator_ctrlrange()[0],
        [-1.0, 1.0],
        "ctrlrange"
    );
}

fn actions(seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..STEPS)
        .map(|_| rng.range(-ACTION_RANGE, ACTION_RANGE) as f32)
        .collect()
}

/// Largest deviations over a trajectory.
#[derive(Default, Debug)]
struct Maxima {
    qpos: f64,
    qvel: f64,
    /// Deviation of the f32 observation/reward from MuJoCo's f64 value beyond f32 rounding
    /// (half an ulp, at most `|x|·2⁻²⁴`), i.e. what the state error contributes.
    obs: f64,
    reward: f64,
    /// Steps where the f32 observation or reward differed in any bit.
    obs_bit_diffs: usize,
    reward_bit_diffs: usize,
    /// Steps with a non-zero reward (so the reward comparison is not vacuous).
    rewarded: usize,
}

impl Maxima {
    fn state(&mut self, port_q: &[f64], port_v: &[f64], sim: &Sim) {
        for (a, b) in port_q.iter().zip(sim.qpos()) {
            self.qpos = self.qpos.max((a - b).abs());
        }
        for (a, b) in port_v.iter().zip(sim.qvel()) {
            self.qvel = self.qvel.max((a - b).abs());
        }
    }

    fn obs_reward(&mut self, obs: &[f32], reward: f32, mj_obs: &[f64], mj_reward: f64) {
        assert_eq!(obs.len(), mj_obs.len());
        let mut bits = false;
        for (&o, &m) in obs.iter().zip(mj_obs) {
            self.obs = self.obs.max(beyond_rounding(o, m));
            bits |= o.to_bits() != (m as f32).to_bits();
        }
        self.obs_bit_diffs += usize::from(bits);
        self.reward = self.reward.max(beyond_rounding(reward, mj_reward));
        self.rewarded += usize::from(mj_reward > 0.0);
        self.reward_bit_diffs += usize::from(reward.to_bits() != (mj_reward as f32).to_bits());
    }

    /// Observations are sines/cosines of qpos and qvel itself, the rewards smooth functions of
    /// them with slope ≤ 1.5, so beyond f32 rounding they deviate like the state.
    fn check(&self, name: &str, tol_state: f64, tol_obs: f64) {
        println!("{name}: {self:?}");
        assert!(
            self.qpos <= tol_state,
            "{name}: max |Δqpos| {:e}",
            self.qpos
        );
        assert!(
            self.qvel <= tol_state,
            "{name}: max |Δqvel| {:e}",
            self.qvel
        );
        assert!(self.obs <= tol_obs, "{name}: max |Δobs| {:e}", self.obs);
        assert!(
            self.reward <= tol_obs,
            "{name}: max |Δreward| {:e}",
            self.reward
        );
    }
}

/// `|x − m|` less the rounding of `m` to f32 (`f32::EPSILON/2` relative), floored at 0.
fn beyond_rounding(x: f32, m: f64) -> f64 {
    ((f64::from(x) - m).abs() - m.abs() * f64::from(f32::EPSILON) / 2.0).max(0.0)
}

/// dm_control's acrobot observation and swing-up reward from MuJoCo's state.
fn acrobot_obs_reward(sim: &Sim, bodies: [usize; 2], sites: [usize; 2]) -> ([f64; 6], f64) {
    let d = sim.data();
    let (xmat, site_xpos) = (d.xmat(), d.site_xpos());
    let [upper, lower] = bodies.map(|b| xmat[b]);
    let v = sim.qvel();
    let obs = [upper[XZ], lower[XZ], upper[ZZ], lower[ZZ], v[0], v[1]];
    let [target, tip] = sites.map(|s| site_xpos[s]);
    let dist = (0..3)
        .map(|i| (target[i] - tip[i]).powi(2))
        .sum::<f64>()
        .sqrt();
    let radius = sim.model().site_size()[sites[0]][0];
    let reward = Tolerance::new((0.0, radius), 1.0, Sigmoid::Gaussian, 0.1)
        .unwrap()
        .eval(dist);
    (obs, reward)
}

fn acrobot_run(start: [f64; 4], seed: u64) -> Maxima {
    let mut sim = load(ACROBOT_XML);
    check_model(&sim, MjtIntegrator::mjINT_RK4, 0.01, &[0.05, 0.05], 2.0);
    let bodies = ["upper_arm", "lower_arm"].map(|n| id(&sim, MjtObjBase::mjOBJ_BODY, n));
    let sites = ["target", "tip"].map(|n| id(&sim, MjtObjBase::mjOBJ_SITE, n));
    let mut port = Acrobot::new();
    port.set_state(start);
    sim.set_state(&start[..2], &start[2..]);
    let mut m = Maxima::default();
    m.state(&start[..2], &start[2..], &sim);
    let mut obs = [0f32; 6];
    for a in actions(seed) {
        let (reward, terminated, _) = port.step_into(&[a], &mut obs);
        assert!(!terminated);
        sim.step(&[f64::from(a)], 1);
        sim.forward();
        let s = port.state();
        m.state(&s[..2], &s[2..], &sim);
        let (mj_obs, mj_reward) = acrobot_obs_reward(&sim, bodies, sites);
        m.obs_reward(&obs, reward, &mj_obs, mj_reward);
    }
    m
}

/// dm_control's pendulum observation and swing-up reward from MuJoCo's state.
fn pendulum_obs_reward(sim: &Sim, pole: usize) -> ([f64; 3], f64) {
    let x = sim.data().xmat()[pole];
    let obs = [x[ZZ], x[XZ], sim.qvel()[0]];
    let reward = Tolerance::new((8f64.to_radians().cos(), 1.0), 0.0, Sigmoid::Gaussian, 0.1)
        .unwrap()
        .eval(x[ZZ]);
    (obs, reward)
}

fn pendulum_run(start: (f64, f64), seed: u64) -> Maxima {
    let mut sim = load(PENDULUM_XML);
    check_model(&sim, MjtIntegrator::mjINT_EULER, 0.02, &[0.1], 1.0);
    let pole = id(&sim, MjtObjBase::mjOBJ_BODY, "pole");
    let mut port = Pendulum::new();
    port.set_state(start.0, start.1);
    sim.set_state(&[start.0], &[start.1]);
    let mut m = Maxima::default();
    let mut obs = [0f32; 3];
    for a in actions(seed) {
        let (reward, terminated, _) = port.step_into(&[a], &mut obs);
        assert!(!terminated);
        sim.step(&[f64::from(a)], 1);
        sim.forward();
        let (q, v) = port.state();
        m.state(&[q], &[v], &sim);
        let (mj_obs, mj_reward) = pendulum_obs_reward(&sim, pole);
        m.obs_reward(&obs, reward, &mj_obs, mj_reward);
    }
    m
}

/// Start states: the port's own resets (seeds 0..3, at rest) and a moving one.
fn acrobot_starts() -> Vec<[f64; 4]> {
    let mut starts: Vec<[f64; 4]> = (0..3)
        .map(|seed| {
            let mut env = Acrobot::new();
            env.reset_into(seed, &mut [0f32; 6]);
            env.state()
        })
        .collect();
    starts.push([0.3, -2.0, 1.5, -0.7]);
    starts
}

#[test]
fn acrobot_port_matches_mujoco_over_1000_steps() {
    let mut worst = Maxima::default();
    for (i, start) in acrobot_starts().into_iter().enumerate() {
        let m = acrobot_run(start, 100 + i as u64);
        m.check(&format!("acrobot start {i}"), 1e-8, 2e-8);
        worst.qpos = worst.qpos.max(m.qpos);
        worst.qvel = worst.qvel.max(m.qvel);
        worst.rewarded += m.rewarded;
    }
    assert!(worst.rewarded > 0, "no step was rewarded");
    println!(
        "acrobot worst: qpos {:e}, qvel {:e}",
        worst.qpos, worst.qvel
    );
}

#[test]
fn pendulum_port_matches_mujoco_over_1000_steps() {
    let mut starts: Vec<(f64, f64)> = (0..3)
        .map(|seed| {
            let mut env = Pendulum::new();
            env.reset_into(seed, &mut [0f32; 3]);
            env.state()
        })
        .collect();
    // A fast swing, and a start within the rewarded 8° of upright.
    starts.extend([(2.5, -3.0), (0.05, 0.0)]);
    let mut rewarded = 0;
    for (i, start) in starts.into_iter().enumerate() {
        let m = pendulum_run(start, 200 + i as u64);
        m.check(&format!("pendulum start {i}"), 1e-10, 2e-10);
        rewarded += m.rewarded;
    }
    assert!(rewarded > 0, "no step was rewarded");
}
