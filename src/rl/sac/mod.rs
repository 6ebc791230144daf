//! Soft actor-critic (Haarnoja et al. 2018, with the learned temperature), the model-free
//! baseline of the paper's §4.2.2, from states or from pixels (DrQ's conv encoder and random
//! shifts): a tanh-Gaussian actor, twin critics with Polyak targets, and the entropy temperature
//! trained toward −|A|; with SPR's or Koopman SPR's prediction loss training the encoder.
mod agent;
mod config;
mod networks;
mod spr;

pub use agent::{SacAgent, SacStats};
pub use config::{PixelConfig, SacConfig};
pub use networks::{Head, SacNets, Sampled};
pub use spr::{SprConfig, SprKind, SprNets};
