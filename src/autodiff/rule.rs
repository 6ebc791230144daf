//! What a tape node remembers for backward: one object per recorded op, defined beside the op
//! (`ops::<op>`), so autodiff knows no list of ops. Device work inside a rule goes through the
//! op's kernel trait, so one rule serves every backend.
use super::backward::Slots;
use super::tape::{Tape, Var};
use crate::backend::Backend;
use crate::Result;

pub trait Backward<B: Backend>: Send + Sync + 'static {
    /// The op's name in profiles.
    fn name(&self) -> &'static str;
    /// Adds d(loss)/d(input) into `s` for every input of node `y`, given `g` = d(loss)/d(y).
    /// Buffers the forward saved for this step are `t.saved(y)`.
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()>;
}
