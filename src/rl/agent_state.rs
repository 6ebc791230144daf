//! What an agent learns: on its backend ([`Learned`]: online and target parameters, Adam moments,
//! the clipping and EMA scratch, shared by TD-MPC and SAC), and as host copies ([`AgentState`],
//! the checkpoint format every agent shares).
use crate::autodiff::{DeviceParams, Gradients, ParamId, ParamStore};
use crate::ops::Engine;
use crate::optim::{ema, AdamConfig, EmaScratch, OptimKernel};
use crate::{Error, Result};

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

/// An agent's parameters on its backend: the online ones, a target copy (moved toward them by
/// [`Learned::ema`]), and Adam's moments for each.
pub struct Learned<B: Engine<E = f32> + OptimKernel> {
    pub online: DeviceParams<B>,
    pub target: DeviceParams<B>,
    moments: Vec<(B::Buf, B::Buf)>,
    sizes: Vec<usize>,
    norm: B::Buf,
    clip: B::Buf,
    ema: EmaScratch<B>,
}

impl<B: Engine<E = f32> + OptimKernel> Learned<B> {
    /// `params` uploaded as both the online and the target parameters; zero moments.
    pub fn new(be: &B, params: &ParamStore) -> Result<Self> {
        let sizes: Vec<usize> = params.iter().map(|(_, t)| t.numel()).collect();
        let zeros = |n: usize| -> Result<B::Buf> {
            let mut b = be.alloc(n)?;
            be.upload(&vec![0.0; n], &mut b)?;
            Ok(b)
        };
        let moments = sizes
            .iter()
            .map(|&n| Ok((zeros(n)?, zeros(n)?)))
            .collect::<Result<_>>()?;
        let largest = sizes.iter().copied().max().unwrap_or(1);
        Ok(Learned {
            online: DeviceParams::upload(be, params)?,
            target: DeviceParams::upload(be, params)?,
            moments,
            norm: be.alloc(1)?,
            clip: be.alloc(1)?,
            ema: EmaScratch::new(be, largest)?,
            sizes,
        })
    }

    /// Clips the gradients of `ids` to the global norm `max_norm` (∞: no clipping) and takes an
    /// Adam step (`step` from 1) on them; returns the norm before clipping. A non-finite norm is
    /// an error naming `what` and changes nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn adam_step(
        &mut self,
        be: &B,
        grads: &mut Gradients<B>,
        ids: &[ParamId],
        max_norm: f64,
        lr: f64,
        step: u64,
        what: &str,
    ) -> Result<f64> {
        let with: Vec<(&B::Buf, usize)> = ids
            .iter()
            .filter_map(|&id| Some((grads.param(id)?, self.sizes[id.0])))
            .collect();
        be.grad_norm(&with, max_norm, &mut self.norm, &mut self.clip)?;
        let mut host = [0f32];
        be.download(&self.norm, &mut host)?;
        let norm = host[0] as f64;
        if !norm.is_finite() {
            return Err(Error::NonFinite(format!(
                "{what}: the gradient norm is {norm}"
            )));
        }
        let adam = AdamConfig::default();
        for &id in ids {
            let Some(g) = grads.param_mut(id) else {
                continue;
            };
            let (m, v) = &mut self.moments[id.0];
            be.adamw(
                self.online.get_mut(id),
                m,
                v,
                g,
                &self.clip,
                self.sizes[id.0],
                &adam,
                lr,
                step,
            )?;
        }
        Ok(norm)
    }

    /// target ← (1 − τ)·target + τ·online, every parameter.
    pub fn ema(&mut self, be: &B, tau: f64) -> Result<()> {
        ema(
            be,
            &mut self.target,
            &self.online,
            &self.sizes,
            tau,
            &mut self.ema,
        )
    }

    /// Host copies of the online and target parameters (named as in `template`) and the moments.
    #[allow(clippy::type_complexity)]
    pub fn download(
        &self,
        be: &B,
        template: &ParamStore,
    ) -> Result<(ParamStore, ParamStore, Vec<(Vec<f32>, Vec<f32>)>)> {
        let mut online = template.clone();
        self.online.download_into(be, &mut online)?;
        let mut target = template.clone();
        self.target.download_into(be, &mut target)?;
        let moments = self
            .moments
            .iter()
            .zip(&self.sizes)
            .map(|((m, v), &n)| {
                let (mut hm, mut hv) = (vec![0f32; n], vec![0f32; n]);
                be.download(m, &mut hm)?;
                be.download(v, &mut hv)?;
                Ok((hm, hv))
            })
            .collect::<Result<_>>()?;
        Ok((online, target, moments))
    }

    /// Uploads a state's parameters and moments, after checking them against `template` (the
    /// agent's own network): `who` names the agent in the error.
    pub fn upload(
        &mut self,
        be: &B,
        template: &ParamStore,
        s: &AgentState,
        who: &str,
    ) -> Result<()> {
        let check = |what: &str, ps: &ParamStore| -> Result<()> {
            let same = ps.len() == self.sizes.len()
                && ps
                    .iter()
                    .zip(template.iter())
                    .all(|((na, a), (nb, b))| na == nb && a.shape == b.shape);
            if same {
                Ok(())
            } else {
                Err(Error::Invalid(format!(
                    "{who} state: the {what} parameters do not match this agent's network"
                )))
            }
        };
        check("online", &s.online)?;
        check("target", &s.target)?;
        if s.moments.len() != self.sizes.len()
            || s.moments
                .iter()
                .zip(&self.sizes)
                .any(|((m, v), &n)| m.len() != n || v.len() != n)
        {
            return Err(Error::Invalid(format!(
                "{who} state: the Adam moments do not match this agent's network"
            )));
        }
        self.online = DeviceParams::upload(be, &s.online)?;
        self.target = DeviceParams::upload(be, &s.target)?;
        for ((m, v), (hm, hv)) in self.moments.iter_mut().zip(&s.moments) {
            be.upload(hm, m)?;
            be.upload(hv, v)?;
        }
        Ok(())
    }
}
