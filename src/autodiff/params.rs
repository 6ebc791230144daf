//! Named parameters owned outside the tape: a tape borrows them for one step, the optimiser then
//! updates them in place, so parameters are never copied per step.
use crate::backend::Backend;
use crate::tensor::{Init, Real, Shape, Tensor};
use crate::util::rng::Rng;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(pub usize);

#[derive(Clone, Debug, Default)]
pub struct ParamStore<E: Real = f32> {
    names: Vec<String>,
    tensors: Vec<Tensor<E>>,
}

impl<E: Real> ParamStore<E> {
    pub fn new() -> Self {
        ParamStore {
            names: Vec::new(),
            tensors: Vec::new(),
        }
    }
    pub fn add(&mut self, name: impl Into<String>, t: Tensor<E>) -> ParamId {
        self.names.push(name.into());
        self.tensors.push(t);
        ParamId(self.tensors.len() - 1)
    }
    pub fn init(
        &mut self,
        name: impl Into<String>,
        shape: impl Into<Shape>,
        init: Init,
        rng: &mut Rng,
    ) -> ParamId {
        let t = init.make(shape, rng);
        self.add(name, t)
    }
    pub fn get(&self, id: ParamId) -> &Tensor<E> {
        &self.tensors[id.0]
    }
    pub fn get_mut(&mut self, id: ParamId) -> &mut Tensor<E> {
        &mut self.tensors[id.0]
    }
    pub fn name(&self, id: ParamId) -> &str {
        &self.names[id.0]
    }
    pub fn len(&self) -> usize {
        self.tensors.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
    pub fn ids(&self) -> impl Iterator<Item = ParamId> {
        (0..self.tensors.len()).map(ParamId)
    }
    pub fn find(&self, name: &str) -> Option<ParamId> {
        self.names.iter().position(|n| n == name).map(ParamId)
    }
    /// Total number of scalar parameters.
    pub fn count(&self) -> usize {
        self.tensors.iter().map(|t| t.numel()).sum()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor<E>)> {
        self.names
            .iter()
            .map(|s| s.as_str())
            .zip(self.tensors.iter())
    }
    pub fn cast<F: Real>(&self) -> ParamStore<F> {
        ParamStore {
            names: self.names.clone(),
            tensors: self.tensors.iter().map(|t| t.cast()).collect(),
        }
    }
}

/// A model's parameters resident on a backend: uploaded once, updated in place by the
/// optimiser, copied back to the host store only for checkpoints and evaluation (`download_into`).
pub struct DeviceParams<B: Backend> {
    bufs: Vec<B::Buf>,
}

impl<B: Backend> DeviceParams<B> {
    pub fn upload(backend: &B, params: &ParamStore<B::E>) -> Result<Self> {
        let bufs = params
            .iter()
            .map(|(_, t)| {
                let mut b = backend.alloc(t.numel())?;
                backend.upload(&t.data, &mut b)?;
                Ok(b)
            })
            .collect::<Result<_>>()?;
        Ok(DeviceParams { bufs })
    }
    /// Copies every parameter back into `params` (the store this was uploaded from).
    pub fn download_into(&self, backend: &B, params: &mut ParamStore<B::E>) -> Result<()> {
        if params.len() != self.bufs.len() {
            return Err(Error::Invalid(format!(
                "device parameters: {} tensors on the device, {} on the host",
                self.bufs.len(),
                params.len()
            )));
        }
        for (i, buf) in self.bufs.iter().enumerate() {
            backend.download(buf, &mut params.get_mut(ParamId(i)).data)?;
        }
        Ok(())
    }
    pub fn get(&self, id: ParamId) -> &B::Buf {
        &self.bufs[id.0]
    }
    pub fn get_mut(&mut self, id: ParamId) -> &mut B::Buf {
        &mut self.bufs[id.0]
    }
    pub fn len(&self) -> usize {
        self.bufs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }
}
