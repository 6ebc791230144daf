//! Gymnasium MuJoCo environments on libmujoco 3.17.0 (cargo feature `mujoco`).
//!
//! MuJoCo does the physics; the task logic (observation, reward, termination, reset noise) is a
//! port of Gymnasium 1.4.0's `*_v5.py`. The library is linked dynamically: run
//! `scripts/setup-mujoco.sh` and export what it prints before building with `--features mujoco`.
//! The same library and XML give the same trajectories as Python (`tests/mujoco_envs.rs`).
//!
//! Vendored models live in `assets/` (Gymnasium's, MIT; see `assets/LICENSE-gymnasium`).

pub mod hopper;

pub use hopper::Hopper;

use mujoco_rs::prelude::{MjData, MjModel};

/// The MuJoCo release mujoco-rs 7.0.0 is bound to; any other library is refused.
pub const MUJOCO_VERSION: &str = "3.17.0";

/// How to get the right library, appended to every load error.
pub const SETUP_HINT: &str = "run scripts/setup-mujoco.sh and export what it prints \
     (MUJOCO_DYNAMIC_LINK_DIR, LD_LIBRARY_PATH), then rebuild with --features mujoco";

/// Checks that the loaded libmujoco is the release the bindings were generated for.
pub fn check_library() -> Result<(), String> {
    let found = mujoco_rs::mujoco_version();
    if found == MUJOCO_VERSION {
        Ok(())
    } else {
        Err(format!(
            "libmujoco {found} is loaded but {MUJOCO_VERSION} is required; {SETUP_HINT}"
        ))
    }
}

/// A model with its simulation state: a thin owner of `mjModel` + `mjData`.
pub struct Sim {
    data: MjData<Box<MjModel>>,
}

impl Sim {
    /// Compiles an MJCF document (no external files) after checking the library version.
    pub fn from_xml(xml: &str) -> Result<Self, String> {
        check_library()?;
        let model = MjModel::from_xml_string(xml)
            .map_err(|e| format!("MuJoCo could not load the model: {e}"))?;
        let data = MjData::new(Box::new(model));
        Ok(Self { data })
    }

    pub fn model(&self) -> &MjModel {
        self.data.model()
    }

    /// Physics timestep (`opt.timestep`).
    pub fn timestep(&self) -> f64 {
        self.model().opt().timestep
    }

    pub fn qpos(&self) -> &[f64] {
        self.data.qpos()
    }

    pub fn qvel(&self) -> &[f64] {
        self.data.qvel()
    }

    /// `mj_resetData`: the model's default state (`qpos0`, zero velocity, time 0).
    pub fn reset(&mut self) {
        self.data.reset();
    }

    /// Gymnasium's `set_state`: writes `qpos` and `qvel` (prefixes if shorter) and runs
    /// `mj_forward`.
    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        for (d, s) in self.data.qpos_mut().iter_mut().zip(qpos) {
            *d = *s;
        }
        for (d, s) in self.data.qvel_mut().iter_mut().zip(qvel) {
            *d = *s;
        }
        self.data.forward();
    }

    /// Sets `ctrl` (a prefix if shorter) and advances `n` physics steps (`mj_step`).
    pub fn step(&mut self, ctrl: &[f64], n: usize) {
        for (d, s) in self.data.ctrl_mut().iter_mut().zip(ctrl) {
            *d = *s;
        }
        for _ in 0..n {
            self.data.step();
        }
    }
}
