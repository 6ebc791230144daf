//! TD-MPC (Hansen et al. 2022, v1) and Koopman TD-MPC (paper §4.2.1, App. C.1): TOLD trained from
//! a replay buffer, planning with the MPPI/CEM planner of [`crate::planner`].
//!
//! The two agents differ only in TOLD's latent dynamics ([`Dynamics`]): an MLP stepped H times, or
//! the diagonal Koopman operator unrolled over the whole horizon at once.
mod agent;
mod config;
mod loss;
mod noise;
mod told;
mod world;

pub use agent::{Agent, UpdateStats};
pub use config::{Dynamics, TdmpcConfig};
pub use loss::ToldTerms;
pub use told::Told;
pub use world::ToldView;
