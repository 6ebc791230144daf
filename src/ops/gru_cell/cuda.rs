//! The fused GRU cell on the device (`kernels/gru_cell.cu`: one thread per hidden unit), and its
//! launchers. The two GEMMs (`xp = x W_x + b_x`, `hp = h W_h + b_h`) run on cuBLAS outside; this
//! fuses the gate nonlinearities.
use super::{GruCellKernel, GruGrads};
use crate::backend::cuda::kernels::gru_cell as k;
use crate::backend::cuda::launch::{grid_1d, int, need};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
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

/// `h_new [B, H]` and the saved `gates [B, 3H] = (r | z | n)` from `xp`, `hp [B, 3H]` and `h [B, H]`.
#[allow(clippy::too_many_arguments)]
pub fn gru_cell_fwd(
    dev: &CudaDevice,
    h_new: &mut DevBuf,
    gates: &mut DevBuf,
    xp: &DevBuf,
    hp: &DevBuf,
    h: &DevBuf,
    b: usize,
    hd: usize,
) -> cu::Result<()> {
    need(h_new, b * hd, "gru h_new")?;
    need(gates, b * 3 * hd, "gru gates")?;
    need(xp, b * 3 * hd, "gru xp")?;
    need(hp, b * 3 * hd, "gru hp")?;
    need(h, b * hd, "gru h")?;
    if b * hd == 0 {
        return Ok(());
    }
    let (bi, hi) = (int(b, "B")?, int(hd, "H")?);
    int(b * 3 * hd, "B 3H")?;
    k::gru_cell_fwd(dev, grid_1d(b * hd), h_new, gates, xp, hp, h, bi, hi)
}

/// From `dh_new [B, H]`: `dxp`, `dhp [B, 3H]` += and `dh [B, H]` += (direct path only).
#[allow(clippy::too_many_arguments)]
pub fn gru_cell_bwd(
    dev: &CudaDevice,
    dxp: &mut DevBuf,
    dhp: &mut DevBuf,
    dh: &mut DevBuf,
    dh_new: &DevBuf,
    gates: &DevBuf,
    hp: &DevBuf,
    h: &DevBuf,
    b: usize,
    hd: usize,
) -> cu::Result<()> {
    need(dxp, b * 3 * hd, "gru_bwd dxp")?;
    need(dhp, b * 3 * hd, "gru_bwd dhp")?;
    need(dh, b * hd, "gru_bwd dh")?;
    need(dh_new, b * hd, "gru_bwd dh_new")?;
    need(gates, b * 3 * hd, "gru_bwd gates")?;
    need(hp, b * 3 * hd, "gru_bwd hp")?;
    need(h, b * hd, "gru_bwd h")?;
    if b * hd == 0 {
        return Ok(());
    }
    let (bi, hi) = (int(b, "B")?, int(hd, "H")?);
    int(b * 3 * hd, "B 3H")?;
    k::gru_cell_bwd(
        dev,
        grid_1d(b * hd),
        dxp,
        dhp,
        dh,
        dh_new,
        gates,
        hp,
        h,
        bi,
        hi,
    )
}
