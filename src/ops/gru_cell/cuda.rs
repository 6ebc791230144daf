//! The fused GRU cell on the device (`gru.cu`: one thread per hidden unit).
use super::{GruCellKernel, GruGrads};
use crate::backend::cuda::launch::gru::{gru_cell_bwd, gru_cell_fwd};
use crate::backend::cuda::{Cuda, DevBuf};
use crate::Result;

impl GruCellKernel for Cuda {
    fn gru_cell_fwd(
        &self,
        xp: &DevBuf,
        hp: &DevBuf,
        h: &DevBuf,
        out: &mut DevBuf,
        gates: &mut DevBuf,
        rows: usize,
        hd: usize,
    ) -> Result<()> {
        Ok(gru_cell_fwd(self.dev(), out, gates, xp, hp, h, rows, hd)?)
    }
    fn gru_cell_bwd(&self, io: GruGrads<'_, Self>, rows: usize, hd: usize) -> Result<()> {
        Ok(gru_cell_bwd(
            self.dev(),
            io.dxp,
            io.dhp,
            io.dh,
            io.g,
            io.gates,
            io.hp,
            io.h,
            rows,
            hd,
        )?)
    }
}
