//! TOLD as the planner's world model and policy (`TDMPC.estimate_value`, the π trajectories of
//! `TDMPC.plan`), on no-grad tapes of the online parameters. The planner's state is the latent
//! z = h(obs).
use super::noise;
use super::told::Told;
use crate::autodiff::{DeviceParams, Tape};
use crate::backend::Pool;
use crate::ops::Engine;
use crate::planner::{Policy, WorldModel};
use crate::util::rng::Rng;
use crate::Result;

/// What planning borrows from the agent: the network, its parameters on the backend, a buffer
/// pool and a noise stream.
pub struct ToldView<'a, B: Engine<E = f32>> {
    pub told: &'a Told,
    pub backend: &'a B,
    pub params: &'a DeviceParams<B>,
    pub pool: &'a mut Pool<B>,
    pub rng: &'a mut Rng,
    /// Host scratch reused between calls.
    pub host: &'a mut Vec<f32>,
}

/// A no-grad tape on `params`, with the pool's buffers.
fn tape<'a, B: Engine<E = f32>>(
    told: &'a Told,
    backend: &B,
    params: &'a DeviceParams<B>,
    pool: &mut Pool<B>,
) -> Result<Tape<'a, B>> {
    Tape::on(
        backend.clone(),
        told.params(),
        params,
        std::mem::take(pool),
        false,
    )
}

impl<B: Engine<E = f32>> ToldView<'_, B> {
    /// z repeated n times.
    fn repeat(&mut self, z: &[f32], n: usize) {
        self.host.clear();
        for _ in 0..n {
            self.host.extend_from_slice(z);
        }
    }
}

impl<B: Engine<E = f32>> WorldModel for ToldView<'_, B> {
    fn state_dim(&self) -> usize {
        self.told.cfg.latent_dim()
    }
    fn action_dim(&self) -> usize {
        self.told.cfg.act_dim
    }

    /// Σ_t γ^t R(z_t, a_t) + γ^h min Q(z_h, π(z_h, min_std)).
    fn score(
        &mut self,
        z: &[f32],
        actions: &[f32],
        n: usize,
        h: usize,
        returns: &mut [f32],
    ) -> Result<()> {
        let (l, a) = (self.told.cfg.latent_dim(), self.told.cfg.act_dim);
        let gamma = self.told.cfg.gamma as f32;
        let std = self.told.cfg.min_std as f32;
        self.repeat(z, n);
        let zrep = std::mem::take(self.host);
        let told = self.told;
        let mut t = tape(told, self.backend, self.params, self.pool)?;
        let run = |t: &mut Tape<B>, rng: &mut Rng| -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
            let z0 = t.constant([n, l], &zrep)?;
            let acts = t.constant([n, h, a], &actions[..n * h * a])?;
            let zn = told.rollout(t, z0, acts)?;
            let zs = told.states_before(t, z0, zn)?;
            let za = told.join(t, zs, acts)?;
            let r = told.reward(t, za)?;
            let zh = t.narrow(zn, 1, h - 1, 1)?;
            let zh = t.reshape(zh, &[n, l])?;
            let mu = told.pi(t, zh)?;
            let mut ah = t.fetch(mu)?;
            noise::sample_in_place(&mut ah, std, rng);
            let ahv = t.constant([n, a], &ah)?;
            let zah = told.join(t, zh, ahv)?;
            let (q1, q2) = told.q(t, zah, false)?;
            Ok((t.fetch(r)?, t.fetch(q1)?, t.fetch(q2)?))
        };
        let out = run(&mut t, self.rng);
        *self.pool = t.into_pool();
        *self.host = zrep;
        let (r, q1, q2) = out?;
        let disc_h = gamma.powi(h as i32);
        for (i, ret) in returns.iter_mut().enumerate().take(n) {
            let mut g = 0.0f32;
            let mut d = 1.0f32;
            for &rk in &r[i * h..(i + 1) * h] {
                g += d * rk;
                d *= gamma;
            }
            *ret = g + disc_h * q1[i].min(q2[i]);
        }
        Ok(())
    }
}

impl<B: Engine<E = f32>> Policy for ToldView<'_, B> {
    /// π(z_t, min_std) rolled through the latent dynamics. TD-MPC samples its proposals with the
    /// fixed `min_std` of the config (0.05), not the planner's schedule, and so does this.
    fn propose(
        &mut self,
        z: &[f32],
        n: usize,
        h: usize,
        _schedule_std: f32,
        actions: &mut [f32],
    ) -> Result<()> {
        let (l, a) = (self.told.cfg.latent_dim(), self.told.cfg.act_dim);
        let std = self.told.cfg.min_std as f32;
        self.repeat(z, n);
        let zrep = std::mem::take(self.host);
        let told = self.told;
        let mut t = tape(told, self.backend, self.params, self.pool)?;
        let mut run = |t: &mut Tape<B>, rng: &mut Rng| -> Result<()> {
            let mut zk = t.constant([n, l], &zrep)?;
            for k in 0..h {
                let mu = told.pi(t, zk)?;
                let mut ak = t.fetch(mu)?;
                noise::sample_in_place(&mut ak, std, rng);
                for (i, row) in ak.chunks_exact(a).enumerate() {
                    actions[(i * h + k) * a..(i * h + k + 1) * a].copy_from_slice(row);
                }
                if k + 1 < h {
                    let av = t.constant([n, 1, a], &ak)?;
                    let next = told.rollout(t, zk, av)?;
                    zk = t.reshape(next, &[n, l])?;
                }
            }
            Ok(())
        };
        let out = run(&mut t, self.rng);
        *self.pool = t.into_pool();
        *self.host = zrep;
        out
    }
}
