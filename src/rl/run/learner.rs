//! The agent a run trains: TD-MPC (either TOLD) or SAC, behind the few calls the runner, the
//! checkpoints, `rl eval` and `collect --policy` make.
use super::RunConfig;
use crate::ops::Engine;
use crate::optim::OptimKernel;
use crate::planner::{PlanStep, PlannerConfig};
use crate::rl::sac::{SacAgent, SacNets};
use crate::rl::tdmpc::{Agent, Told, UpdateStats};
use crate::rl::{AgentState, ReplayBatch, ReplayBuffer};
use crate::Result;

pub enum Learner<B: Engine<E = f32> + OptimKernel> {
    Tdmpc(Box<Agent<B>>),
    Sac(Box<SacAgent<B>>),
}

impl<B: Engine<E = f32> + OptimKernel> Learner<B> {
    /// The untrained agent of `cfg`: networks from `init_seed`, sampling (planner, exploration)
    /// from `seed`.
    pub fn new(cfg: &RunConfig, backend: B, init_seed: u64, seed: u64) -> Result<Self> {
        Ok(match &cfg.sac {
            Some(sac) => Learner::Sac(Box::new(SacAgent::new(
                SacNets::new(sac.clone(), init_seed)?,
                backend,
                seed,
            )?)),
            None => {
                let told = Told::new(cfg.told()?.clone(), init_seed)?;
                let planner = PlannerConfig {
                    seed,
                    ..cfg.planner()?.clone()
                };
                Learner::Tdmpc(Box::new(Agent::new(told, backend, planner, seed)?))
            }
        })
    }

    /// The action for `obs`: TD-MPC plans; SAC samples π when `at.explore`, else takes tanh(μ).
    pub fn act(&mut self, obs: &[f32], at: PlanStep) -> Result<Vec<f32>> {
        match self {
            Learner::Tdmpc(a) => a.act(obs, at),
            Learner::Sac(a) => a.act(obs, at.explore),
        }
    }

    /// One update; TD-MPC also writes the batch's new priorities into `buffer`. SAC's losses
    /// report as `value` (critics), `policy` (actor) and `consistency` (SPR's prediction).
    pub fn update(
        &mut self,
        batch: &ReplayBatch,
        buffer: Option<&mut ReplayBuffer>,
    ) -> Result<UpdateStats> {
        match self {
            Learner::Tdmpc(a) => a.update(batch, buffer),
            Learner::Sac(a) => {
                let s = a.update(batch)?;
                let mut out = UpdateStats {
                    policy: s.actor_loss,
                    grad_norm: s.grad_norm,
                    ..UpdateStats::default()
                };
                out.terms.value = s.critic_loss;
                out.terms.consistency = s.spr_loss;
                Ok(out)
            }
        }
    }

    pub fn state(&self) -> Result<AgentState> {
        match self {
            Learner::Tdmpc(a) => a.state(),
            Learner::Sac(a) => a.state(),
        }
    }
    pub fn restore(&mut self, s: &AgentState) -> Result<()> {
        match self {
            Learner::Tdmpc(a) => a.restore(s),
            Learner::Sac(a) => a.restore(s),
        }
    }
    pub fn updates(&self) -> u64 {
        match self {
            Learner::Tdmpc(a) => a.updates(),
            Learner::Sac(a) => a.updates(),
        }
    }
    pub fn device(&self) -> &'static str {
        match self {
            Learner::Tdmpc(a) => a.device(),
            Learner::Sac(a) => a.device(),
        }
    }
}
