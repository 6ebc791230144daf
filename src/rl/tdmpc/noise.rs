//! π's exploration noise, TD-MPC's `TruncatedNormal(μ, std).sample(clip=0.3)`:
//! a = clamp(μ + clip(std·ε, ±0.3), −1 + 1e-6, 1 − 1e-6), ε ~ N(0, 1).
use crate::util::rng::Rng;

/// The noise clip (TD-MPC's `clip=0.3`).
const CLIP: f32 = 0.3;
/// Samples stay strictly inside (−1, 1).
const EDGE: f32 = 1.0 - 1e-6;

/// Replaces each mean action in `a` by a sample around it.
pub fn sample_in_place(a: &mut [f32], std: f32, rng: &mut Rng) {
    for x in a {
        let eps = (std * rng.normal() as f32).clamp(-CLIP, CLIP);
        *x = (*x + eps).clamp(-EDGE, EDGE);
    }
}

/// Writes `offset` = sample − mean for each mean in `mean`: added to the mean on a tape, it gives
/// the sample's value with the mean's gradient (TD-MPC's straight-through `x − x.detach() +
/// clamped.detach()`).
pub fn straight_through(mean: &[f32], std: f32, rng: &mut Rng, offset: &mut [f32]) {
    for (o, &m) in offset.iter_mut().zip(mean) {
        let eps = (std * rng.normal() as f32).clamp(-CLIP, CLIP);
        *o = (m + eps).clamp(-EDGE, EDGE) - m;
    }
}
