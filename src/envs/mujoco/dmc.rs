//! What the dm_control suite tasks on MuJoCo share: the vendored models with their
//! `common/*.xml` includes inlined, dm_control's `control.Environment` stepping and
//! `reset_context`, and the accessors and `Env` impl of the tasks (`dmc_task!`).
//!
//! **Reset seeds.** `reset_into(seed, ..)` starts exactly where dm_control starts on the first
//! `env.reset()` of `suite.load(domain, task, task_kwargs={'random': seed})`: same `qpos`, `qvel`
//! and first observation. Each reset draws from a fresh `np.random.RandomState(seed)`
//! ([`RandomState`], see [`task_random`]), in the order the task's `initialize_episode` draws. So
//! a sequence of resets with seeds `s₁, s₂, …` gives the starts of `s₁, s₂, …` each loaded
//! afresh, not the successive episodes of one dm_control environment (which keep drawing from
//! one generator). NumPy only accepts seeds below 2³²; a larger seed is taken modulo 2³² (its
//! low 32 bits), so `seed` and `seed + 2³²` give the same start.

use super::Sim;
use crate::envs::tick;
use crate::util::numpy_random_state::RandomState;
use mujoco_rs::prelude::{MjModel, MjtDisableBit, MjtIntegrator, MjtJoint};

/// dm_control 1.0.50's `suite/common/*.xml` (Apache-2.0; see `assets/dmc/LICENSE`).
const COMMON: [(&str, &str); 3] = [
    (
        "./common/visual.xml",
        include_str!("assets/dmc/common/visual.xml"),
    ),
    (
        "./common/skybox.xml",
        include_str!("assets/dmc/common/skybox.xml"),
    ),
    (
        "./common/materials.xml",
        include_str!("assets/dmc/common/materials.xml"),
    ),
];

/// Replaces each `<include file="./common/..."/>` of a suite model by the included file's body,
/// so that the model compiles from one string. The includes only add textures, materials and a
/// headlight (rendering); the physics is the file's own.
pub fn standalone(xml: &str) -> Result<String, String> {
    let mut out = xml.to_string();
    for (file, text) in COMMON {
        let include = format!("<include file=\"{file}\"/>");
        let (Some(start), Some(end)) = (text.find("<mujoco>"), text.rfind("</mujoco>")) else {
            return Err(format!("{file}: no <mujoco> element"));
        };
        out = out.replace(&include, &text[start + "<mujoco>".len()..end]);
    }
    if out.contains("<include") {
        return Err("unresolved <include> in a dm_control model".into());
    }
    Ok(out)
}

/// dm_control's task generator for an `Env` seed: `np.random.RandomState(seed)` for
/// `seed < 2³²`; larger seeds are reduced modulo 2³² (NumPy would raise `ValueError`).
pub(crate) fn task_random(seed: u64) -> RandomState {
    RandomState::new(seed as u32)
}

/// What every suite task on [`DmcSim`] shares: state access, f64/f32 observation and stepping,
/// and the `Env` impl. Each task supplies `new`, `reward`, `reset_state` (the initial-state
/// distribution, inside [`DmcSim::reset_context`]) and `observe_f64`, a field `d: DmcSim`, and the
/// consts `NU` and `OBS_DIM`. dm_control's suite tasks never terminate.
macro_rules! dmc_task {
    ($ty:ident, $name:literal) => {
        dmc_task!($ty, |_env| $name);
    };
    // `$name` maps `&self` to the registry name, for a type that serves several tasks.
    ($ty:ident, |$env:ident| $name:expr) => {
        impl $ty {
            /// Control timestep (`timestep · n_sub_steps`).
            pub fn dt(&self) -> f64 {
                self.d.dt()
            }
            pub fn qpos(&self) -> &[f64] {
                self.d.sim().qpos()
            }
            pub fn qvel(&self) -> &[f64] {
                self.d.sim().qvel()
            }
            /// `physics.reset_context()` writing `qpos`/`qvel`; the step counter restarts.
            pub fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
                self.d.reset_to(qpos, qvel);
            }
            fn advance(&mut self, action: &[f64; NU]) -> $crate::envs::mujoco::StepF64 {
                let truncated = self.d.advance(action);
                $crate::envs::mujoco::StepF64 {
                    reward: self.reward(),
                    terminated: false,
                    truncated,
                }
            }
        }

        mujoco_env!($ty, |$env| $name);

        impl $crate::envs::mujoco::DmcTask for $ty {
            fn sim(&self) -> &$crate::envs::mujoco::Sim {
                self.d.sim()
            }
            fn sim_mut(&mut self) -> &mut $crate::envs::mujoco::Sim {
                self.d.sim_mut()
            }
            fn pixel_camera(&self) -> usize {
                $crate::envs::mujoco::dmc_task::pixel_camera_of($crate::envs::Env::name(self))
            }
        }
    };
}

