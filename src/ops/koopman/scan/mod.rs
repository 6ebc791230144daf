//! The diagonal linear recurrence x̂_{k+1} = λ̄ ⊙ x̂_k + c_k over a horizon, sequentially per
//! sequence (parallel over the batch); the same numbers as the convolution.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use super::check_sequence;
use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::ops::GradOut;
use crate::tensor::Shape;
use crate::{shape_err, Result};

/// Operands and gradients of a scan's backward (`x`: the forward's output).
pub struct ScanGrads<'a, B: Backend> {
    pub z0: &'a B::Buf,
    pub lbar: &'a B::Buf,
    pub x: &'a B::Buf,
    pub g: &'a B::Buf,
    pub dz0: Option<&'a mut B::Buf>,
    pub dc: GradOut<'a, B>,
    pub dlbar: Option<&'a mut B::Buf>,
}

/// The scan kernels of a backend: B sequences of T steps of m complex modes.
pub trait ScanKernel: Backend {
    #[allow(clippy::too_many_arguments)]
    fn scan_fwd(
        &self,
        z0: &Self::Buf,
        c: &Self::Buf,
        lbar: &Self::Buf,
        x: &mut Self::Buf,
        b: usize,
        t: usize,
        m: usize,
    ) -> Result<()>;
    /// Accumulates dz0 and dλ̄; dc per its flag.
    fn scan_bwd(&self, io: ScanGrads<'_, Self>, b: usize, t: usize, m: usize) -> Result<()>;
}

impl<B: ScanKernel> Tape<'_, B> {
    /// z0 [B, 2m], c [B, T, 2m], λ̄ [2m] → x [B, T, 2m], where x[:, k] = x̂_{k+1}.
    pub fn scan(&mut self, z0: Var, c: Var, lbar: Var) -> Result<Var> {
        let (b, t, m2) = check_sequence(self, "scan", z0, c)?;
        if self.shape(lbar).numel() != m2 {
            return Err(shape_err!(
                "scan: lbar {:?} needs {m2} values",
                self.shape(lbar)
            ));
        }
        let mut x = self.alloc(b * t * m2)?;
        let (zv, cv, lv) = (self.buf(z0)?, self.buf(c)?, self.buf(lbar)?);
        self.backend().scan_fwd(zv, cv, lv, &mut x, b, t, m2 / 2)?;
        let rule = Scan { z0, c, lbar };
        Ok(self.push(Shape::new(&[b, t, m2]), x, rule, &[z0, c, lbar]))
    }
}

struct Scan {
    z0: Var,
    c: Var,
    lbar: Var,
}

impl<B: ScanKernel> Backward<B> for Scan {
    fn name(&self) -> &'static str {
        "scan"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (b, tl, m2) = (t.dims(self.c)[0], t.dims(self.c)[1], t.dims(self.c)[2]);
        let (mut gz, mut gl) = (s.take(self.z0)?, s.take(self.lbar)?);
        let (mut gc, acc) = s.take_write(self.c)?;
        let io = ScanGrads {
            z0: t.buf(self.z0)?,
            lbar: t.buf(self.lbar)?,
            x: t.buf(y)?,
            g,
            dz0: gz.as_mut(),
            dc: gc.as_mut().map(|d| (d, acc)),
            dlbar: gl.as_mut(),
        };
        s.backend().scan_bwd(io, b, tl, m2 / 2)?;
        s.put(self.z0, gz)?;
        s.put(self.c, gc)?;
        s.put(self.lbar, gl)
    }
}
