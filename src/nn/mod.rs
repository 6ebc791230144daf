//! Layers built from ops. Each layer owns parameter ids (the values live in a `ParamStore`) and has a
//! `forward(&self, tape, x)`: the same code serves training tapes and no-grad inference tapes.
mod attention;
mod controlled_koopman;
mod gru;
mod koopman_operator;
mod linear;
mod mlp;

pub use attention::{Block, BlockConfig};
pub use controlled_koopman::ControlledKoopman;
pub use gru::Gru;
pub use koopman_operator::{
    default_dt0, DiagonalKoopman, MuInit, OmegaInit, OperatorConfig, RolloutMode,
};
pub use linear::{orthogonal_weights, LayerNorm, Linear};
pub use mlp::Mlp;
