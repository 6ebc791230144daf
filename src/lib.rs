//! koopman: Koopman latent dynamics models for reinforcement learning and planning.
//!
//! Architecture (one concept per module):
//! - [`backend`]: devices (CPU, CUDA) and run-time detection;
//! - [`tensor`]: the f32 row-major tensor and its initialisers; complex data is planar `[Re ‖ Im]`;
//! - [`autodiff`]: the append-only tape and reverse-mode backward;
//! - [`ops`]: every op as a forward/backward pair, CPU reference code beside its CUDA twin;
//! - [`nn`]: layers built from ops; [`models`]: the Koopman model and its baselines;
//! - [`optim`]: Adam/AdamW, gradient clipping, learning-rate schedules;
//! - [`planner`]: TD-MPC's MPPI/CEM planner over any world model; [`rl`]: the replay buffer and
//!   rliable's aggregate metrics for reporting results.

pub mod kernels {
    //! The `.cu` sources under `kernels/`, embedded at build time (see `build.rs`).
    include!(concat!(env!("OUT_DIR"), "/kernels.rs"));
}
pub mod autodiff;
pub mod backend;
pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod envs;
mod error;
pub mod experiment;
pub mod models;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod planner;
pub mod rl;
pub mod synthetic;
pub mod tensor;
pub mod train;
pub mod util;

pub use autodiff::{Gradients, ParamId, ParamStore, Tape, Var};
pub use error::{Error, Result};
pub use tensor::{Real, Shape, Tensor};
