//! The state decoder and reward head that read one feature vector per step (the GRU's hidden state,
//! the Transformer's final layer): features → states and features → reward, each an MLP.
use crate::autodiff::{ParamStore, Tape, Var};
use crate::nn::Mlp;
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::Result;

pub struct Heads {
    dec: Mlp,
    rew: Mlp,
}

impl Heads {
    /// Parameters `dec.*` (features → d_s) then `rew.*` (features → 1), in that order.
    pub fn new(
        ps: &mut ParamStore,
        features: usize,
        obs_dim: usize,
        dec_hidden: &[usize],
        rew_hidden: &[usize],
        act: Unary,
        rng: &mut Rng,
    ) -> Self {
        let dec_w = Mlp::widths(features, dec_hidden, obs_dim);
        let dec = Mlp::new(ps, "dec", &dec_w, act, rng);
        let rew = Mlp::new(ps, "rew", &Mlp::widths(features, rew_hidden, 1), act, rng);
        Heads { dec, rew }
    }
    pub fn states<B: Engine<E = f32>>(&self, t: &mut Tape<B>, h: Var) -> Result<Var> {
        self.dec.forward(t, h)
    }
    pub fn rewards<B: Engine<E = f32>>(&self, t: &mut Tape<B>, h: Var) -> Result<Var> {
        self.rew.forward(t, h)
    }
}
