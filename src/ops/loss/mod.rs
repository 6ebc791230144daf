//! Mean squared error, the dynamics models' state and reward losses.
mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::tensor::Shape;
use crate::{shape_err, Result};

use crate::ops::GradOut;

/// The loss kernels of a backend.
pub trait LossKernel: Backend {
    /// y[0] = mean (a − b)² over `n` elements (accumulated in f64 on the CPU, deterministically
    /// on every device).
    fn mse_fwd(&self, a: &Self::Buf, b: &Self::Buf, y: &mut Self::Buf, n: usize) -> Result<()>;
    /// da (+)= 2 g[0] (a − b) / n, db (+)= −2 g[0] (a − b) / n.
    fn mse_bwd(
        &self,
        a: &Self::Buf,
        b: &Self::Buf,
        g: &Self::Buf,
        da: GradOut<'_, Self>,
        db: GradOut<'_, Self>,
        n: usize,
    ) -> Result<()>;
}

impl<B: LossKernel> Tape<'_, B> {
    /// Shapes may differ as long as the element counts agree (e.g. [B·T, d] against [B, T, d]).
    pub fn mse(&mut self, a: Var, b: Var) -> Result<Var> {
        let (na, nb) = (self.shape(a).numel(), self.shape(b).numel());
        if na != nb || na == 0 {
            return Err(shape_err!(
                "mse: {:?} against {:?}",
                self.shape(a),
                self.shape(b)
            ));
        }
        let mut y = self.alloc(1)?;
        self.backend()
            .mse_fwd(self.buf(a)?, self.buf(b)?, &mut y, na)?;
        Ok(self.push(Shape::new(&[]), y, Mse { a, b }, &[a, b]))
    }
}

struct Mse {
    a: Var,
    b: Var,
}

impl<B: LossKernel> Backward<B> for Mse {
    fn name(&self) -> &'static str {
        "mse"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (a, b) = (self.a, self.b);
        let n = t.shape(a).numel();
        let (mut ga, acc_a) = s.take_write(a)?;
        let (mut gb, acc_b) = if a != b {
            s.take_write(b)?
        } else {
            (None, false)
        };
        let da = ga.as_mut().map(|d| (d, acc_a));
        let db = gb.as_mut().map(|d| (d, acc_b));
        s.backend().mse_bwd(t.buf(a)?, t.buf(b)?, g, da, db, n)?;
        s.put(a, ga)?;
        s.put(b, gb)
    }
}
