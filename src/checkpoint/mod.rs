//! Checkpoints: one `.safetensors` file holding the weights, the optimiser state (for `--resume`)
//! and, in its metadata, the model configuration, the normalisation statistics and training progress
//! as JSON, and a CRC-32 of the tensor data (`tensor_crc32`). Written atomically. Loading trusts
//! nothing: the file must be a regular file and is read only up to its size; the configuration is
//! checked against the tensor shapes in the header before a model is built (so a damaged or hostile
//! `"modes": 1000000000` is an error, not a 4 TB allocation); the checksum is verified; every tensor's
//! name, dtype and shape is checked. Errors name the file and the field.
use crate::autodiff::ParamStore;
use crate::models::{DynamicsModel, ModelConfig};
use crate::optim::Adam;
use crate::util::files;
use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// Everything besides weights that a checkpoint carries.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub config: ModelConfig,
    /// Normalisation statistics (opaque JSON owned by the data layer).
    #[serde(default)]
    pub normalization: serde_json::Value,
    /// Training progress and settings (steps done, horizon, seed, ...).
    #[serde(default)]
    pub training: serde_json::Value,
}

const META_KEY: &str = "koopman";

fn err(path: &Path, field: &str, msg: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: field '{field}': {msg}", path.display()))
}

/// Saves the model (and optionally the optimiser state) atomically.
pub fn save(path: &Path, model: &dyn DynamicsModel, opt: Option<&Adam>, meta: &Meta) -> Result<()> {
    let ps = model.params();
    let mut tensors: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
    for (name, t) in ps.iter() {
        tensors.push((format!("param.{name}"), t.dims().to_vec(), &t.data));
    }
    if let Some(opt) = opt {
        let (m, v) = opt.state();
        for ((name, t), (mi, vi)) in ps.iter().zip(m.iter().zip(v)) {
            tensors.push((format!("adam_m.{name}"), t.dims().to_vec(), mi));
            tensors.push((format!("adam_v.{name}"), t.dims().to_vec(), vi));
        }
    }
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, data)| {
            let bytes: &[u8] = bytemuck::cast_slice(data);
            TensorView::new(Dtype::F32, d.clone(), bytes).map(|v| (n.clone(), v))
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| err(path, "weights", e))?;
    let mut info = HashMap::new();
    info.insert(
        CRC_KEY.to_string(),
        format!(
            "{:08x}",
            crc_of(views.iter().map(|(n, v)| (n.as_str(), v.shape(), v.data())))
        ),
    );
    info.insert(
        META_KEY.to_string(),
        serde_json::to_string(meta).map_err(|e| err(path, META_KEY, e))?,
    );
    if let Some(opt) = opt {
        info.insert("adam_step".to_string(), opt.step.to_string());
    }
    let bytes =
        safetensors::tensor::serialize(views, Some(info)).map_err(|e| err(path, "weights", e))?;
    files::write_bytes(path, &bytes).map_err(|e| Error::io(path, e))
}

const CRC_KEY: &str = "tensor_crc32";

/// CRC-32 over the tensors in name order: each name, its shape and its bytes. Independent of where
/// the serializer places each tensor in the file.
pub(crate) fn crc_of<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize], &'a [u8])>) -> u32 {
    let mut all: Vec<_> = tensors.collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = crc32fast::Hasher::new();
    for (name, shape, data) in all {
        h.update(name.as_bytes());
        h.update(&[0]);
        for &d in shape {
            h.update(&(d as u64).to_le_bytes());
        }
        h.update(data);
    }
    h.finalize()
}

/// The configuration must fit the tensors actually stored: at least as many parameter values as its
/// layer widths imply (checked arithmetic), so a damaged or hostile header cannot make `build`
/// allocate more than the file holds.
fn check_config_fits(path: &Path, meta: &Meta, st: &SafeTensors) -> Result<()> {
    meta.config
        .validate()
        .map_err(|e| err(path, "koopman.config", e))?;
    let stored = st
        .tensors()
        .iter()
        .filter(|(n, _)| n.starts_with("param."))
        .try_fold(0u64, |acc, (_, v)| {
            v.shape()
                .iter()
                .try_fold(1u64, |p, &d| p.checked_mul(d as u64))
                .and_then(|n| acc.checked_add(n))
        })
        .ok_or_else(|| err(path, "header", "tensor shapes overflow"))?;
    match meta.config.min_param_count() {
        Some(need) if need <= stored => Ok(()),
        need => Err(err(
            path,
            "koopman.config",
            format!(
                "the configuration needs {} parameter values but the file stores {stored}: the \
                 metadata does not match the weights (damaged or edited checkpoint)",
                need.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
            ),
        )),
    }
}

/// Adam's saved state: first moments, second moments, step count.
pub struct AdamState {
    pub m: Vec<Vec<f32>>,
    pub v: Vec<Vec<f32>>,
    pub step: u64,
}

/// A loaded checkpoint: the rebuilt model, its metadata and (if saved) the optimiser state.
pub struct Loaded {
    pub model: Box<dyn DynamicsModel>,
    pub meta: Meta,
    pub adam: Option<AdamState>,
}

pub fn load(path: &Path) -> Result<Loaded> {
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
        .ok_or_else(|| err(path, META_KEY, "missing (not a koopman checkpoint)"))?;
    let meta: Meta = serde_json::from_str(raw).map_err(|e| err(path, META_KEY, e))?;
    check_config_fits(path, &meta, &st)?;
    if let Some(stored) = info.get(CRC_KEY) {
        let tensors = st.tensors();
        let got = crc_of(
            tensors
                .iter()
                .map(|(n, v)| (n.as_str(), v.shape(), v.data())),
        );
        if format!("{got:08x}") != *stored {
            return Err(err(
                path,
                CRC_KEY,
                format!(
                    "the tensor data does not match its checksum (stored {stored}, computed \
                     {got:08x}): the file is damaged"
                ),
            ));
        }
    }
    let mut model = meta
        .config
        .build(0)
        .map_err(|e| err(path, "koopman.config", e))?;
    let read = |name: &str, want: &[usize]| -> Result<Vec<f32>> {
        let v = st.tensor(name).map_err(|_| err(path, name, "missing"))?;
        if v.dtype() != Dtype::F32 {
            return Err(err(
                path,
                name,
                format!("dtype {:?}, expected F32", v.dtype()),
            ));
        }
        if v.shape() != want {
            return Err(err(
                path,
                name,
                format!("shape {:?}, expected {want:?}", v.shape()),
            ));
        }
        let data: Vec<f32> = v
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(err(path, name, format!("non-finite value at index {i}")));
        }
        Ok(data)
    };
    let ids: Vec<_> = model.params().ids().collect();
    for &id in &ids {
        let ps: &ParamStore = model.params();
        let (name, dims) = (ps.name(id).to_string(), ps.get(id).dims().to_vec());
        let data = read(&format!("param.{name}"), &dims)?;
        model.params_mut().get_mut(id).data = data;
    }
    let adam = match info.get("adam_step") {
        Some(step) => {
            let step: u64 = step
                .parse()
                .map_err(|_| err(path, "adam_step", "not an integer"))?;
            let (mut m, mut v) = (Vec::new(), Vec::new());
            for &id in &ids {
                let ps = model.params();
                let (name, dims) = (ps.name(id), ps.get(id).dims());
                m.push(read(&format!("adam_m.{name}"), dims)?);
                v.push(read(&format!("adam_v.{name}"), dims)?);
            }
            Some(AdamState { m, v, step })
        }
        None => None,
    };
    Ok(Loaded { model, meta, adam })
}
