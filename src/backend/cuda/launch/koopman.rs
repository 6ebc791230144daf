//! Launchers for `kernels/koopman/*.cu`: ZOH discretisation, Vandermonde powers, input gain, scan and causal
//! convolution, forward and backward. Shapes (planar complex, see the kernel file): `mu`, `omega`
//! `[m]`, `log_dt` `[1]`, `lbar`/`gain` `[2m]`, `z0` `[B, 2m]`, `u`/`c`/`x` `[B, T, 2m]`,
//! `V` `[2][m][K]` with `K >= T + 1`. Backward launchers accumulate (`+=`) into gradients; the
//! reductions over batch use scratch buffers allocated here and are deterministic.

use super::reduce::sum_cols_final;
use super::{grid_1d, int, need, one_block, opt_mut, row_chunks};
use crate::backend::cuda::kernels::koopman::{cconv, cmul, scan, vandermonde, zoh};
use crate::backend::cuda::{CudaDevice, CudaError, Result};
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Threads per block along modes for the scan (grid y = batch).
const SCAN_BLOCK: u32 = 128;
/// Convolution tile, matching CC_TM x CC_TY threads and CC_TO outputs per block in cconv.cu.
const CC_TM: usize = 32;
const CC_TY: u32 = 8;
const CC_TO: usize = 32;
/// Upper bound on batch chunks for the dV partial sums (parallelism vs scratch size).
const DV_MAX_PARTS: usize = 16;
/// Rows per block for the gain-gradient partial sums.
const GAIN_ROWS_PER_PART: usize = 64;
/// Threads for single-block and per-mode reductions.
const REDUCE_BLOCK: u32 = 256;

