//! Reverse-mode autodiff on an append-only tape (ops are pushed in creation order, which is already a
//! topological order, so backward is a reverse walk). Every op's backward is hand-written and
//! accumulates (`+=`) into its inputs' gradients.
mod backward;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;
mod op;
mod params;
mod pool;
pub mod profile;
mod tape;

pub use backward::Gradients;
pub(crate) use backward::Slots;
#[cfg(feature = "cuda")]
pub(crate) use cuda::DevSlots;
#[cfg(feature = "cuda")]
pub use cuda::{DevBuf, DevPool, DeviceParams};
pub use op::Op;
pub use params::{ParamId, ParamStore};
pub use pool::Pool;
pub use profile::OpProfile;
pub use tape::{Tape, Var};
