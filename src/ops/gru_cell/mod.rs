//! The fused GRU cell (PyTorch's gate layout r, z, n); forward saves the gates.
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;

use crate::autodiff::{Backward, Slots, Tape, Var};
use crate::backend::Backend;
use crate::{shape_err, Error, Result};

/// Inputs and gradients of a GRU cell backward: every gradient is written (`+=`).
pub struct GruGrads<'a, B: Backend> {
    pub hp: &'a B::Buf,
    pub h: &'a B::Buf,
    pub gates: &'a B::Buf,
    pub g: &'a B::Buf,
    pub dxp: &'a mut B::Buf,
    pub dhp: &'a mut B::Buf,
    pub dh: &'a mut B::Buf,
}

/// The GRU cell kernels of a backend, over `rows` rows of hidden size `hd`.
pub trait GruCellKernel: Backend {
    /// h' and the gates [rows, 3·hd] from xp, hp [rows, 3·hd] and h [rows, hd].
    #[allow(clippy::too_many_arguments)]
    fn gru_cell_fwd(
        &self,
        xp: &Self::Buf,
        hp: &Self::Buf,
        h: &Self::Buf,
        out: &mut Self::Buf,
        gates: &mut Self::Buf,
        rows: usize,
        hd: usize,
    ) -> Result<()>;
    fn gru_cell_bwd(&self, io: GruGrads<'_, Self>, rows: usize, hd: usize) -> Result<()>;
}

impl<B: GruCellKernel> Tape<'_, B> {
    /// xp [B, 3H] (input projection), hp [B, 3H] (hidden projection), h [B, H] → h' [B, H].
    pub fn gru_cell(&mut self, xp: Var, hp: Var, h: Var) -> Result<Var> {
        let sh = self.shape(h);
        let (rows, hd) = (sh.rows(), sh.last());
        for v in [xp, hp] {
            let s = self.shape(v);
            if s.last() != 3 * hd || s.rows() != rows {
                return Err(shape_err!(
                    "gru_cell: {s:?} does not match h {sh:?} (need [B, 3H])"
                ));
            }
        }
        let mut out = self.alloc(rows * hd)?;
        let mut gates = self.alloc(rows * 3 * hd)?;
        let (xv, hv3, hv) = (self.buf(xp)?, self.buf(hp)?, self.buf(h)?);
        self.backend()
            .gru_cell_fwd(xv, hv3, hv, &mut out, &mut gates, rows, hd)?;
        let rule = GruCell { xp, hp, h };
        Ok(self.push_saved(sh, out, vec![gates], rule, &[xp, hp, h]))
    }
}

struct GruCell {
    xp: Var,
    hp: Var,
    h: Var,
}

impl<B: GruCellKernel> Backward<B> for GruCell {
    fn name(&self) -> &'static str {
        "gru_cell"
    }
    fn backward(&self, t: &Tape<'_, B>, y: Var, g: &B::Buf, s: &mut Slots<'_, B>) -> Result<()> {
        let [gates] = t.saved(y) else {
            return Err(Error::Device("gru_cell: saved gates missing".into()));
        };
        let sh = t.shape(self.h);
        // The kernels write all three gradients; unneeded ones go back to the pool.
        let (mut dxp, mut dhp, mut dh) = (
            s.take_any(self.xp)?,
            s.take_any(self.hp)?,
            s.take_any(self.h)?,
        );
        let io = GruGrads {
            hp: t.buf(self.hp)?,
            h: t.buf(self.h)?,
            gates,
            g,
            dxp: &mut dxp,
            dhp: &mut dhp,
            dh: &mut dh,
        };
        s.backend().gru_cell_bwd(io, sh.rows(), sh.last())?;
        s.put(self.xp, Some(dxp))?;
        s.put(self.hp, Some(dhp))?;
        s.put(self.h, Some(dh))
    }
}
