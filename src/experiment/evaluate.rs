//! The paper's evaluation protocol (§4.1): random length-H windows from the test episodes, open-loop
//! prediction of all H states and rewards from the first state and the H actions, errors in
//! normalised units (states z-scored and rewards scaled with the training statistics).
use crate::data::{Dataset, Normalizer, WindowSampler};
use crate::models::{DynamicsModel, Query};
use crate::util::rng::Rng;
use crate::Result;
use std::ops::Range;

#[derive(Clone, Debug, serde::Serialize)]
pub struct EvalResult {
    /// The model's kind (koopman, mlp, gru, transformer).
    pub model: String,
    pub windows: usize,
    pub horizon: usize,
    /// Mean over windows, steps and state dimensions.
    pub state_mse: f64,
    /// Mean over windows and steps.
    pub reward_mse: f64,
    /// Per prediction step k = 1..H, mean over windows and dimensions.
    pub state_mse_per_step: Vec<f64>,
    pub reward_mse_per_step: Vec<f64>,
}

/// Evaluates on `windows` windows drawn with replacement from `episodes` (seeded), in chunks of
/// `chunk` windows through the no-grad prediction path.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    model: &dyn DynamicsModel,
    norm: &Normalizer,
    ds: &Dataset,
    episodes: &[Range<usize>],
    horizon: usize,
    windows: usize,
    seed: u64,
    source: &str,
) -> Result<EvalResult> {
    let sampler = WindowSampler::with_source(ds, episodes, horizon, source)?;
    let ds_ = ds.obs_dim;
    let mut rng = Rng::new(seed);
    let mut per_state = vec![0.0f64; horizon];
    let mut per_reward = vec![0.0f64; horizon];
    let chunk = 256usize;
    let mut pool = Vec::new();
    let mut done = 0;
    let (mut pred_s, mut pred_r) = (Vec::new(), Vec::new());
    while done < windows {
        let b = chunk.min(windows - done);
        let mut batch = sampler.sample(b, &mut rng);
        norm.apply(&mut batch);
        let s0: Vec<f32> = (0..b).flat_map(|i| batch.state(i, 0).to_vec()).collect();
        pred_s.resize(b * horizon * ds_, 0.0);
        pred_r.resize(b * horizon, 0.0);
        let q = Query::new(&s0, &batch.actions, b, horizon);
        model.predict_into(&mut pool, q, Some(&mut pred_s), &mut pred_r)?;
        for i in 0..b {
            for k in 0..horizon {
                let truth = batch.state(i, k + 1);
                let pred = &pred_s[(i * horizon + k) * ds_..(i * horizon + k + 1) * ds_];
                let se: f64 = truth
                    .iter()
                    .zip(pred)
                    .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                    .sum();
                per_state[k] += se / ds_ as f64;
                let dr = batch.rewards[i * horizon + k] as f64 - pred_r[i * horizon + k] as f64;
                per_reward[k] += dr * dr;
            }
        }
        done += b;
    }
    per_state.iter_mut().for_each(|v| *v /= windows as f64);
    per_reward.iter_mut().for_each(|v| *v /= windows as f64);
    Ok(EvalResult {
        model: model.kind().name().to_string(),
        windows,
        horizon,
        state_mse: per_state.iter().sum::<f64>() / horizon as f64,
        reward_mse: per_reward.iter().sum::<f64>() / horizon as f64,
        state_mse_per_step: per_state,
        reward_mse_per_step: per_reward,
    })
}
