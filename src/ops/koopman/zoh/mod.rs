//! ZOH discretisation of the diagonal continuous-time operator.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use super::{check_eigen, EigenGrads};
use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::tensor::Shape;
use crate::Result;

/// The ZOH kernels of a backend, over `m` modes and `nd` Δt values (1: shared, m: per mode).
pub trait ZohKernel: Backend {
    /// out [2, 2m] = [λ̄ ; gain], both planar complex.
    #[allow(clippy::too_many_arguments)]
    fn zoh_fwd(
        &self,
        mu: &Self::Buf,
        omega: &Self::Buf,
        log_dt: &Self::Buf,
        out: &mut Self::Buf,
        m: usize,
        nd: usize,
    ) -> Result<()>;
    /// Accumulates the eigenvalue gradients from g [2, 2m].
    #[allow(clippy::too_many_arguments)]
    fn zoh_bwd(
        &self,
        mu: &Self::Buf,
        omega: &Self::Buf,
        log_dt: &Self::Buf,
        g: &Self::Buf,
        d: EigenGrads<'_, Self>,
        m: usize,
        nd: usize,
    ) -> Result<()>;
}

impl<B: ZohKernel> Tape<'_, B> {
    /// From μ[m], ω[m] and log Δt ([1] shared or [m] per mode), returns [2, 2m]: row 0 is λ̄, row 1 the
    /// gain b, both planar complex.
    pub fn zoh(&mut self, mu: Var, omega: Var, log_dt: Var) -> Result<Var> {
        let (m, nd) = check_eigen(self, "zoh", mu, omega, log_dt)?;
        let mut y = self.alloc(4 * m)?;
        let (mv, ov, dv) = (self.buf(mu)?, self.buf(omega)?, self.buf(log_dt)?);
        self.backend().zoh_fwd(mv, ov, dv, &mut y, m, nd)?;
        let rule = Zoh { mu, omega, log_dt };
        Ok(self.push(Shape::new(&[2, 2 * m]), y, rule, &[mu, omega, log_dt]))
    }
}

struct Zoh {
    mu: Var,
    omega: Var,
    log_dt: Var,
}

impl<B: ZohKernel> Backward<B> for Zoh {
    fn name(&self) -> &'static str {
        "zoh"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (m, nd) = (t.shape(self.mu).numel(), t.shape(self.log_dt).numel());
        let (mut gm, mut go) = (s.take(self.mu)?, s.take(self.omega)?);
        let mut gd = s.take_any(self.log_dt)?;
        let d = EigenGrads {
            dmu: gm.as_mut(),
            domega: go.as_mut(),
            dlog_dt: &mut gd,
        };
        let (mv, ov, dv) = (t.buf(self.mu)?, t.buf(self.omega)?, t.buf(self.log_dt)?);
        s.backend().zoh_bwd(mv, ov, dv, g, d, m, nd)?;
        s.put(self.mu, gm)?;
        s.put(self.omega, go)?;
        s.put(self.log_dt, Some(gd))
    }
}
