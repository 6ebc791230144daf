//! ZOH discretisation of the diagonal continuous-time operator.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::{Real, Shape};
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
    /// From μ[m], ω[m] and log Δt ([1] shared or [m] per mode), returns [2, 2m]: row 0 is λ̄, row 1 the
    /// gain b, both planar complex.
    pub fn zoh(&mut self, mu: Var, omega: Var, log_dt: Var) -> Result<Var> {
        let m = self.shape(mu).numel();
        let nd = self.shape(log_dt).numel();
        if self.shape(omega).numel() != m || !(nd == 1 || nd == m) || m == 0 {
            return Err(shape_err!(
                "zoh: mu {:?}, omega {:?}, log_dt {:?} (need m, m, and 1 or m)",
                self.shape(mu),
                self.shape(omega),
                self.shape(log_dt)
            ));
        }
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::zoh(self, mu, omega, log_dt);
        }
        let mut y = self.alloc_uninit(4 * m);
        cpu::forward(
            self.value(mu),
            self.value(omega),
            self.value(log_dt),
            &mut y,
        );
        Ok(self.push(
            Shape::new(&[2, 2 * m]),
            y,
            Op::Zoh { mu, omega, log_dt },
            &[mu, omega, log_dt],
        ))
    }
}

pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    mu: Var,
    omega: Var,
    log_dt: Var,
    g: &[E],
    s: &mut Slots<E>,
) {
    let (mut gm, mut go, mut gd) = (s.take(mu), s.take(omega), s.take(log_dt));
    cpu::backward(
        t.value(mu),
        t.value(omega),
        t.value(log_dt),
        g,
        gm.as_deref_mut(),
        go.as_deref_mut(),
        gd.as_deref_mut(),
    );
    s.put(mu, gm);
    s.put(omega, go);
    s.put(log_dt, gd);
}