fn scan_cfg(b: usize, m: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((m as u32).div_ceil(SCAN_BLOCK), b as u32, 1),
        block_dim: (SCAN_BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

fn cconv_cfg(m: usize, outputs: usize, z: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (
            m.div_ceil(CC_TM) as u32,
            outputs.div_ceil(CC_TO) as u32,
            z as u32,
        ),
        block_dim: (CC_TM as u32, CC_TY, 1),
        shared_mem_bytes: 0,
    }
}

fn check_k(t: usize, kk: usize) -> Result<()> {
    if kk < t + 1 {
        return Err(CudaError(format!(
            "Vandermonde has K = {kk} columns, needs T + 1 = {}",
            t + 1
        )));
    }
    Ok(())
}

fn check_batch(b: usize) -> Result<()> {
    if b > 65_535 {
        return Err(CudaError(format!(
            "batch {b} exceeds the grid's 65535 limit"
        )));
    }
    Ok(())
}

/// `zg = [lbar ; gain]` (`[2, 2m]`, the op's stacked value): `lbar = exp(lambda dt)`,
/// `gain = (lbar - 1) / lambda`, `lambda = mu + i omega`, `dt = exp(log_dt)`. The kernel writes the
/// two rows through views of the one buffer.
pub fn zoh_fwd(
    dev: &CudaDevice,
    zg: &mut CudaSlice<f32>,
    mu: &CudaSlice<f32>,
    omega: &CudaSlice<f32>,
    log_dt: &CudaSlice<f32>,
    m: usize,
) -> Result<()> {
    need(zg, 4 * m, "zoh lbar and gain")?;
    need(mu, m, "zoh mu")?;
    need(omega, m, "zoh omega")?;
    need(log_dt, 1, "zoh log_dt")?;
    if m == 0 {
        return Ok(());
    }
    let mi = int(m, "m")?;
    let (mut lbar, mut gain) = zg.split_at_mut(2 * m);
    zoh::zoh_fwd(dev, grid_1d(m), &mut lbar, &mut gain, mu, omega, log_dt, mi)
}

/// From `g = [g_lbar ; g_gain]` `[2, 2m]`: `dmu`, `domega` `[m]` += (None: frozen parameter),
/// `dlog_dt` += .
#[allow(clippy::too_many_arguments)]
pub fn zoh_bwd(
    dev: &CudaDevice,
    dmu: Option<&mut CudaSlice<f32>>,
    domega: Option<&mut CudaSlice<f32>>,
    dlog_dt: &mut CudaSlice<f32>,
    g: &CudaSlice<f32>,
    mu: &CudaSlice<f32>,
    omega: &CudaSlice<f32>,
    log_dt: &CudaSlice<f32>,
    m: usize,
) -> Result<()> {
    if let Some(d) = dmu.as_deref() {
        need(d, m, "zoh_bwd dmu")?;
    }
    if let Some(d) = domega.as_deref() {
        need(d, m, "zoh_bwd domega")?;
    }
    need(dlog_dt, 1, "zoh_bwd dlog_dt")?;
    need(g, 4 * m, "zoh_bwd g_lbar and g_gain")?;
    need(mu, m, "zoh_bwd mu")?;
    need(omega, m, "zoh_bwd omega")?;
    need(log_dt, 1, "zoh_bwd log_dt")?;
    if m == 0 {
        return Ok(());
    }
    let mi = int(m, "m")?;
    let (g_lbar, g_gain) = g.split_at(2 * m);
    // One block, as the kernel's deterministic reduction requires.
    zoh::zoh_bwd(
        dev,
        one_block(REDUCE_BLOCK),
        opt_mut(dmu),
        opt_mut(domega),
        dlog_dt,
        &g_lbar,
        &g_gain,
        mu,
        omega,
        log_dt,
        mi,
    )
}

/// `V[i, k] = exp(lambda_i dt k)` for `k < K`, planar `[2][m][K]`.
pub fn vandermonde_fwd(
    dev: &CudaDevice,
    v: &mut CudaSlice<f32>,
    mu: &CudaSlice<f32>,
    omega: &CudaSlice<f32>,
    log_dt: &CudaSlice<f32>,
    m: usize,
    kk: usize,
) -> Result<()> {
    need(v, 2 * m * kk, "vandermonde V")?;
    need(mu, m, "vandermonde mu")?;
    need(omega, m, "vandermonde omega")?;
    need(log_dt, 1, "vandermonde log_dt")?;
    if m * kk == 0 {
        return Ok(());
    }
    let (mi, ki) = (int(m, "m")?, int(kk, "K")?);
    int(2 * m * kk, "2 m K")?;
    vandermonde::vandermonde_fwd(dev, grid_1d(m * kk), v, mu, omega, log_dt, mi, ki)
}

/// From `g_v` `[2][m][K]`: `dmu`, `domega` += (None: frozen), `dlog_dt` += (two deterministic passes).
pub fn vandermonde_bwd(
    dev: &CudaDevice,
    dmu: Option<&mut CudaSlice<f32>>,
    domega: Option<&mut CudaSlice<f32>>,
    dlog_dt: &mut CudaSlice<f32>,
    g_v: &CudaSlice<f32>,
    mu: &CudaSlice<f32>,
    omega: &CudaSlice<f32>,
    log_dt: &CudaSlice<f32>,
    m: usize,
    kk: usize,
) -> Result<()> {
    if let Some(d) = dmu.as_deref() {
        need(d, m, "vandermonde_bwd dmu")?;
    }
    if let Some(d) = domega.as_deref() {
        need(d, m, "vandermonde_bwd domega")?;
    }
    need(dlog_dt, 1, "vandermonde_bwd dlog_dt")?;
    need(g_v, 2 * m * kk, "vandermonde_bwd g_v")?;
    need(mu, m, "vandermonde_bwd mu")?;
    need(omega, m, "vandermonde_bwd omega")?;
    need(log_dt, 1, "vandermonde_bwd log_dt")?;
    if m == 0 {
        return Ok(());
    }
    let (mi, ki) = (int(m, "m")?, int(kk, "K")?);
    int(2 * m * kk, "2 m K")?;
    let mut dt_partial = dev.zeros(m)?;
    // One block per mode, as the kernel expects.
    let cfg = LaunchConfig {
        grid_dim: (m as u32, 1, 1),
        block_dim: (128, 1, 1),
        shared_mem_bytes: 0,
    };
    vandermonde::vandermonde_bwd(
        dev,
        cfg,
        opt_mut(dmu),
        opt_mut(domega),
        &mut dt_partial,
        g_v,
        mu,
        omega,
        log_dt,
        mi,
        ki,
    )?;
    vandermonde::dt_reduce(dev, one_block(REDUCE_BLOCK), dlog_dt, &dt_partial, mi)
}

/// `c = gain * u` per mode over `rows` rows of `2m` floats.
pub fn cmul_gain_fwd(
    dev: &CudaDevice,
    c: &mut CudaSlice<f32>,
    u: &CudaSlice<f32>,
    gain: &CudaSlice<f32>,
    rows: usize,
    m: usize,
) -> Result<()> {
    need(c, rows * 2 * m, "cmul_gain c")?;
    need(u, rows * 2 * m, "cmul_gain u")?;
    need(gain, 2 * m, "cmul_gain gain")?;
    if rows * m == 0 {
        return Ok(());
    }
    let (ri, mi) = (int(rows, "rows")?, int(m, "m")?);
    int(rows * 2 * m, "rows * 2m")?;
    cmul::cmul_gain_fwd(dev, grid_1d(rows * m), c, u, gain, ri, mi)
}

/// `du += conj(gain) gc`, `dgain += sum_rows conj(u) gc` (deterministic two-pass).
pub fn cmul_gain_bwd(
    dev: &CudaDevice,
    du: &mut CudaSlice<f32>,
    dgain: &mut CudaSlice<f32>,
    gc: &CudaSlice<f32>,
    u: &CudaSlice<f32>,
    gain: &CudaSlice<f32>,
    rows: usize,
    m: usize,
) -> Result<()> {
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
    let mut partial = dev.zeros(parts * 2 * m)?;
    // Block (32, 8), as the kernel's GN_TX x GN_TY tile requires.
    let cfg = LaunchConfig {
        grid_dim: (m.div_ceil(32) as u32, parts as u32, 1),
        block_dim: (32, 8, 1),
        shared_mem_bytes: 0,
    };
    cmul::cmul_gain_bwd(dev, cfg, du, &mut partial, gc, u, gain, ri, mi, rpp)?;
    sum_cols_final(dev, dgain, &partial, parts, 2 * m, true)
}

/// Sequential scan: `x[:, k] = lbar * x[:, k-1] + c[:, k]`, starting from `z0`; `x` row k = xhat_{k+1}.
pub fn scan_fwd(
    dev: &CudaDevice,
    x: &mut CudaSlice<f32>,
    z0: &CudaSlice<f32>,
    c: &CudaSlice<f32>,
    lbar: &CudaSlice<f32>,
    b: usize,
    t: usize,
    m: usize,
) -> Result<()> {
    need(x, b * t * 2 * m, "scan x")?;
    need(z0, b * 2 * m, "scan z0")?;
    need(c, b * t * 2 * m, "scan c")?;
    need(lbar, 2 * m, "scan lbar")?;
    check_batch(b)?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi) = (int(b, "B")?, int(t, "T")?, int(m, "m")?);
    scan::scan_fwd(dev, scan_cfg(b, m), x, z0, c, lbar, bi, ti, mi)
}

