//! GRU over a sequence: one input-projection matmul for all steps, then per step a hidden matmul and
//! the fused cell.
use super::Linear;
use crate::autodiff::{ParamStore, Tape, Var};
use crate::ops::Engine;
use crate::tensor::Real;
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Debug)]
pub struct Gru {
    pub wx: Linear,
    pub wh: Linear,
    pub hidden: usize,
}

impl Gru {
    pub fn new<E: Real>(
        ps: &mut ParamStore<E>,
        name: &str,
        input: usize,
        hidden: usize,
        rng: &mut Rng,
    ) -> Self {
        Gru {
            wx: Linear::new(ps, &format!("{name}.wx"), input, 3 * hidden, true, rng),
            wh: Linear::new(ps, &format!("{name}.wh"), hidden, 3 * hidden, true, rng),
            hidden,
        }
    }
    pub fn count(input: usize, hidden: usize) -> usize {
        Linear::count(input, 3 * hidden, true) + Linear::count(hidden, 3 * hidden, true)
    }
    /// x [B, T, in] → hidden states [B, T, H] (h_0 = 0).
    pub fn forward<B: Engine>(&self, t: &mut Tape<B>, x: Var) -> Result<Var> {
        let (b, tl) = (t.dims(x)[0], t.dims(x)[1]);
        let xp = self.wx.forward(t, x)?;
        let mut h = t.zeros([b, self.hidden]);
        let mut hs = Vec::with_capacity(tl);
        for k in 0..tl {
            let xk = t.narrow(xp, 1, k, 1)?;
            let hp = self.wh.forward(t, h)?;
            h = t.gru_cell(xk, hp, h)?;
            hs.push(h);
        }
        let stacked = t.concat(&hs, 1)?; // [B, T·H] since each h is [B, H]
        t.reshape(stacked, &[b, tl, self.hidden])
    }
}
