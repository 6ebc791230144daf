//! Launchers for the fused GRU cell (`gru.cu`). The two GEMMs (`xp = x W_x + b_x`,
//! `hp = h W_h + b_h`) run on cuBLAS outside; this fuses the gate nonlinearities.

use super::{grid_1d, int, need};
use crate::backend::cuda::{CudaDevice, Result};
use crate::kernels::gru as k;
use cudarc::driver::{CudaSlice, PushKernelArg};

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
    let f = dev.func(k::GRU_CELL_FWD)?;
    let mut l = dev.stream().launch_builder(&f);
    l.arg(h_new)
        .arg(gates)
        .arg(xp)
        .arg(hp)
        .arg(h)
        .arg(&bi)
        .arg(&hi);
    // SAFETY: sizes checked above; argument types match the kernel signature.
    unsafe { l.launch(grid_1d(b * hd)) }?;
    Ok(())
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
    let f = dev.func(k::GRU_CELL_BWD)?;
    let mut l = dev.stream().launch_builder(&f);
    l.arg(dxp)
        .arg(dhp)
        .arg(dh)
        .arg(dh_new)
        .arg(gates)
        .arg(hp)
        .arg(h)
        .arg(&bi)
        .arg(&hi);
    // SAFETY: sizes checked above; argument types match the kernel signature.
    unsafe { l.launch(grid_1d(b * hd)) }?;
    Ok(())
}