/// Scan backward from `gx` (upstream gradient of `x`): `dz0`, `dc`, `dlbar` += .
pub fn scan_bwd(
    dev: &CudaDevice,
    dz0: &mut CudaSlice<f32>,
    dc: &mut CudaSlice<f32>,
    dlbar: &mut CudaSlice<f32>,
    gx: &CudaSlice<f32>,
    x: &CudaSlice<f32>,
    z0: &CudaSlice<f32>,
    lbar: &CudaSlice<f32>,
    b: usize,
    t: usize,
    m: usize,
) -> Result<()> {
    need(dz0, b * 2 * m, "scan_bwd dz0")?;
    need(dc, b * t * 2 * m, "scan_bwd dc")?;
    need(dlbar, 2 * m, "scan_bwd dlbar")?;
    need(gx, b * t * 2 * m, "scan_bwd gx")?;
    need(x, b * t * 2 * m, "scan_bwd x")?;
    need(z0, b * 2 * m, "scan_bwd z0")?;
    need(lbar, 2 * m, "scan_bwd lbar")?;
    check_batch(b)?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi) = (int(b, "B")?, int(t, "T")?, int(m, "m")?);
    let mut partial = dev.zeros(b * 2 * m)?;
    let cfg = scan_cfg(b, m);
    scan::scan_bwd(dev, cfg, dz0, dc, &mut partial, gx, x, z0, lbar, bi, ti, mi)?;
    sum_cols_final(dev, dlbar, &partial, b, 2 * m, true)
}

