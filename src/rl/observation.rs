//! The check every agent makes of an observation before acting on it.
use crate::{Error, Result};

/// `obs` has `dim` values, all finite; `who` names the agent in the error.
pub fn check_observation(obs: &[f32], dim: usize, who: &str) -> Result<()> {
    if obs.len() != dim {
        return Err(Error::Shape(format!(
            "{who}: observation has {} values, the agent takes {dim}",
            obs.len()
        )));
    }
    if let Some(i) = obs.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite(format!(
            "{who}: observation value {i} is {}",
            obs[i]
        )));
    }
    Ok(())
}
