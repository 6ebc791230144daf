//! Full reductions to a scalar: sum and mean.
#[cfg(feature = "cuda")]
pub(crate) mod cuda;
use crate::autodiff::{Op, Slots, Tape, Var};
use crate::tensor::{Real, Shape};

impl<E: Real> Tape<'_, E> {
    pub fn sum(&mut self, x: Var) -> Var {
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::reduce(self, x, false);
        }
        let s: E = self.value(x).iter().copied().sum();
        let mut y = self.alloc_uninit(1);
        y[0] = s;
        self.push(Shape::new(&[]), y, Op::Sum { x }, &[x])
    }
    pub fn mean(&mut self, x: Var) -> Var {
        #[cfg(feature = "cuda")]
        if self.is_cuda() {
            return cuda::reduce(self, x, true);
        }
        let v = self.value(x);
        let s: E = v.iter().copied().sum::<E>() / E::of(v.len().max(1) as f64);
        let mut y = self.alloc_uninit(1);
        y[0] = s;
        self.push(Shape::new(&[]), y, Op::Mean { x }, &[x])
    }
}

/// dx += k·g for every element (k = 1 for sum, 1/n for mean).
pub(crate) fn sum_backward<E: Real>(x: Var, k: E, g: &[E], s: &mut Slots<E>) {
    let mut gx = s.take(x);
    if let Some(gx) = gx.as_deref_mut() {
        let d = k * g[0];
        gx.iter_mut().for_each(|v| *v += d);
    }
    s.put(x, gx);
}
