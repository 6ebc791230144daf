//! Layer normalisation over the last axis, with learned γ and β; forward saves mean and rstd.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::{shape_err, Error, Result};

/// Inputs and gradients of a layernorm backward (`None`: not needed; γ and β come as a pair).
pub struct LayerNormGrads<'a, B: Backend> {
    pub x: &'a B::Buf,
    pub gamma: &'a B::Buf,
    pub mean: &'a B::Buf,
    pub rstd: &'a B::Buf,
    pub g: &'a B::Buf,
    pub dx: Option<&'a mut B::Buf>,
    pub dgamma_dbeta: Option<(&'a mut B::Buf, &'a mut B::Buf)>,
}

/// The layernorm kernels of a backend, over `rows` rows of `cols`.
pub trait LayerNormKernel: Backend {
    #[allow(clippy::too_many_arguments)]
    fn layernorm_fwd(
        &self,
        x: &Self::Buf,
        gamma: &Self::Buf,
        beta: &Self::Buf,
        y: &mut Self::Buf,
        mean: &mut Self::Buf,
        rstd: &mut Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<()>;
    /// Accumulates (`+=`) every gradient present.
    fn layernorm_bwd(&self, io: LayerNormGrads<'_, Self>, rows: usize, cols: usize) -> Result<()>;
}

impl<B: LayerNormKernel> Tape<'_, B> {
    pub fn layernorm(&mut self, x: Var, gamma: Var, beta: Var) -> Result<Var> {
        let shape = self.shape(x);
        let d = shape.last();
        if self.shape(gamma).numel() != d || self.shape(beta).numel() != d {
            return Err(shape_err!(
                "layernorm: x {shape:?} with gamma {:?}, beta {:?}",
                self.shape(gamma),
                self.shape(beta)
            ));
        }
        let rows = shape.rows();
        let mut y = self.alloc(shape.numel())?;
        let mut mean = self.alloc(rows)?;
        let mut rstd = self.alloc(rows)?;
        let (xv, gv, bv) = (self.buf(x)?, self.buf(gamma)?, self.buf(beta)?);
        self.backend()
            .layernorm_fwd(xv, gv, bv, &mut y, &mut mean, &mut rstd, rows, d)?;
        let rule = LayerNorm { x, gamma, beta };
        Ok(self.push_saved(shape, y, vec![mean, rstd], rule, &[x, gamma, beta]))
    }
}

struct LayerNorm {
    x: Var,
    gamma: Var,
    beta: Var,
}

impl<B: LayerNormKernel> Backward<B> for LayerNorm {
    fn name(&self) -> &'static str {
        "layernorm"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let [mean, rstd] = t.saved(y) else {
            return Err(Error::Device("layernorm: saved statistics missing".into()));
        };
        let shape = t.shape(self.x);
        let mut gx = s.take(self.x)?;
        // γ and β are written together: both slots, or neither.
        let mut gb = if s.needs(self.gamma) || s.needs(self.beta) {
            Some((s.take_any(self.gamma)?, s.take_any(self.beta)?))
        } else {
            None
        };
        let io = LayerNormGrads {
            x: t.buf(self.x)?,
            gamma: t.buf(self.gamma)?,
            mean,
            rstd,
            g,
            dx: gx.as_mut(),
            dgamma_dbeta: gb.as_mut().map(|(a, b)| (a, b)),
        };
        s.backend().layernorm_bwd(io, shape.rows(), shape.last())?;
        s.put(self.x, gx)?;
        if let Some((dg, db)) = gb {
            s.put(self.gamma, Some(dg))?;
            s.put(self.beta, Some(db))?;
        }
        Ok(())
    }
}
