//! Fused GRU cell (PyTorch convention, gates ordered r, z, n):
//! r = σ(xp_r + hp_r), z = σ(xp_z + hp_z), n = tanh(xp_n + r ⊙ hp_n), h' = (1 − z) ⊙ n + z ⊙ h,
//! where xp = x·W_x + b_x and hp = h·W_h + b_h come from matmuls outside the cell.
use super::{GruCellKernel, GruGrads};
use crate::backend::Cpu;
use crate::tensor::Real;
use crate::Result;

#[inline(always)]
fn sigmoid<E: Real>(x: E) -> E {
    E::one() / (E::one() + (-x).exp())
}

/// Rows of width `hd`: writes h' and saves the gates [r, z, n] per row.
pub fn forward<E: Real>(hd: usize, xp: &[E], hp: &[E], h: &[E], out: &mut [E], gates: &mut [E]) {
    for (row, o) in out.chunks_exact_mut(hd).enumerate() {
        let (x3, h3, g3) = (
            &xp[row * 3 * hd..],
            &hp[row * 3 * hd..],
            &mut gates[row * 3 * hd..],
        );
        let hr = &h[row * hd..];
        for j in 0..hd {
            let r = sigmoid(x3[j] + h3[j]);
            let z = sigmoid(x3[hd + j] + h3[hd + j]);
            let n = (x3[2 * hd + j] + r * h3[2 * hd + j]).tanh();
            o[j] = (E::one() - z) * n + z * hr[j];
            g3[j] = r;
            g3[hd + j] = z;
            g3[2 * hd + j] = n;
        }
    }
}

/// Accumulates dxp, dhp, dh from the output gradient g and the saved gates.
#[allow(clippy::too_many_arguments)]
pub fn backward<E: Real>(
    hd: usize,
    hp: &[E],
    h: &[E],
    gates: &[E],
    g: &[E],
    mut dxp: Option<&mut [E]>,
    mut dhp: Option<&mut [E]>,
    mut dh: Option<&mut [E]>,
) {
    for (row, gr) in g.chunks_exact(hd).enumerate() {
        let (h3, g3, hr) = (&hp[row * 3 * hd..], &gates[row * 3 * hd..], &h[row * hd..]);
        for j in 0..hd {
            let (r, z, n) = (g3[j], g3[hd + j], g3[2 * hd + j]);
            let gy = gr[j];
            let dn = gy * (E::one() - z);
            let dz = gy * (hr[j] - n);
            let dpre_n = dn * (E::one() - n * n);
            let dr = dpre_n * h3[2 * hd + j];
            let dpre_z = dz * z * (E::one() - z);
            let dpre_r = dr * r * (E::one() - r);
            let base = row * 3 * hd;
            if let Some(d) = dxp.as_deref_mut() {
                d[base + j] += dpre_r;
                d[base + hd + j] += dpre_z;
                d[base + 2 * hd + j] += dpre_n;
            }
            if let Some(d) = dhp.as_deref_mut() {
                d[base + j] += dpre_r;
                d[base + hd + j] += dpre_z;
                d[base + 2 * hd + j] += dpre_n * r;
            }
            if let Some(d) = dh.as_deref_mut() {
                d[row * hd + j] += gy * z;
            }
        }
    }
}

impl<E: Real> GruCellKernel for Cpu<E> {
    fn gru_cell_fwd(
        &self,
        xp: &Vec<E>,
        hp: &Vec<E>,
        h: &Vec<E>,
        out: &mut Vec<E>,
        gates: &mut Vec<E>,
        rows: usize,
        hd: usize,
    ) -> Result<()> {
        let (n, n3) = (rows * hd, rows * 3 * hd);
        forward(
            hd,
            &xp[..n3],
            &hp[..n3],
            &h[..n],
            &mut out[..n],
            &mut gates[..n3],
        );
        Ok(())
    }
    fn gru_cell_bwd(&self, io: GruGrads<'_, Self>, rows: usize, hd: usize) -> Result<()> {
        let (n, n3) = (rows * hd, rows * 3 * hd);
        backward(
            hd,
            &io.hp[..n3],
            &io.h[..n],
            &io.gates[..n3],
            &io.g[..n],
            Some(&mut io.dxp[..n3]),
            Some(&mut io.dhp[..n3]),
            Some(&mut io.dh[..n]),
        );
        Ok(())
    }
}