/// Causal convolution with the free response fused:
/// `x[b, k] = V[:, k+1] z0[b] + sum_{l <= k} V[:, k-l] c[b, l]`.
pub fn cconv_fwd(
    dev: &CudaDevice,
    x: &mut CudaSlice<f32>,
    z0: &CudaSlice<f32>,
    c: &CudaSlice<f32>,
    v: &CudaSlice<f32>,
    b: usize,
    t: usize,
    m: usize,
    kk: usize,
) -> Result<()> {
    check_k(t, kk)?;
    need(x, b * t * 2 * m, "cconv x")?;
    need(z0, b * 2 * m, "cconv z0")?;
    need(c, b * t * 2 * m, "cconv c")?;
    need(v, 2 * m * kk, "cconv V")?;
    check_batch(b)?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi, ki) = (int(b, "B")?, int(t, "T")?, int(m, "m")?, int(kk, "K")?);
    int(2 * m * kk, "2 m K")?;
    cconv::cconv_fwd(dev, cconv_cfg(m, t, b), x, z0, c, v, bi, ti, mi, ki)
}

/// Convolution backward from `g` (upstream gradient of `x`): `dz0`, `dc`, `dv` += .
pub fn cconv_bwd(
    dev: &CudaDevice,
    dz0: &mut CudaSlice<f32>,
    dc: &mut CudaSlice<f32>,
    dv: &mut CudaSlice<f32>,
    g: &CudaSlice<f32>,
    z0: &CudaSlice<f32>,
    c: &CudaSlice<f32>,
    v: &CudaSlice<f32>,
    b: usize,
    t: usize,
    m: usize,
    kk: usize,
) -> Result<()> {
    check_k(t, kk)?;
    need(dz0, b * 2 * m, "cconv_bwd dz0")?;
    need(dc, b * t * 2 * m, "cconv_bwd dc")?;
    need(dv, 2 * m * kk, "cconv_bwd dV")?;
    need(g, b * t * 2 * m, "cconv_bwd g")?;
    need(z0, b * 2 * m, "cconv_bwd z0")?;
    need(c, b * t * 2 * m, "cconv_bwd c")?;
    need(v, 2 * m * kk, "cconv_bwd V")?;
    check_batch(b)?;
    if b * t * m == 0 {
        return Ok(());
    }
    let (bi, ti, mi, ki) = (int(b, "B")?, int(t, "T")?, int(m, "m")?, int(kk, "K")?);
    int(b * m, "B m")?;

    cconv::cconv_bwd_dc(dev, cconv_cfg(m, t, b), dc, g, v, bi, ti, mi, ki)?;
    cconv::cconv_bwd_dz0(dev, grid_1d(b * m), dz0, g, v, bi, ti, mi, ki)?;

    let parts = b.min(DV_MAX_PARTS);
    let per_part = b.div_ceil(parts);
    let parts = b.div_ceil(per_part);
    let n_v = 2 * m * kk;
    int(parts * n_v, "dV partials")?;
    let mut partial = dev.zeros(parts * n_v)?;
    let bpp = int(per_part, "batch per part")?;
    let cfg = cconv_cfg(m, kk, parts);
    cconv::cconv_bwd_dv(dev, cfg, &mut partial, g, c, z0, bi, ti, mi, ki, bpp)?;
    sum_cols_final(dev, dv, &partial, parts, n_v, true)
}
