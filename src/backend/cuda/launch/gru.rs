//! Launchers for the fused GRU cell (`kernels/gru_cell.cu`). The two GEMMs (`xp = x W_x + b_x`,
//! `hp = h W_h + b_h`) run on cuBLAS outside; this fuses the gate nonlinearities.

use super::{grid_1d, int, need};
use crate::backend::cuda::kernels::gru_cell as k;
use crate::backend::cuda::{CudaDevice, Result};
use cudarc::driver::CudaSlice;

/// `h_new [B, H]` and the saved `gates [B, 3H] = (r | z | n)` from `xp`, `hp [B, 3H]` and `h [B, H]`.
pub fn gru_cell_fwd(
    dev: &CudaDevice,
    h_new: &mut CudaSlice<f32>,
    gates: &mut CudaSlice<f32>,
    xp: &CudaSlice<f32>,
    hp: &CudaSlice<f32>,
    h: &CudaSlice<f32>,
    b: usize,
    hd: usize,
) -> Result<()> {
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
pub fn gru_cell_bwd(
    dev: &CudaDevice,
    dxp: &mut CudaSlice<f32>,
    dhp: &mut CudaSlice<f32>,
    dh: &mut CudaSlice<f32>,
    dh_new: &CudaSlice<f32>,
    gates: &CudaSlice<f32>,
    hp: &CudaSlice<f32>,
    h: &CudaSlice<f32>,
    b: usize,
    hd: usize,
) -> Result<()> {
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
