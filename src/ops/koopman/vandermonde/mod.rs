//! The Vandermonde matrix of the discretised eigenvalues, in closed form: V[i, k] = λ̄_i^k.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use super::{check_eigen, EigenGrads};
use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::tensor::Shape;
use crate::Result;

/// The Vandermonde kernels of a backend, over `m` modes, `k_len` powers and `nd` Δt values.
pub trait VandermondeKernel: Backend {
    #[allow(clippy::too_many_arguments)]
    fn vandermonde_fwd(
        &self,
        mu: &Self::Buf,
        omega: &Self::Buf,
        log_dt: &Self::Buf,
        v: &mut Self::Buf,
        m: usize,
        k_len: usize,
        nd: usize,
    ) -> Result<()>;
    /// Accumulates the eigenvalue gradients from g [2, m, k_len] (`v`: the forward's output).
    #[allow(clippy::too_many_arguments)]
    fn vandermonde_bwd(
        &self,
        mu: &Self::Buf,
        omega: &Self::Buf,
        log_dt: &Self::Buf,
        v: &Self::Buf,
        g: &Self::Buf,
        d: EigenGrads<'_, Self>,
        m: usize,
        k_len: usize,
        nd: usize,
    ) -> Result<()>;
}

impl<B: VandermondeKernel> Tape<'_, B> {
    /// V[i, k] = exp((μ_i + iω_i)Δt·k) for k = 0..k_len, as [2, m, k_len] (real block, imaginary block).
    pub fn vandermonde(&mut self, mu: Var, omega: Var, log_dt: Var, k_len: usize) -> Result<Var> {
        let (m, nd) = check_eigen(self, "vandermonde", mu, omega, log_dt)?;
        let mut v = self.alloc(2 * m * k_len)?;
        let (mv, ov, dv) = (self.buf(mu)?, self.buf(omega)?, self.buf(log_dt)?);
        self.backend()
            .vandermonde_fwd(mv, ov, dv, &mut v, m, k_len, nd)?;
        let rule = Vandermonde { mu, omega, log_dt };
        let shape = Shape::new(&[2, m, k_len]);
        Ok(self.push(shape, v, rule, &[mu, omega, log_dt]))
    }
}

struct Vandermonde {
    mu: Var,
    omega: Var,
    log_dt: Var,
}

impl<B: VandermondeKernel> Backward<B> for Vandermonde {
    fn name(&self) -> &'static str {
        "vandermonde"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (m, k_len) = (t.dims(y)[1], t.dims(y)[2]);
        let nd = t.shape(self.log_dt).numel();
        let (mut gm, mut go) = (s.take(self.mu)?, s.take(self.omega)?);
        let mut gd = s.take_any(self.log_dt)?;
        let d = EigenGrads {
            dmu: gm.as_mut(),
            domega: go.as_mut(),
            dlog_dt: &mut gd,
        };
        let (mv, ov, dv) = (t.buf(self.mu)?, t.buf(self.omega)?, t.buf(self.log_dt)?);
        s.backend()
            .vandermonde_bwd(mv, ov, dv, t.buf(y)?, g, d, m, k_len, nd)?;
        s.put(self.mu, gm)?;
        s.put(self.omega, go)?;
        s.put(self.log_dt, Some(gd))
    }
}
