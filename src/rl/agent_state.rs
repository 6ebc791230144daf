//! What an agent learns, as host copies: the checkpoint format every agent shares.
use crate::autodiff::ParamStore;

/// Host copies of everything an agent learns (for checkpoints and tests).
pub struct AgentState {
    pub online: ParamStore,
    pub target: ParamStore,
    /// Adam (m, v) per parameter.
    pub moments: Vec<(Vec<f32>, Vec<f32>)>,
    /// Optimiser steps of the two parameter groups: TD-MPC's TOLD and π; SAC's critics and
    /// actor (with the temperature).
    pub model_steps: u64,
    pub policy_steps: u64,
    pub updates: u64,
    /// The agent's random streams (TD-MPC: update noise, world-model noise, proposal noise,
    /// planner; SAC: update noise, acting noise, two unused).
    pub rngs: [[u64; 4]; 4],
}
