//! A TD-MPC agent on one backend: TOLD's online and target parameters, Adam moments for TOLD and
//! π, the planner, and the update (`TDMPC.update`: TOLD loss, clip, Adam, priorities, π's update,
//! the EMA of the target every `update_freq` updates).
use super::loss::{self, Dims, ToldTerms};
use super::told::Told;
use super::world::ToldView;
use crate::autodiff::{ParamId, Tape};
use crate::backend::{Backend, Pool};
use crate::ops::Engine;
use crate::optim::OptimKernel;
use crate::planner::{PlanStep, Planner, PlannerConfig};
use crate::rl::{check_observation, AgentState, Learned, ReplayBatch, ReplayBuffer};
use crate::util::rng::Rng;
use crate::{Error, Result};

/// What one update reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UpdateStats {
    pub terms: ToldTerms,
    pub policy: f64,
    pub grad_norm: f64,
}

/// One random stream, buffer pool and host scratch per planning role (world model, policy), so
/// the planner can borrow both at once.
struct Lane<B: Backend> {
    pool: Pool<B>,
    host: Vec<f32>,
}

impl<B: Backend> Default for Lane<B> {
    fn default() -> Self {
        Lane {
            pool: Pool::default(),
            host: Vec::new(),
        }
    }
}

pub struct Agent<B: Engine<E = f32> + OptimKernel> {
    told: Told,
    be: B,
    learned: Learned<B>,
    model_steps: u64,
    policy_steps: u64,
    updates: u64,
    pool: Pool<B>,
    /// The target network's tape runs beside an online tape: its buffers have a pool of their own.
    target_pool: Pool<B>,
    /// TOLD's parameters (the TOLD loss trains them) and π's (its own update), fixed at build.
    model_ids: Vec<ParamId>,
    pi_ids: Vec<ParamId>,
    rng: Rng,
    planner: Planner,
    world: Lane<B>,
    world_rng: Rng,
    proposals: Lane<B>,
    proposal_rng: Rng,
}

impl<B: Engine<E = f32> + OptimKernel> Agent<B> {
    /// An agent whose target starts as a copy of `told` (TD-MPC's `deepcopy`); `seed` drives the
    /// update's and the planner's noise.
    pub fn new(told: Told, backend: B, planner: PlannerConfig, seed: u64) -> Result<Self> {
        if planner.horizon > told.cfg.horizon {
            return Err(Error::Invalid(format!(
                "agent: planner horizon {} is longer than the training horizon {}",
                planner.horizon, told.cfg.horizon
            )));
        }
        let planner = Planner::new(
            PlannerConfig {
                seed: seed ^ 0x706c_616e,
                ..planner
            },
            told.cfg.act_dim,
        )?;
        let be = backend;
        let ps = told.params();
        let (pi_ids, model_ids): (Vec<ParamId>, Vec<ParamId>) =
            ps.ids().partition(|&id| told.is_policy(id));
        let mut root = Rng::new(seed);
        Ok(Agent {
            learned: Learned::new(&be, ps)?,
            model_steps: 0,
            policy_steps: 0,
            updates: 0,
            pool: Pool::default(),
            target_pool: Pool::default(),
            model_ids,
            pi_ids,
            rng: root.fork(),
            world_rng: root.fork(),
            proposal_rng: root.fork(),
            planner,
            world: Lane::default(),
            proposals: Lane::default(),
            told,
            be,
        })
    }

