//! The complex gain product on the device (`kernels/koopman/cmul.cu`); the gain's gradient is a
//! deterministic two-pass column sum. Its launchers follow the impl.
use super::CmulKernel;
use crate::backend::cuda::kernels::koopman::cmul as k;
use crate::backend::cuda::launch::reduce::sum_cols_final;
use crate::backend::cuda::launch::{grid_1d, int, need, row_chunks};
use crate::backend::cuda::{self as cu, Cuda, CudaDevice, DevBuf};
use crate::ops::GradOut;
use crate::Result;
use cudarc::driver::LaunchConfig;

impl CmulKernel for Cuda {
    fn cmul_fwd(
        &self,
        a: &DevBuf,
        b: &DevBuf,
        y: &mut DevBuf,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        Ok(cmul_gain_fwd(self.dev(), y, a, b, rows, m)?)
    }
    fn cmul_bwd(
        &self,
        a: &DevBuf,
        b: &DevBuf,
        g: &DevBuf,
        da: GradOut<'_, Self>,
        db: Option<&mut DevBuf>,
        rows: usize,
        m: usize,
    ) -> Result<()> {
        // The launcher writes both gradients.
        let (mut ta, mut tb) = (None, None);
        let da = self.grad_out(da, rows * 2 * m, &mut ta)?;
        let db = self.grad_out(db.map(|d| (d, true)), 2 * m, &mut tb)?;
        Ok(cmul_gain_bwd(self.dev(), da, db, g, a, b, rows, m)?)
    }
}

/// Rows per block for the gain-gradient partial sums.
const GAIN_ROWS_PER_PART: usize = 64;

#[allow(clippy::too_many_arguments)]
/// `c = gain * u` per mode over `rows` rows of `2m` floats.
pub fn cmul_gain_fwd(
    dev: &CudaDevice,
    c: &mut DevBuf,
    u: &DevBuf,
    gain: &DevBuf,
    rows: usize,
    m: usize,
) -> cu::Result<()> {
    need(c, rows * 2 * m, "cmul_gain c")?;
    need(u, rows * 2 * m, "cmul_gain u")?;
    need(gain, 2 * m, "cmul_gain gain")?;
    if rows * m == 0 {
        return Ok(());
    }
    let (ri, mi) = (int(rows, "rows")?, int(m, "m")?);
    int(rows * 2 * m, "rows * 2m")?;
    k::cmul_gain_fwd(dev, grid_1d(rows * m), c, u, gain, ri, mi)
}

#[allow(clippy::too_many_arguments)]
/// `du += conj(gain) gc`, `dgain += sum_rows conj(u) gc` (deterministic two-pass).
pub fn cmul_gain_bwd(
    dev: &CudaDevice,
    du: &mut DevBuf,
    dgain: &mut DevBuf,
    gc: &DevBuf,
    u: &DevBuf,
    gain: &DevBuf,
    rows: usize,
    m: usize,
) -> cu::Result<()> {
    need(du, rows * 2 * m, "cmul_gain_bwd du")?;
    need(dgain, 2 * m, "cmul_gain_bwd dgain")?;
    need(gc, rows * 2 * m, "cmul_gain_bwd gc")?;
    need(u, rows * 2 * m, "cmul_gain_bwd u")?;
    need(gain, 2 * m, "cmul_gain_bwd gain")?;
    if rows * m == 0 {
        return Ok(());
    }
    let (ri, mi) = (int(rows, "rows")?, int(m, "m")?);
    int(rows * 2 * m, "rows * 2m")?;
    let (per, parts) = row_chunks(rows, GAIN_ROWS_PER_PART);
    let rpp = int(per, "rows per part")?;
    let mut partial = dev.scratch_zeroed::<f32>(parts * 2 * m)?;
    // Block (32, 8), as the kernel's GN_TX x GN_TY tile requires.
    let cfg = LaunchConfig {
        grid_dim: (m.div_ceil(32) as u32, parts as u32, 1),
        block_dim: (32, 8, 1),
        shared_mem_bytes: 0,
    };
    k::cmul_gain_bwd(dev, cfg, du, &mut *partial, gc, u, gain, ri, mi, rpp)?;
    sum_cols_final(dev, dgain, &partial, parts, 2 * m, true)
}
