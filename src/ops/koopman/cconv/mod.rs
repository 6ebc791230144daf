//! The causal convolution of the inputs with the Vandermonde matrix: the whole horizon at once,
//! the same numbers as the scan.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use super::check_sequence;
use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::tensor::Shape;
use crate::{shape_err, Result};

/// Operands and gradients of a convolution's backward (every gradient accumulates).
pub struct CconvGrads<'a, B: Backend> {
    pub z0: &'a B::Buf,
    pub c: &'a B::Buf,
    pub v: &'a B::Buf,
    pub g: &'a B::Buf,
    pub dz0: Option<&'a mut B::Buf>,
    pub dc: Option<&'a mut B::Buf>,
    pub dv: Option<&'a mut B::Buf>,
}

/// The convolution kernels of a backend: B sequences of T steps, m modes, V of k_len powers.
/// `scratch` holds k_len·2m elements (the CPU's transposed V).
pub trait CconvKernel: Backend {
    #[allow(clippy::too_many_arguments)]
    fn cconv_fwd(
        &self,
        z0: &Self::Buf,
        c: &Self::Buf,
        v: &Self::Buf,
        x: &mut Self::Buf,
        scratch: &mut Self::Buf,
        dims: [usize; 4],
    ) -> Result<()>;
    fn cconv_bwd(
        &self,
        io: CconvGrads<'_, Self>,
        scratch: &mut Self::Buf,
        dims: [usize; 4],
    ) -> Result<()>;
}

impl<B: CconvKernel> Tape<'_, B> {
    /// z0 [B, 2m], c [B, T, 2m], V [2, m, K ≥ T+1] → x [B, T, 2m]; the same numbers as `scan`.
    pub fn cconv(&mut self, z0: Var, c: Var, v: Var) -> Result<Var> {
        let (b, t, m2) = check_sequence(self, "cconv", z0, c)?;
        let dv = self.dims(v).to_vec();
        if dv.len() != 3 || dv[0] != 2 || 2 * dv[1] != m2 || dv[2] < t + 1 {
            return Err(shape_err!(
                "cconv: V {dv:?} needs [2, {}, ≥{}]",
                m2 / 2,
                t + 1
            ));
        }
        let dims = [b, t, m2 / 2, dv[2]];
        let mut scratch = self.alloc(dv[2] * m2)?;
        let mut x = self.alloc(b * t * m2)?;
        let (zv, cv, vv) = (self.buf(z0)?, self.buf(c)?, self.buf(v)?);
        self.backend()
            .cconv_fwd(zv, cv, vv, &mut x, &mut scratch, dims)?;
        self.recycle(scratch);
        let rule = Cconv { z0, c, v };
        Ok(self.push(Shape::new(&[b, t, m2]), x, rule, &[z0, c, v]))
    }
}

struct Cconv {
    z0: Var,
    c: Var,
    v: Var,
}

impl<B: CconvKernel> Backward<B> for Cconv {
    fn name(&self) -> &'static str {
        "cconv"
    }
    fn backward(&self, t: &Tape<'_, B>, _: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let (b, tl, m2) = (t.dims(self.c)[0], t.dims(self.c)[1], t.dims(self.c)[2]);
        let k_len = t.dims(self.v)[2];
        let (mut gz, mut gc, mut gv) = (s.take(self.z0)?, s.take(self.c)?, s.take(self.v)?);
        let mut scratch = s.scratch(k_len * m2)?;
        let io = CconvGrads {
            z0: t.buf(self.z0)?,
            c: t.buf(self.c)?,
            v: t.buf(self.v)?,
            g,
            dz0: gz.as_mut(),
            dc: gc.as_mut(),
            dv: gv.as_mut(),
        };
        s.backend()
            .cconv_bwd(io, &mut scratch, [b, tl, m2 / 2, k_len])?;
        s.give(scratch);
        s.put(self.z0, gz)?;
        s.put(self.c, gc)?;
        s.put(self.v, gv)
    }
}
