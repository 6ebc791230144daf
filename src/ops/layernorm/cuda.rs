//! Layer normalisation on the device (`kernels/layernorm.cu`), and its launchers: LayerNorm over
//! the last dim of a row-major
//! `[rows, cols]` matrix, `y = (x - mean) * rstd * gamma + beta`, `rstd = 1 / sqrt(var + 1e-5)`
//! (biased variance), saving `mean` and `rstd` `[rows]` for backward. Rows are one warp each; the
//! gamma/beta gradients are deterministic two-pass column sums.
use super::{LayerNormGrads, LayerNormKernel};
use crate::backend::cuda::kernels::layernorm as k;
use crate::backend::cuda::launch::{grid_1d, int, need, row_chunks, warp_rows};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::Result;
use cudarc::driver::LaunchConfig;

impl LayerNormKernel for Cuda {
    fn layernorm_fwd(
        &self,
        x: &DevBuf,
        gamma: &DevBuf,
        beta: &DevBuf,
        y: &mut DevBuf,
        mean: &mut DevBuf,
        rstd: &mut DevBuf,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        Ok(layernorm_fwd(
            self.dev(),
            y,
            mean,
            rstd,
            x,
            gamma,
            beta,
            rows,
            cols,
        )?)
    }
    fn layernorm_bwd(&self, io: LayerNormGrads<'_, Self>, rows: usize, cols: usize) -> Result<()> {
        Ok(layernorm_bwd(
            self.dev(),
            io.dx,
            io.dgamma_dbeta,
            io.g,
            io.x,
            io.gamma,
            io.mean,
            io.rstd,
            rows,
            cols,
        )?)
    }
}

/// Rows summed by one block of `layernorm_bwd_gb_partial`.
const ROWS_PER_PART: usize = 256;

/// Forward: writes `y [rows, cols]`, `mean [rows]`, `rstd [rows]`. `cols == 0` does nothing.
#[allow(clippy::too_many_arguments)]
pub fn layernorm_fwd(
    dev: &CudaDevice,
    y: &mut DevBuf,
    mean: &mut DevBuf,
    rstd: &mut DevBuf,
    x: &DevBuf,
    gamma: &DevBuf,
    beta: &DevBuf,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    need(y, rows * cols, "layernorm y")?;
    need(mean, rows, "layernorm mean")?;
    need(rstd, rows, "layernorm rstd")?;
    need(x, rows * cols, "layernorm x")?;
    need(gamma, cols, "layernorm gamma")?;
    need(beta, cols, "layernorm beta")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    let cfg = warp_rows(rows);
    k::layernorm_fwd(dev, cfg, y, mean, rstd, x, gamma, beta, ri, ci)
}

/// Backward from `dy [rows, cols]` and the saved `mean`, `rstd`: `dx += ...` (None: the input
/// needs no gradient) and `dgamma`, `dbeta [cols]` += (None: both frozen; the kernel writes the
/// pair together).
#[allow(clippy::too_many_arguments)]
pub fn layernorm_bwd(
    dev: &CudaDevice,
    dx: Option<&mut DevBuf>,
    dgamma_dbeta: Option<(&mut DevBuf, &mut DevBuf)>,
    dy: &DevBuf,
    x: &DevBuf,
    gamma: &DevBuf,
    mean: &DevBuf,
    rstd: &DevBuf,
    rows: usize,
    cols: usize,
) -> cu::Result<()> {
    if let Some(d) = dx.as_deref() {
        need(d, rows * cols, "layernorm_bwd dx")?;
    }
    if let Some((dg, db)) = dgamma_dbeta.as_ref() {
        need(dg, cols, "layernorm_bwd dgamma")?;
        need(db, cols, "layernorm_bwd dbeta")?;
    }
    need(dy, rows * cols, "layernorm_bwd dy")?;
    need(x, rows * cols, "layernorm_bwd x")?;
    need(gamma, cols, "layernorm_bwd gamma")?;
    need(mean, rows, "layernorm_bwd mean")?;
    need(rstd, rows, "layernorm_bwd rstd")?;
    if rows * cols == 0 {
        return Ok(());
    }
    let (ri, ci) = (int(rows, "rows")?, int(cols, "cols")?);
    if let Some(dx) = dx {
        let cfg = warp_rows(rows);
        k::layernorm_bwd_dx(dev, cfg, dx, dy, x, gamma, mean, rstd, ri, ci)?;
    }
    if let Some((dgamma, dbeta)) = dgamma_dbeta {
        let (per, parts) = row_chunks(rows, ROWS_PER_PART);
        int(parts * 2 * cols, "layernorm partials")?;
        let (rpp, pi) = (int(per, "rows per part")?, int(parts, "parts")?);
        let mut partial = dev.scratch_zeroed::<f32>(parts * 2 * cols)?;
        // Block (32, 8), as the kernel's CR_TX x CR_TY tile requires.
        let cfg = LaunchConfig {
            grid_dim: (cols.div_ceil(32) as u32, parts as u32, 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        k::layernorm_bwd_gb_partial(dev, cfg, &mut *partial, dy, x, mean, rstd, ri, ci, rpp)?;
        k::layernorm_bwd_gb_final(dev, grid_1d(cols), dgamma, dbeta, &*partial, pi, ci)?;
    }
    Ok(())
}
