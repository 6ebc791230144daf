//! A diagonal Koopman latent driven by actions: an MLP encodes each action (a → hidden → 2m, ELU)
//! into the operator's input, and the operator rolls the latent forward over the whole horizon at
//! once. TOLD's Koopman dynamics (Koopman TD-MPC) and Koopman SPR's predictor are this layer.
use super::{DiagonalKoopman, Mlp, OperatorConfig};
use crate::autodiff::{ParamStore, Tape, Var};
use crate::ops::unary::Unary;
use crate::ops::Engine;
use crate::util::rng::Rng;
use crate::Result;

#[derive(Clone, Debug)]
pub struct ControlledKoopman {
    /// The action encoder, parameters `{prefix}act_enc.*`.
    pub act: Mlp,
    /// The operator, parameters `{prefix}koopman.*`.
    pub op: DiagonalKoopman,
}

impl ControlledKoopman {
    pub fn new(
        ps: &mut ParamStore,
        prefix: &str,
        (act_dim, hidden): (usize, usize),
        cfg: OperatorConfig,
        rng: &mut Rng,
    ) -> Self {
        let l = 2 * cfg.modes;
        let act = Mlp::new(
            ps,
            &format!("{prefix}act_enc"),
            &[act_dim, hidden, l],
            Unary::Elu,
            rng,
        );
        let op = DiagonalKoopman::new(ps, &format!("{prefix}koopman"), cfg, rng);
        ControlledKoopman { act, op }
    }

    /// z_1..z_K [B, K, 2m] from z_0 [B, 2m] and the actions a_0..a_{K−1} [B, K, A].
    pub fn rollout<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        z0: Var,
        actions: Var,
    ) -> Result<Var> {
        let u = self.act.forward(t, actions)?;
        self.op.rollout(t, z0, u)
    }
}