/// A suite model stepped as dm_control's `control.Environment` does: `ctrl = action` (MuJoCo
/// clamps to `ctrlrange`; or the action rescaled, see [`DmcSim::with_scaled_actions`]), then `Physics.step(n_sub_steps)` in its legacy form, which leaves the
/// position and velocity dependent quantities (body frames, velocity sensors) up to date for the
/// new state and the acceleration sensors as computed during the last physics step.
pub(crate) struct DmcSim {
    sim: Sim,
    n_sub_steps: usize,
    rk4: bool,
    /// `(ctrlrange low, (high − low)/2)` per actuator when actions in `[−1, 1]` are rescaled to
    /// `ctrlrange` (dm_control's `action_scale.Wrapper(env, −1, 1)`); `None`: `ctrl = action`.
    scale: Option<Vec<(f64, f64)>>,
    steps: u32,
}

impl DmcSim {
    /// Loads `xml` (a suite model with includes), checking the library and `(nq, nv, nu)`.
    pub fn new(
        xml: &str,
        name: &str,
        sizes: (usize, usize, usize),
        n_sub_steps: usize,
    ) -> Result<Self, String> {
        Self::new_edited(xml, name, sizes, n_sub_steps, |_| Ok(()))
    }

    /// [`DmcSim::new`] with the model values a task's `initialize_episode` sets on every reset
    /// (the same each time) set once, by `edit`, before the state is made.
    pub fn new_edited(
        xml: &str,
        name: &str,
        (nq, nv, nu): (usize, usize, usize),
        n_sub_steps: usize,
        edit: impl FnOnce(&mut MjModel) -> Result<(), String>,
    ) -> Result<Self, String> {
        let sim = Sim::from_xml_edited(&standalone(xml)?, edit)?;
        let m = sim.model().ffi();
        if (m.nq as usize, m.nv as usize, m.nu as usize) != (nq, nv, nu) {
            return Err(format!(
                "{name}: expected nq={nq}, nv={nv}, nu={nu}, got {}, {}, {}",
                m.nq, m.nv, m.nu
            ));
        }
        let rk4 = sim.model().opt().integrator == MjtIntegrator::mjINT_RK4 as i32;
        Ok(Self {
            sim,
            n_sub_steps,
            rk4,
            scale: None,
            steps: 0,
        })
    }

    /// Maps actions in `[−1, 1]` affinely onto each actuator's `ctrlrange`, with
    /// `action_scale.Wrapper`'s arithmetic `low + (high − low)/2 · (a − (−1))`, as the usual DMC
    /// agent pipelines (DrQ-v2, TD-MPC) do for models whose ranges are not `[−1, 1]`.
    pub fn with_scaled_actions(mut self) -> Self {
        let ranges = self.sim.model().actuator_ctrlrange();
        self.scale = Some(
            ranges
                .iter()
                .map(|&[lo, hi]| (lo, (hi - lo) / 2.0))
                .collect(),
        );
        self
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    /// Control timestep: `timestep · n_sub_steps`.
    pub fn dt(&self) -> f64 {
        self.sim.timestep() * self.n_sub_steps as f64
    }

    /// `physics.reset_context()`: `reset` (`mj_resetData` and `mj_forward` with actuation
    /// disabled), then `init` (the task's `initialize_episode`), then `after_reset` (the same
    /// `mj_forward`); the step counter restarts. The first forward matters when `init` steps the
    /// physics: dm_control's first `mj_step2` then sees `qpos0`'s derived quantities.
    pub fn reset_context(&mut self, init: impl FnOnce(&mut Self)) {
        self.nested_reset_context(init);
        self.steps = 0;
    }

    /// `reset_context()` inside a task's `initialize_episode` (quadruped's height search): the
    /// same, without touching the step counter.
    pub fn nested_reset_context(&mut self, init: impl FnOnce(&mut Self)) {
        self.sim.reset();
        self.forward_unactuated();
        init(self);
        self.forward_unactuated();
    }

    /// `reset_context()` writing `qpos`/`qvel` (prefixes if shorter).
    pub fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.reset_context(|d| d.write_state(qpos, qvel));
    }

