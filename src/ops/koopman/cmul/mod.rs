//! The complex product of the encoded actions with the ZOH gain: c = u ⊙ b, planar complex.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::ops::GradOut;
use crate::{shape_err, Result};

/// The complex-product kernels of a backend: a [rows, 2m] ⊙ b [2m].
pub trait CmulKernel: Backend {
    fn cmul_fwd(
        &self,
        a: &Self::Buf,
        b: &Self::Buf,
        y: &mut Self::Buf,
        rows: usize,
        m: usize,
    ) -> Result<()>;
    /// da (+)= conj(b)·g; db += Σ_rows conj(a)·g.
    #[allow(clippy::too_many_arguments)]
    fn cmul_bwd(
        &self,
        a: &Self::Buf,
        b: &Self::Buf,
        g: &Self::Buf,
        da: GradOut<'_, Self>,
        db: Option<&mut Self::Buf>,
        rows: usize,
        m: usize,
    ) -> Result<()>;
}

impl<B: CmulKernel> Tape<'_, B> {
    /// y = a ⊙ b for planar complex a[.., 2m] and b[2m].
    pub fn cmul(&mut self, a: Var, b: Var) -> Result<Var> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let nb = sb.numel();
        if nb == 0 || nb % 2 != 0 || sa.last() != nb {
            return Err(shape_err!(
                "cmul: a {sa:?} ⊙ b {sb:?} (need a[.., 2m], b[2m])"
            ));
        }
        let (rows, m) = (sa.numel() / nb, nb / 2);
        let mut y = self.alloc(sa.numel())?;
        self.backend()
            .cmul_fwd(self.buf(a)?, self.buf(b)?, &mut y, rows, m)?;
        Ok(self.push(sa, y, Cmul { a, b }, &[a, b]))
    }
}

struct Cmul {
    a: Var,
    b: Var,
}

impl<B: CmulKernel> Backward<B> for Cmul {
    fn name(&self) -> &'static str {
        "cmul"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (a, b) = (self.a, self.b);
        let nb = t.shape(b).numel();
        let (rows, m) = (t.shape(a).numel() / nb, nb / 2);
        let (mut ga, acc) = s.take_write(a)?;
        let mut gb = s.take(b)?;
        let da = ga.as_mut().map(|d| (d, acc));
        s.backend()
            .cmul_bwd(t.buf(a)?, t.buf(b)?, g, da, gb.as_mut(), rows, m)?;
        s.put(a, ga)?;
        s.put(b, gb)
    }
}
