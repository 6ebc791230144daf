//! What the dm_control suite tasks on MuJoCo share: the vendored models with their
//! `common/*.xml` includes inlined, and dm_control's `control.Environment` stepping.

use super::Sim;
use crate::envs::tick;
use crate::util::rng::Rng;
use mujoco_rs::prelude::MjtJoint;

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

/// A suite model stepped as dm_control's `control.Environment` does: `ctrl = action` (MuJoCo
/// clamps to `ctrlrange`), `n_sub_steps` physics steps per control step, then the position and
/// velocity dependent quantities (body frames, velocity sensors) brought up to date for the new
/// state (dm_control's legacy `Physics.step` ends with `mj_step1`; here `mj_forward`).
pub(crate) struct DmcSim {
    sim: Sim,
    n_sub_steps: usize,
    steps: u32,
}

impl DmcSim {
    /// Loads `xml` (a suite model with includes), checking the library and `(nq, nv, nu)`.
    pub fn new(
        xml: &str,
        name: &str,
        (nq, nv, nu): (usize, usize, usize),
        n_sub_steps: usize,
    ) -> Result<Self, String> {
        let sim = Sim::from_xml(&standalone(xml)?)?;
        let m = sim.model().ffi();
        if (m.nq as usize, m.nv as usize, m.nu as usize) != (nq, nv, nu) {
            return Err(format!(
                "{name}: expected nq={nq}, nv={nv}, nu={nu}, got {}, {}, {}",
                m.nq, m.nv, m.nu
            ));
        }
        Ok(Self {
            sim,
            n_sub_steps,
            steps: 0,
        })
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

    /// `physics.reset_context()` with `qpos`/`qvel` written inside it: `mj_resetData`, the
    /// state, `mj_forward`; the step counter restarts.
    pub fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.sim.reset();
        self.sim.set_state(qpos, qvel);
        self.steps = 0;
    }

    /// Random joint angles for models made of hinges and slides, starting from `mj_resetData`'s
    /// `qpos0`: a limited joint is drawn uniformly within its range; with `unlimited_hinges` an
    /// unlimited hinge is drawn in `[−π, π]` (dm_control's
    /// `randomizers.randomize_limited_and_rotational_joints`), otherwise it keeps its value
    /// (cheetah's `initialize_episode`). Unlimited slides keep theirs. Returns `qpos`.
    pub fn randomized_qpos(&mut self, rng: &mut Rng, unlimited_hinges: bool) -> Vec<f64> {
        self.sim.reset();
        let mut qpos = self.sim.qpos().to_vec();
        let m = self.sim.model();
        for j in 0..m.ffi().njnt as usize {
            let adr = m.jnt_qposadr()[j] as usize;
            let [lo, hi] = m.jnt_range()[j];
            match (m.jnt_type()[j], m.jnt_limited()[j]) {
                (MjtJoint::mjJNT_HINGE | MjtJoint::mjJNT_SLIDE, true) => {
                    qpos[adr] = rng.range(lo, hi)
                }
                (MjtJoint::mjJNT_HINGE, false) if unlimited_hinges => {
                    qpos[adr] = rng.range(-std::f64::consts::PI, std::f64::consts::PI)
                }
                _ => {}
            }
        }
        qpos
    }

    /// Physics steps with `ctrl` (no step counting), then `mj_forward`.
    pub fn settle(&mut self, ctrl: &[f64], n: usize) {
        self.sim.step(ctrl, n);
        self.sim.forward();
    }

    /// One control step; returns whether the episode hit its step limit.
    pub fn advance(&mut self, ctrl: &[f64]) -> bool {
        self.sim.step(ctrl, self.n_sub_steps);
        self.sim.forward();
        tick(&mut self.steps)
    }
}
