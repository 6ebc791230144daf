//! L2 normalisation over the last axis, y = x / max(‖x‖₂, ε) (PyTorch's `F.normalize`): SPR's
//! projections before their cosine loss. Forward saves each row's ‖x‖; backward is
//! dx = (g − y·⟨g, y⟩) / ‖x‖ for a row with ‖x‖ > ε, and g / ε for a row held at ε.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::{shape_err, Error, Result};

/// The L2-normalisation kernels of a backend, over `rows` rows of `cols`.
pub trait L2NormKernel: Backend {
    /// y = x / max(‖x‖, eps) per row; writes each row's ‖x‖ to `norm`.
    #[allow(clippy::too_many_arguments)]
    fn l2norm_fwd(
        &self,
        x: &Self::Buf,
        y: &mut Self::Buf,
        norm: &mut Self::Buf,
        eps: Self::E,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
    /// dx += the gradient above, from the forward's `y` and `norm`.
    #[allow(clippy::too_many_arguments)]
    fn l2norm_bwd(
        &self,
        y: &Self::Buf,
        norm: &Self::Buf,
        g: &Self::Buf,
        dx: &mut Self::Buf,
        eps: Self::E,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
}

impl<B: L2NormKernel> Tape<'_, B> {
    /// x / max(‖x‖₂, eps) along the last axis (SPR uses eps 1e-3 on 50-wide projections).
    pub fn l2_normalize(&mut self, x: Var, eps: B::E) -> Result<Var> {
        let shape = self.shape(x);
        if shape.rank() == 0 || shape.last() == 0 {
            return Err(shape_err!(
                "l2_normalize: x {shape:?} needs a non-empty last axis"
            ));
        }
        let zero = <B::E as num_traits::Zero>::zero();
        if eps.partial_cmp(&zero) != Some(std::cmp::Ordering::Greater) {
            return Err(Error::Invalid(
                "l2_normalize: eps must be positive (it bounds the gradient of a zero row)".into(),
            ));
        }
        let (rows, cols) = (shape.rows(), shape.last());
        let mut y = self.alloc(shape.numel())?;
        let mut norm = self.alloc(rows)?;
        self.backend()
            .l2norm_fwd(self.buf(x)?, &mut y, &mut norm, eps, rows, cols)?;
        Ok(self.push_saved(shape, y, vec![norm], L2Norm { x, eps }, &[x]))
    }
}

struct L2Norm<E> {
    x: Var,
    eps: E,
}

impl<B: L2NormKernel> Backward<B> for L2Norm<B::E> {
    fn name(&self) -> &'static str {
        "l2_normalize"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let [norm] = t.saved(y) else {
            return Err(Error::Device("l2_normalize: saved norms missing".into()));
        };
        let Some(mut gx) = s.take(self.x)? else {
            return Ok(());
        };
        let shape = t.shape(self.x);
        s.backend().l2norm_bwd(
            t.buf(y)?,
            norm,
            g,
            &mut gx,
            self.eps,
            shape.rows(),
            shape.last(),
        )?;
        s.put(self.x, Some(gx))
    }
}