    /// Writes `qpos`/`qvel` (prefixes if shorter) without recomputing anything, as assigning to
    /// `physics.data` does.
    pub fn write_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        let data = self.sim.data_mut();
        for (d, s) in data.qpos_mut().iter_mut().zip(qpos) {
            *d = *s;
        }
        for (d, s) in data.qvel_mut().iter_mut().zip(qvel) {
            *d = *s;
        }
    }

    /// `mj_forward` with `mjDSBL_ACTUATION` set (dm_control's `reset`/`after_reset`: no meaningful
    /// control yet), so the acceleration sensors read the unactuated state.
    pub fn forward_unactuated(&mut self) {
        let data = self.sim.data_mut();
        let flags = data.model_opt().disableflags;
        data.model_opt_mut().disableflags = flags | MjtDisableBit::mjDSBL_ACTUATION as i32;
        data.forward();
        data.model_opt_mut().disableflags = flags;
    }

    /// Number of contacts found by the last forward pass.
    pub fn ncon(&self) -> usize {
        self.sim.data().ncon().max(0) as usize
    }

    /// dm_control's `randomizers.randomize_limited_and_rotational_joints` for models made of
    /// hinges and slides, written into `qpos` (call inside [`DmcSim::reset_context`]): a limited
    /// joint is drawn uniformly within its range; with `unlimited_hinges` an unlimited hinge is
    /// drawn in `[−π, π]`, otherwise it keeps its value (cheetah's `initialize_episode`).
    /// Unlimited slides keep theirs. One `uniform` draw per randomised joint, in joint order, as
    /// both dm_control functions draw (cheetah's vectorised `uniform(lower, upper)` draws its
    /// elements in order with the same arithmetic).
    pub fn randomize_joints(&mut self, rng: &mut RandomState, unlimited_hinges: bool) {
        for j in 0..self.sim.model().ffi().njnt as usize {
            let m = self.sim.model();
            let adr = m.jnt_qposadr()[j] as usize;
            let [lo, hi] = m.jnt_range()[j];
            let value = match (m.jnt_type()[j], m.jnt_limited()[j]) {
                (MjtJoint::mjJNT_HINGE | MjtJoint::mjJNT_SLIDE, true) => rng.uniform(lo, hi),
                (MjtJoint::mjJNT_HINGE, false) if unlimited_hinges => {
                    rng.uniform(-std::f64::consts::PI, std::f64::consts::PI)
                }
                _ => continue,
            };
            self.sim.data_mut().qpos_mut()[adr] = value;
        }
    }

    /// dm_control's legacy `Physics.step(n)` after setting `ctrl`: for Euler-type integrators
    /// `mj_step2` (relying on the previous `mj_step1`/`mj_forward`), `n − 1` further `mj_step`s,
    /// then `mj_step1`; for RK4 `n` `mj_step`s then `mj_step1`. No step counting.
    pub fn physics_step(&mut self, ctrl: &[f64], n: usize) {
        for (d, s) in self.sim.data_mut().ctrl_mut().iter_mut().zip(ctrl) {
            *d = *s;
        }
        self.step_with_ctrl(n);
    }

    /// [`DmcSim::physics_step`] with the controls already in `mjData`.
    fn step_with_ctrl(&mut self, n: usize) {
        let rk4 = self.rk4;
        let data = self.sim.data_mut();
        if n == 0 {
            return;
        }
        if rk4 {
            data.step();
        } else {
            data.step2();
        }
        for _ in 1..n {
            data.step();
        }
        data.step1();
    }

    /// One control step with `action` (in `[−1, 1]`, rescaled if so configured); returns whether
    /// the episode hit its step limit.
    pub fn advance(&mut self, action: &[f64]) -> bool {
        match &self.scale {
            None => self.physics_step(action, self.n_sub_steps),
            Some(scale) => {
                let ctrl = self.sim.data_mut().ctrl_mut();
                for ((c, &a), &(lo, s)) in ctrl.iter_mut().zip(action).zip(scale) {
                    *c = lo + s * (a - -1.0);
                }
                self.step_with_ctrl(self.n_sub_steps);
            }
        }
        tick(&mut self.steps)
    }
}
