//! A run's checkpoint: one `.safetensors` file with TOLD's online and target parameters, the Adam
//! moments, the whole replay buffer, and in its metadata the run's configuration, progress, random
//! streams and curves, so `--resume` continues exactly where the run stopped (the same actions and
//! updates as an uninterrupted run). Written atomically at episode ends; read trusting nothing
//! (names, dtypes, shapes and a CRC-32 are checked, errors name the file and the field).
use super::record::Curves;
use super::Learner;
use super::RunConfig;
use crate::autodiff::ParamStore;
use crate::checkpoint::crc_of;
use crate::ops::Engine;
use crate::optim::OptimKernel;
use crate::rl::sac::SacNets;
use crate::rl::tdmpc::Told;
use crate::rl::{AgentState, ObsStore, ReplaySnapshot};
use crate::util::files;
use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Counters and random streams besides the tensors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Progress {
    pub env_step: u64,
    pub agent_step: u64,
    pub episode: u64,
    /// The one-off block of `seed_steps` updates has run.
    pub seeded: bool,
    pub model_steps: u64,
    pub policy_steps: u64,
    pub updates: u64,
    pub agent_rngs: [[u64; 4]; 4],
    pub runner_rng: [u64; 4],
    pub replay_episodes: Vec<(u64, u64)>,
    pub replay_next_id: u64,
    pub replay_max_priority: f64,
    pub replay_rng: [u64; 4],
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Meta {
    run: RunConfig,
    progress: Progress,
    curves: Curves,
}

const META_KEY: &str = "koopman_rl";
const CRC_KEY: &str = "tensor_crc32";

pub struct RunCheckpoint {
    pub run: RunConfig,
    pub progress: Progress,
    pub curves: Curves,
    pub agent: AgentState,
    pub replay: ReplaySnapshot,
}

impl RunCheckpoint {
    /// The trained agent on `backend`, its sampling (planner, exploration) from `seed` (as
    /// `rl eval` and `collect --policy` replay it).
    pub fn agent<B: Engine<E = f32> + OptimKernel>(
        &self,
        backend: B,
        seed: u64,
    ) -> Result<Learner<B>> {
        let mut agent = Learner::new(&self.run, backend, self.run.seed, seed)?;
        agent.restore(&self.agent)?;
        Ok(agent)
    }
}

/// The parameter names and shapes of `run`'s agent (what a checkpoint must hold).
fn template(run: &RunConfig) -> Result<ParamStore> {
    Ok(match &run.sac {
        Some(sac) => SacNets::new(sac.clone(), 0)?.params().clone(),
        None => Told::new(run.told()?.clone(), 0)?.params().clone(),
    })
}

fn err(path: &Path, field: &str, msg: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: field '{field}': {msg}", path.display()))
}

pub fn save(path: &Path, c: &RunCheckpoint) -> Result<()> {
    let mut views: Vec<(String, TensorView)> = Vec::new();
    fn push<'a>(
        path: &Path,
        views: &mut Vec<(String, TensorView<'a>)>,
        name: String,
        dtype: Dtype,
        shape: Vec<usize>,
        bytes: &'a [u8],
    ) -> Result<()> {
        let v = TensorView::new(dtype, shape, bytes).map_err(|e| err(path, &name, e))?;
        views.push((name, v));
        Ok(())
    }
    let a = &c.agent;
    for (prefix, ps) in [("online", &a.online), ("target", &a.target)] {
        for (name, t) in ps.iter() {
            let bytes = bytemuck::cast_slice(&t.data);
            push(
                path,
                &mut views,
                format!("{prefix}.{name}"),
                Dtype::F32,
                t.dims().to_vec(),
                bytes,
            )?;
        }
    }
    for ((name, t), (m, v)) in a.online.iter().zip(&a.moments) {
        let shape = t.dims().to_vec();
        push(
            path,
            &mut views,
            format!("adam_m.{name}"),
            Dtype::F32,
            shape.clone(),
            bytemuck::cast_slice(m),
        )?;
        push(
            path,
            &mut views,
            format!("adam_v.{name}"),
            Dtype::F32,
            shape,
            bytemuck::cast_slice(v),
        )?;
    }
    let r = &c.replay;
    let cap = r.rewards.len();
    let (od, ad) = c.run.dims()?;
    let (obs_dtype, obs_bytes): (Dtype, &[u8]) = match &r.obs {
        ObsStore::F32(v) => (Dtype::F32, bytemuck::cast_slice(v)),
        ObsStore::U8(v) => (Dtype::U8, v),
    };
    push(
        path,
        &mut views,
        "replay.obs".into(),
        obs_dtype,
        vec![cap, od],
        obs_bytes,
    )?;
    push(
        path,
        &mut views,
        "replay.actions".into(),
        Dtype::F32,
        vec![cap, ad],
        bytemuck::cast_slice(&r.actions),
    )?;
    push(
        path,
        &mut views,
        "replay.rewards".into(),
        Dtype::F32,
        vec![cap],
        bytemuck::cast_slice(&r.rewards),
    )?;
    push(
        path,
        &mut views,
        "replay.slot_id".into(),
        Dtype::U64,
        vec![cap],
        bytemuck::cast_slice(&r.slot_id),
    )?;
    push(
        path,
        &mut views,
        "replay.priority".into(),
        Dtype::F64,
        vec![cap],
        bytemuck::cast_slice(&r.priority),
    )?;
    let terminal: Vec<u8> = if r.terminal.is_empty() {
        vec![0; cap]
    } else {
        r.terminal.iter().map(|&t| t as u8).collect()
    };
    push(
        path,
        &mut views,
        "replay.terminal".into(),
        Dtype::U8,
        vec![cap],
        &terminal,
    )?;

    let meta = Meta {
        run: c.run.clone(),
        progress: c.progress.clone(),
        curves: c.curves.clone(),
    };
    let mut info = HashMap::new();
    info.insert(
        META_KEY.to_string(),
        serde_json::to_string(&meta).map_err(|e| err(path, META_KEY, e))?,
    );
    let crc = crc_of(views.iter().map(|(n, v)| (n.as_str(), v.shape(), v.data())));
    info.insert(CRC_KEY.to_string(), format!("{crc:08x}"));
    let bytes =
        safetensors::tensor::serialize(views, Some(info)).map_err(|e| err(path, "tensors", e))?;
    files::write_bytes(path, &bytes).map_err(|e| Error::io(path, e))
}

/// Reads a checkpoint; the TOLD its configuration builds gives the parameter names and shapes the
/// file must match.
pub fn load(path: &Path) -> Result<RunCheckpoint> {
    let bytes = files::read_input(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        err(
            path,
            "header",
            format!("not a valid safetensors file ({e})"),
        )
    })?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| err(path, "header", e))?;
    let info = header.metadata().clone().unwrap_or_default();
    let raw = info
        .get(META_KEY)
        .ok_or_else(|| err(path, META_KEY, "missing (not a koopman RL checkpoint)"))?;
    let meta: Meta = serde_json::from_str(raw).map_err(|e| err(path, META_KEY, e))?;
    let stored = info
        .get(CRC_KEY)
        .ok_or_else(|| err(path, CRC_KEY, "missing"))?;
    let got = crc_of(
        st.tensors()
            .iter()
            .map(|(n, v)| (n.as_str(), v.shape(), v.data())),
    );
    if format!("{got:08x}") != *stored {
        return Err(err(
            path,
            CRC_KEY,
            format!("the tensor data does not match its checksum (stored {stored}, computed {got:08x}): the file is damaged"),
        ));
    }
    meta.run
        .validate()
        .map_err(|e| err(path, "koopman_rl.run", e))?;
    let read = |name: &str, dtype: Dtype, want: &[usize]| -> Result<Vec<u8>> {
        let v = st.tensor(name).map_err(|_| err(path, name, "missing"))?;
        if v.dtype() != dtype || v.shape() != want {
            return Err(err(
                path,
                name,
                format!(
                    "{:?} {:?}, expected {dtype:?} {want:?}",
                    v.dtype(),
                    v.shape()
                ),
            ));
        }
        Ok(v.data().to_vec())
    };
    let f32s = |b: Vec<u8>| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let template = template(&meta.run).map_err(|e| err(path, "run", e))?;
    let mut online = template.clone();
    let mut target = template.clone();
    let mut moments = Vec::with_capacity(template.len());
    for (name, t) in template.iter() {
        let shape = t.dims().to_vec();
        let m = f32s(read(&format!("adam_m.{name}"), Dtype::F32, &shape)?);
        let v = f32s(read(&format!("adam_v.{name}"), Dtype::F32, &shape)?);
        moments.push((m, v));
    }
    for (prefix, ps) in [("online", &mut online), ("target", &mut target)] {
        let ids: Vec<_> = ps.ids().collect();
        for id in ids {
            let name = format!("{prefix}.{}", ps.name(id));
            let shape = ps.get(id).dims().to_vec();
            ps.get_mut(id).data = f32s(read(&name, Dtype::F32, &shape)?);
        }
    }
    let cap = st
        .tensor("replay.rewards")
        .map_err(|_| err(path, "replay.rewards", "missing"))?
        .shape()
        .first()
        .copied()
        .unwrap_or(0);
    let (od, ad) = meta.run.dims().map_err(|e| err(path, "run", e))?;
    let p = &meta.progress;
    let replay = ReplaySnapshot {
        obs: if meta.run.pixels() {
            ObsStore::U8(read("replay.obs", Dtype::U8, &[cap, od])?)
        } else {
            ObsStore::F32(f32s(read("replay.obs", Dtype::F32, &[cap, od])?))
        },
        actions: f32s(read("replay.actions", Dtype::F32, &[cap, ad])?),
        rewards: f32s(read("replay.rewards", Dtype::F32, &[cap])?),
        slot_id: read("replay.slot_id", Dtype::U64, &[cap])?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        priority: read("replay.priority", Dtype::F64, &[cap])?
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        // Checkpoints written before terminal flags existed have none (no episode terminated).
        terminal: match st.tensor("replay.terminal") {
            Ok(_) => read("replay.terminal", Dtype::U8, &[cap])?
                .iter()
                .map(|&b| b != 0)
                .collect(),
            Err(_) => Vec::new(),
        },
        episodes: p.replay_episodes.clone(),
        next_id: p.replay_next_id,
        max_priority: p.replay_max_priority,
        rng: p.replay_rng,
    };
    let agent = AgentState {
        online,
        target,
        moments,
        model_steps: p.model_steps,
        policy_steps: p.policy_steps,
        updates: p.updates,
        rngs: p.agent_rngs,
    };
    Ok(RunCheckpoint {
        run: meta.run,
        progress: meta.progress,
        curves: meta.curves,
        agent,
        replay,
    })
}
