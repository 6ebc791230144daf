//! The Vandermonde matrix of the discrete eigenvalues (paper Eq. 8).
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::{Real, Shape};
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
    /// V[i, k] = exp((μ_i + iω_i)Δt·k) for k = 0..k_len, as [2, m, k_len] (real block, imaginary block).
    pub fn vandermonde(&mut self, mu: Var, omega: Var, log_dt: Var, k_len: usize) -> Result<Var> {
        let m = self.shape(mu).numel();
        let nd = self.shape(log_dt).numel();
        if self.shape(omega).numel() != m || !(nd == 1 || nd == m) || m == 0 {
            return Err(shape_err!(
                "vandermonde: mu {:?}, omega {:?}, log_dt {:?}",
                self.shape(mu),
                self.shape(omega),
                self.shape(log_dt)
            ));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::vandermonde(self, mu, omega, log_dt, k_len);
        }
        let mut v = self.alloc_uninit(2 * m * k_len);
        cpu::forward(
            self.value(mu),
            self.value(omega),
            self.value(log_dt),
            k_len,
            &mut v,
        );
        Ok(self.push(
            Shape::new(&[2, m, k_len]),
            v,
            Op::Vandermonde { mu, omega, log_dt },
            &[mu, omega, log_dt],
        ))
    }
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    y: Var,
    mu: Var,
    omega: Var,
    log_dt: Var,
    g: &[E],
    s: &mut Slots<E>,
) {
    let k_len = t.dims(y)[2];
    let (mut gm, mut go, mut gd) = (s.take(mu), s.take(omega), s.take(log_dt));
    cpu::backward(
        t.value(mu),
        t.value(omega),
        t.value(log_dt),
        t.value(y),
        g,
        k_len,
        gm.as_deref_mut(),
        go.as_deref_mut(),
        gd.as_deref_mut(),
    );
    s.put(mu, gm);
    s.put(omega, go);
    s.put(log_dt, gd);
}
