//! Full reductions to a scalar: sum and mean.
mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::tensor::{Real, Shape};
use crate::Result;

/// The reduction kernels of a backend.
pub trait ReduceKernel: Backend {
    /// y[0] = Σ x (÷ n when `mean`) over `n` elements.
    fn sum_fwd(&self, x: &Self::Buf, y: &mut Self::Buf, n: usize, mean: bool) -> Result<()>;
    /// dx += k·g[0] over `n` elements; `scratch` holds one element.
    fn sum_bwd(
        &self,
        g: &Self::Buf,
        k: Self::E,
        dx: &mut Self::Buf,
        n: usize,
        scratch: &mut Self::Buf,
    ) -> Result<()>;
}

impl<B: ReduceKernel> Tape<'_, B> {
    pub fn sum(&mut self, x: Var) -> Var {
        self.reduce(x, false)
    }
    pub fn mean(&mut self, x: Var) -> Var {
        self.reduce(x, true)
    }
    /// Infallible: a device failure is recorded on the tape (`push_or_fault`).
    fn reduce(&mut self, x: Var, mean: bool) -> Var {
        let n = self.shape(x).numel();
        let run = |t: &mut Self| -> Result<B::Buf> {
            let mut y = t.alloc(1)?;
            t.backend().sum_fwd(t.buf(x)?, &mut y, n, mean)?;
            Ok(y)
        };
        let y = run(self);
        self.push_or_fault(Shape::new(&[]), y, Sum { x, mean }, &[x])
    }
}

struct Sum {
    x: Var,
    mean: bool,
}

impl<B: ReduceKernel> Backward<B> for Sum {
    fn name(&self) -> &'static str {
        if self.mean {
            "mean"
        } else {
            "sum"
        }
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let Some(mut gx) = s.take(self.x)? else {
            return Ok(());
        };
        let n = t.shape(self.x).numel();
        let k = if self.mean {
            <B::E as num_traits::One>::one() / B::E::of(n as f64)
        } else {
            <B::E as num_traits::One>::one()
        };
        let mut scratch = s.scratch(1)?;
        s.backend().sum_bwd(g, k, &mut gx, n, &mut scratch)?;
        s.give(scratch);
        s.put(self.x, Some(gx))
    }
}