    pub fn told(&self) -> &Told {
        &self.told
    }
    pub fn device(&self) -> &'static str {
        self.be.name()
    }
    pub fn updates(&self) -> u64 {
        self.updates
    }
    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// Buffers held for reuse across updates and plans (constant once warm: tests of the claim
    /// that a long run's memory does not grow).
    pub fn pooled_buffers(&self) -> usize {
        self.pool.len() + self.target_pool.len() + self.world.pool.len() + self.proposals.pool.len()
    }

    /// z = h(obs) for one observation.
    pub fn encode(&mut self, obs: &[f32]) -> Result<Vec<f32>> {
        check_observation(obs, self.told.cfg.obs_dim, "agent")?;
        let pool = std::mem::take(&mut self.pool);
        let mut t = Tape::on(
            self.be.clone(),
            self.told.params(),
            &self.learned.online,
            pool,
            false,
        )?;
        let run = |t: &mut Tape<B>| -> Result<Vec<f32>> {
            let o = t.constant([1, obs.len()], obs)?;
            let z = self.told.encode(t, o)?;
            t.fetch(z)
        };
        let z = run(&mut t);
        self.pool = t.into_pool();
        z
    }

    /// TD-MPC's `plan`: the planner's action from `obs` (π proposals included).
    pub fn act(&mut self, obs: &[f32], at: PlanStep) -> Result<Vec<f32>> {
        let z = self.encode(obs)?;
        let mut world = ToldView {
            told: &self.told,
            backend: &self.be,
            params: &self.learned.online,
            pool: &mut self.world.pool,
            rng: &mut self.world_rng,
            host: &mut self.world.host,
        };
        let mut policy = ToldView {
            told: &self.told,
            backend: &self.be,
            params: &self.learned.online,
            pool: &mut self.proposals.pool,
            rng: &mut self.proposal_rng,
            host: &mut self.proposals.host,
        };
        Ok(self
            .planner
            .plan(&mut world, Some(&mut policy), &z, at)?
            .to_vec())
    }

    /// One TD-MPC update from a sampled batch; writes the new priorities into `buffer` when given.
    pub fn update(
        &mut self,
        batch: &ReplayBatch,
        buffer: Option<&mut ReplayBuffer>,
    ) -> Result<UpdateStats> {
        let d = Dims::of(&self.told, batch)?;
        let (first, next) = loss::split_obs(batch, d);
        let told = &self.told;
        let be = self.be.clone();

        // Targets: no-grad tapes on the online and the target parameters.
        let pool = std::mem::take(&mut self.pool);
        let mut on = Tape::on(be.clone(), told.params(), &self.learned.online, pool, false)?;
        let tpool = std::mem::take(&mut self.target_pool);
        let mut tg = Tape::on(
            be.clone(),
            told.params(),
            &self.learned.target,
            tpool,
            false,
        )?;
        let targets = loss::targets(told, &mut on, &mut tg, batch, &next, d, &mut self.rng);
        let pool = on.into_pool();
        self.target_pool = tg.into_pool();
        let targets = match targets {
            Ok(t) => t,
            Err(e) => {
                self.pool = pool;
                return Err(e);
            }
        };

        // TOLD loss, gradient, clip and Adam on every parameter but π's.
        let mut t = Tape::on(be.clone(), told.params(), &self.learned.online, pool, true)?;
        let out = loss::told_loss(told, &mut t, batch, &first, &targets, d);
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                self.pool = t.into_pool();
                return Err(e);
            }
        };
        let grads = t.backward(out.loss);
        self.pool = t.into_pool();
        let mut grads = grads?;
        self.model_steps += 1;
        let grad_norm = self.apply(&mut grads, false, self.model_steps)?;
        grads.into_buffers().for_each(|b| self.pool.give(b));
        if let Some(buf) = buffer {
            buf.update_priorities(&batch.indices, &out.priorities)?;
        }

        // π: maximise min Q over the detached latents, Q frozen.
        let told = &self.told;
        let pool = std::mem::take(&mut self.pool);
        let mut t = Tape::on(be.clone(), told.params(), &self.learned.online, pool, true)?;
        let pl = loss::policy_loss(told, &mut t, &out.latents, d.b, d.h + 1, &mut self.rng);
        let (pi_loss, policy) = match pl {
            Ok(x) => x,
            Err(e) => {
                self.pool = t.into_pool();
                return Err(e);
            }
        };
        let grads = t.backward(pi_loss);
        self.pool = t.into_pool();
        let mut grads = grads?;
        self.policy_steps += 1;
        self.apply(&mut grads, true, self.policy_steps)?;
        grads.into_buffers().for_each(|b| self.pool.give(b));

        self.updates += 1;
        if self.updates.is_multiple_of(self.told.cfg.update_freq) {
            self.learned.ema(&self.be, self.told.cfg.tau)?;
        }
        Ok(UpdateStats {
            terms: out.terms,
            policy,
            grad_norm,
        })
    }

    /// Clip the gradients of π's parameters (`policy`) or TOLD's to the global norm `grad_clip` and
    /// take an Adam step on them; returns the norm before clipping.
    fn apply(
        &mut self,
        grads: &mut crate::autodiff::Gradients<B>,
        policy: bool,
        step: u64,
    ) -> Result<f64> {
        let c = &self.told.cfg;
        let ids = if policy {
            &self.pi_ids
        } else {
            &self.model_ids
        };
        let what = format!("agent update {}", self.updates + 1);
        self.learned
            .adam_step(&self.be, grads, ids, c.grad_clip, c.lr, step, &what)
    }

    /// Everything learned, copied to the host.
    pub fn state(&self) -> Result<AgentState> {
        let (online, target, moments) = self.learned.download(&self.be, self.told.params())?;
        Ok(AgentState {
            online,
            target,
            moments,
            model_steps: self.model_steps,
            policy_steps: self.policy_steps,
            updates: self.updates,
            rngs: [
                self.rng.state(),
                self.world_rng.state(),
                self.proposal_rng.state(),
                self.planner.rng_state(),
            ],
        })
    }

    /// Restores a state from [`Agent::state`] (shapes checked against this agent's TOLD).
    pub fn restore(&mut self, s: &AgentState) -> Result<()> {
        self.learned
            .upload(&self.be, self.told.params(), s, "agent")?;
        *self.told.params_mut() = s.online.clone();
        self.model_steps = s.model_steps;
        self.policy_steps = s.policy_steps;
        self.updates = s.updates;
        self.rng = Rng::from_state(s.rngs[0]);
        self.world_rng = Rng::from_state(s.rngs[1]);
        self.proposal_rng = Rng::from_state(s.rngs[2]);
        self.planner.set_rng_state(s.rngs[3]);
        self.planner.reset();
        Ok(())
    }
}
