//! Softmax over the last axis, optionally causal (attention scores [.., T, T]).
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::{shape_err, Result};

/// The softmax kernels of a backend, over `rows` rows of `cols`.
pub trait SoftmaxKernel: Backend {
    fn softmax_fwd(
        &self,
        x: &Self::Buf,
        y: &mut Self::Buf,
        rows: usize,
        cols: usize,
        causal: bool,
    ) -> Result<()>;
    /// dx += y ⊙ (g − Σ g ⊙ y), per row.
    fn softmax_bwd(
        &self,
        y: &Self::Buf,
        g: &Self::Buf,
        dx: &mut Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
}

impl<B: SoftmaxKernel> Tape<'_, B> {
    pub fn softmax(&mut self, x: Var, causal: bool) -> Result<Var> {
        let shape = self.shape(x);
        let n = shape.last();
        if causal && (shape.rank() < 2 || shape.dims()[shape.rank() - 2] != n) {
            return Err(shape_err!("causal softmax needs [.., T, T], got {shape:?}"));
        }
        let mut y = self.alloc(shape.numel())?;
        self.backend()
            .softmax_fwd(self.buf(x)?, &mut y, shape.rows(), n, causal)?;
        Ok(self.push(shape, y, Softmax { x }, &[x]))
    }
}

struct Softmax {
    x: Var,
}

impl<B: SoftmaxKernel> Backward<B> for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let Some(mut gx) = s.take(self.x)? else {
            return Ok(());
        };
        let shape = t.shape(y);
        s.backend()
            .softmax_bwd(t.buf(y)?, g, &mut gx, shape.rows(), shape.last())?;
        s.put(self.x, Some(gx))
    }
}
