//! Softmax over the last axis, optionally causal (attention).
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::Real;
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
    pub fn softmax(&mut self, x: Var, causal: bool) -> Result<Var> {
        let shape = self.shape(x);
        let n = shape.last();
        if causal && (shape.rank() < 2 || shape.dims()[shape.rank() - 2] != n) {
            return Err(shape_err!("causal softmax needs [.., T, T], got {shape:?}"));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::softmax(self, x, causal);
        }
        let mut y = self.alloc_uninit(shape.numel());
        cpu::forward(self.value(x), &mut y, n, causal);
        Ok(self.push(shape, y, Op::Softmax { x, causal }, &[x]))
    }
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    x: Var,
    _causal: bool,
    g: &[E],
    s: &mut Slots<E>,
) {
    let mut gx = s.take(x);
    if let Some(gx) = gx.as_deref_mut() {
        cpu::backward(t.value(y), g, gx, t.shape(y).last());
    }
    s.put(x, gx);
}
