//! TD-MPC's schedules in agent steps: a constant, or `linear(init, final, duration)` (the value
//! moves linearly from `init` to `final` over `duration` steps, then stays at `final`).
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Schedule {
    Constant(f64),
    Linear { init: f64, end: f64, duration: f64 },
}

impl Schedule {
    /// The value at agent step `step`: `(1 − mix)·init + mix·end`, mix = clip(step/duration, 0, 1),
    /// as TD-MPC's `linear_schedule`.
    pub fn at(&self, step: u64) -> f64 {
        match *self {
            Schedule::Constant(v) => v,
            Schedule::Linear {
                init,
                end,
                duration,
            } => {
                let mix = (step as f64 / duration).clamp(0.0, 1.0);
                (1.0 - mix) * init + mix * end
            }
        }
    }

    /// The smallest and largest values it takes.
    pub fn range(&self) -> (f64, f64) {
        match *self {
            Schedule::Constant(v) => (v, v),
            Schedule::Linear { init, end, .. } => (init.min(end), init.max(end)),
        }
    }

    pub(crate) fn validate(&self, name: &str) -> Result<()> {
        let ok = match *self {
            Schedule::Constant(v) => v.is_finite(),
            Schedule::Linear {
                init,
                end,
                duration,
            } => init.is_finite() && end.is_finite() && duration.is_finite() && duration > 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "planner: {name} schedule {self:?} needs finite values and a duration > 0"
            )))
        }
    }
}
