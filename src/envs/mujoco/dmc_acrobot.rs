//! `dmc-acrobot-swingup`: dm_control 1.0.50's `suite/acrobot.py` swingup task on MuJoCo with the
//! vendored `assets/dmc/acrobot.xml` (the pure-Rust port is [`crate::envs::Acrobot`]).
//!
//! - Observation (6): `orientations` (the `xz` then the `zz` entries of the upper and lower arm
//!   `xmat`) ‖ `velocity = qvel`.
//! - Reward: `tolerance(‖target − tip‖, bounds=(0, 0.2), margin=1)` (Gaussian, 0.1 at the
//!   margin), with 0.2 the target site's radius.
//! - Control timestep = physics timestep 0.01 (RK4, constraints off); 1000 steps per episode,
//!   never terminates.
//! - Reset: shoulder and elbow uniform in `[−π, π)` (`uniform(-π, π, 2)` of `RandomState(seed)`,
//!   as dm_control), zero velocity.
//!
//! Actions are clamped to `[−1, 1]`, as MuJoCo's `ctrlrange` does to dm_control's raw action.

use super::dmc::{task_random, DmcSim};
use crate::envs::tolerance::{Sigmoid, Tolerance, DEFAULT_VALUE_AT_MARGIN};
use mujoco_rs::prelude::MjtObjBase as MjtObj;

/// dm_control's `suite/acrobot.xml` (Apache-2.0, DeepMind Technologies).
pub const XML: &str = include_str!("assets/dmc/acrobot.xml");

const NQ: usize = 2;
const NV: usize = 2;
const NU: usize = 1;
pub const OBS_DIM: usize = 2 * NQ + NV;

/// The MuJoCo acrobot-swingup task. Construct with [`DmcAcrobotSwingup::new`] or via
/// [`crate::envs::make`].
pub struct DmcAcrobotSwingup {
    d: DmcSim,
    /// Body ids of the upper and lower arm.
    arms: [usize; 2],
    /// Site ids of the target and the tip.
    target: usize,
    tip: usize,
    near_target: Tolerance,
}

impl DmcAcrobotSwingup {
    /// Loads the model (checking the MuJoCo library) and resets with seed 0.
    pub fn new() -> Result<Self, String> {
        let d = DmcSim::new(XML, "dmc acrobot.xml", (NQ, NV, NU), 1)?;
        let m = d.sim().model();
        let id = |kind, name: &str| {
            m.name_to_id(kind, name)
                .ok_or_else(|| format!("dmc acrobot.xml: no {name}"))
        };
        let arms = [
            id(MjtObj::mjOBJ_BODY, "upper_arm")?,
            id(MjtObj::mjOBJ_BODY, "lower_arm")?,
        ];
        let (target, tip) = (
            id(MjtObj::mjOBJ_SITE, "target")?,
            id(MjtObj::mjOBJ_SITE, "tip")?,
        );
        let radius = m.site_size()[target][0];
        let near_target = Tolerance::new(
            (0.0, radius),
            1.0,
            Sigmoid::Gaussian,
            DEFAULT_VALUE_AT_MARGIN,
        )?;
        let mut env = Self {
            d,
            arms,
            target,
            tip,
            near_target,
        };
        env.reset_state(0);
        Ok(env)
    }

    /// `Physics.to_target()`: distance from the tip to the target centre. The sum of squares is
    /// a fused multiply-add chain, as NumPy's `linalg.norm` (BLAS `ddot`) computes it.
    pub fn to_target(&self) -> f64 {
        let x = self.d.sim().data().site_xpos();
        let [a, b] = [x[self.target], x[self.tip]];
        let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
        d[2].mul_add(d[2], d[1].mul_add(d[1], d[0] * d[0])).sqrt()
    }

    /// The flattened observation in f64 (dm_control's dtype); a prefix if `obs` is shorter.
    pub fn observe_f64(&self, obs: &mut [f64]) {
        let xmat = self.d.sim().data().xmat();
        let [u, l] = self.arms.map(|b| xmat[b]);
        let all = [u[2], l[2], u[8], l[8]]
            .into_iter()
            .chain(self.qvel().iter().copied());
        for (o, x) in obs.iter_mut().zip(all) {
            *o = x;
        }
    }

    fn reward(&self) -> f64 {
        self.near_target.eval(self.to_target())
    }

    fn reset_state(&mut self, seed: u64) {
        let mut rng = task_random(seed);
        let pi = std::f64::consts::PI;
        let angles = [rng.uniform(-pi, pi), rng.uniform(-pi, pi)];
        self.d.reset_context(|d| d.write_state(&angles, &[]));
    }
}

dmc_task!(DmcAcrobotSwingup, "dmc-acrobot-swingup");
