//! Reverse-mode autodiff on an append-only tape (ops are pushed in creation order, which is already a
//! topological order, so backward is a reverse walk). Every op's backward is a hand-written rule
//! ([`Backward`]) defined beside the op; rules accumulate (`+=`) into their inputs' gradients.
mod backward;
mod params;
pub mod profile;
mod rule;
mod tape;

pub use backward::{Gradients, Slots};
pub use params::{DeviceParams, ParamId, ParamStore};
pub use profile::OpProfile;
pub use rule::Backward;
pub use tape::{Tape, Var};
