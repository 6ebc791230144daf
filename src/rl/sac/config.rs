//! SAC's settings, with the defaults of `denisyarats/pytorch_sac` for DMC from states (the
//! reference implementation of the SAC numbers in the DMC literature) and of `denisyarats/drq`
//! from pixels.
use super::spr::SprConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SacConfig {
    pub obs_dim: usize,
    pub act_dim: usize,
    /// Width of the actor's and each critic's two hidden layers (ReLU). pytorch_sac: 1024.
    pub hidden: usize,
    pub batch: usize,
    /// Adam step size of the actor, the critics and the temperature. pytorch_sac: 1e-4.
    pub lr: f64,
    pub gamma: f64,
    /// Polyak rate of the target critics. pytorch_sac: 0.005.
    pub tau: f64,
    /// Updates between target-critic updates. pytorch_sac: 2.
    pub target_every: u64,
    /// Updates between actor (and temperature) updates. pytorch_sac: 1.
    pub actor_every: u64,
    /// The initial entropy temperature α. pytorch_sac: 0.1.
    pub init_alpha: f64,
    /// Bounds of the actor's log σ (a tanh squashes into them). pytorch_sac: [−5, 2].
    pub log_std_min: f64,
    pub log_std_max: f64,
    /// Observations are stacked frames, read through a conv encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixels: Option<PixelConfig>,
    /// SAC + SPR or Koopman SPR: the prediction loss beside the critics'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spr: Option<SprConfig>,
}

/// The pixel encoder of DrQ and SAC-AE: `frames` stacked RGB frames of `side` × `side` (values
/// 0–255, scaled to [0, 1]), `layers` 3 × 3 convolutions of `filters` channels with ReLU (the
/// first of stride 2, the others 1, no padding), then per network (critic, actor) a dense layer to
/// `feature` values, LayerNorm and tanh. The critic's loss trains the convolutions; the actor
/// reads them with the gradient stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelConfig {
    pub frames: usize,
    pub side: usize,
    pub filters: usize,
    pub layers: usize,
    pub feature: usize,
    /// Random-shift augmentation of both observations of every sampled transition: replicate
    /// padding by this many pixels, then a random crop (DrQ / RAD: 4; 0 turns it off).
    pub shift: usize,
}

impl PixelConfig {
    /// DrQ's encoder on 84 × 84 frames, stacks of 3.
    pub fn drq() -> Self {
        PixelConfig {
            frames: 3,
            side: 84,
            filters: 32,
            layers: 4,
            feature: 50,
            shift: 4,
        }
    }
    /// Values of one observation: frames × 3 × side².
    pub fn obs_dim(&self) -> usize {
        self.frames * 3 * self.side * self.side
    }
    /// Input channels: 3 per frame.
    pub fn channels(&self) -> usize {
        3 * self.frames
    }
    /// Side of the last convolution's output (0 when the frame is too small).
    pub fn conv_side(&self) -> usize {
        if self.side < 3 || self.layers == 0 {
            return 0;
        }
        ((self.side - 3) / 2 + 1).saturating_sub(2 * (self.layers - 1))
    }
    /// Values of the convolutions' output per observation.
    pub fn conv_dim(&self) -> usize {
        self.filters * self.conv_side() * self.conv_side()
    }
}

impl SacConfig {
    pub fn new(obs_dim: usize, act_dim: usize) -> Self {
        SacConfig {
            obs_dim,
            act_dim,
            hidden: 1024,
            batch: 1024,
            lr: 1e-4,
            gamma: 0.99,
            tau: 0.005,
            target_every: 2,
            actor_every: 1,
            init_alpha: 0.1,
            log_std_min: -5.0,
            log_std_max: 2.0,
            pixels: None,
            spr: None,
        }
    }

    /// Steps per replay window: one transition, or SPR's K.
    pub fn horizon(&self) -> usize {
        self.spr.as_ref().map_or(1, |s| s.horizon)
    }

    /// SAC from pixels with DrQ's settings (`denisyarats/drq` `config.yaml`): its encoder, lr
    /// 1e-3, critic τ 0.01, actor and target updates every 2, log σ in [−10, 2]; batch 128 (DrQ:
    /// 512; SAC-AE and CURL: 128).
    pub fn pixels(act_dim: usize, pixels: PixelConfig) -> Self {
        SacConfig {
            obs_dim: pixels.obs_dim(),
            batch: 128,
            lr: 1e-3,
            tau: 0.01,
            actor_every: 2,
            log_std_min: -10.0,
            pixels: Some(pixels),
            ..SacConfig::new(1, act_dim)
        }
    }

    /// The temperature's target entropy: −|A|.
    pub fn target_entropy(&self) -> f64 {
        -(self.act_dim as f64)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(format!("sac: {m}")));
        if self.obs_dim == 0 || self.act_dim == 0 || self.hidden == 0 || self.batch == 0 {
            return bad(format!(
                "obs_dim {}, act_dim {}, hidden {} and batch {} must all be ≥ 1",
                self.obs_dim, self.act_dim, self.hidden, self.batch
            ));
        }
        let pos = [("lr", self.lr), ("init_alpha", self.init_alpha)];
        if let Some((name, v)) = pos.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
            return bad(format!("{name} {v} must be finite and > 0"));
        }
        let unit = [("gamma", self.gamma), ("tau", self.tau)];
        if let Some((name, v)) = unit.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return bad(format!("{name} {v} must lie in [0, 1]"));
        }
        if self.target_every == 0 || self.actor_every == 0 {
            return bad("target_every and actor_every must be ≥ 1".into());
        }
        if let Some(s) = &self.spr {
            s.validate()?;
        }
        if let Some(p) = &self.pixels {
            if p.frames == 0 || p.filters == 0 || p.layers == 0 || p.feature == 0 {
                return bad(format!(
                    "pixel encoder: frames {}, filters {}, layers {} and feature {} must all be ≥ 1",
                    p.frames, p.filters, p.layers, p.feature
                ));
            }
            if p.conv_side() == 0 {
                return bad(format!(
                    "pixel encoder: {} convolutions leave nothing of a {}×{} frame",
                    p.layers, p.side, p.side
                ));
            }
            if p.obs_dim() != self.obs_dim {
                return bad(format!(
                    "obs_dim {} differs from the pixel encoder's input: {} frames × 3 × {}² = {}",
                    self.obs_dim,
                    p.frames,
                    p.side,
                    p.obs_dim()
                ));
            }
            if p.shift >= p.side {
                return bad(format!(
                    "shift {} must be below the side {}",
                    p.shift, p.side
                ));
            }
        }
        if !(self.log_std_min.is_finite()
            && self.log_std_max.is_finite()
            && self.log_std_min < self.log_std_max)
        {
            return bad(format!(
                "log σ bounds [{}, {}] must be finite and increasing",
                self.log_std_min, self.log_std_max
            ));
        }
        Ok(())
    }
}
