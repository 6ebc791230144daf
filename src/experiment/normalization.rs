//! The normaliser as JSON, stored in checkpoints so evaluation uses the training statistics.
use crate::data::Normalizer;
use crate::{Error, Result};
use serde_json::{json, Value};

pub fn normalizer_to_json(n: &Normalizer) -> Value {
    json!({ "obs_mean": n.obs_mean, "obs_std": n.obs_std, "reward_std": n.reward_std })
}

pub fn normalizer_from_json(v: &Value, source: &str) -> Result<Normalizer> {
    let field = |k: &str| {
        v.get(k)
            .ok_or_else(|| Error::Invalid(format!("{source}: missing field 'normalization.{k}'")))
    };
    let floats = |k: &str| -> Result<Vec<f32>> {
        field(k)?
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_f64().map(|f| f as f32))
                    .collect::<Option<Vec<f32>>>()
            })
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{source}: field 'normalization.{k}' is not a list of numbers"
                ))
            })
    };
    let (obs_mean, obs_std) = (floats("obs_mean")?, floats("obs_std")?);
    let reward_std = field("reward_std")?.as_f64().ok_or_else(|| {
        Error::Invalid(format!(
            "{source}: field 'normalization.reward_std' is not a number"
        ))
    })? as f32;
    if obs_mean.len() != obs_std.len()
        || obs_std
            .iter()
            .chain([&reward_std])
            .any(|s| !(s.is_finite() && *s > 0.0))
    {
        return Err(Error::Invalid(format!(
            "{source}: field 'normalization' is inconsistent"
        )));
    }
    Ok(Normalizer {
        obs_mean,
        obs_std,
        reward_std,
    })
}
