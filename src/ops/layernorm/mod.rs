//! Layer normalisation over the last axis with learnable γ, β.
pub mod cpu;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;

use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::Real;
use crate::{shape_err, Result};

impl<E: Real> Tape<'_, E> {
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
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::layernorm(self, x, gamma, beta);
        }
        let rows = shape.rows();
        let mut y = self.alloc_uninit(shape.numel());
        let mut mean = self.alloc_uninit(rows);
        let mut rstd = self.alloc_uninit(rows);
        cpu::forward(
            self.value(x),
            self.value(gamma),
            self.value(beta),
            &mut y,
            &mut mean,
            &mut rstd,
        );
        Ok(self.push(
            shape,
            y,
            Op::LayerNorm {
                x,
                gamma,
                beta,
                mean,
                rstd,
            },
            &[x, gamma, beta],
        ))
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<E: Real>(
    t: &Tape<E>,
    x: Var,
    gamma: Var,
    beta: Var,
    mean: &[E],
    rstd: &[E],
    g: &[E],
    s: &mut Slots<E>,
) {
    let (mut gx, mut gg, mut gb) = (s.take(x), s.take(gamma), s.take(beta));
    cpu::backward(
        t.value(x),
        t.value(gamma),
        mean,
        rstd,
        g,
        gx.as_deref_mut(),
        gg.as_deref_mut(),
        gb.as_deref_mut(),
    );
    s.put(x, gx);
    s.put(gamma, gg);
    s.put(beta, gb);
}
