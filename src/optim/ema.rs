//! Exponential moving average of parameters (TD-MPC's target network, `h.ema`):
//! target ← (1 − τ)·target + τ·online, on the backend's buffers with the element-wise kernels every
//! backend has.
use crate::autodiff::DeviceParams;
use crate::backend::Backend;
use crate::ops::binary::BinaryKernel;
use crate::tensor::Real;
use crate::{Error, Result};

/// Two scratch buffers as large as the largest parameter, kept between updates.
pub struct EmaScratch<B: Backend> {
    a: B::Buf,
    b: B::Buf,
    len: usize,
}

impl<B: BinaryKernel> EmaScratch<B> {
    pub fn new(be: &B, len: usize) -> Result<Self> {
        Ok(EmaScratch {
            a: be.alloc(len.max(1))?,
            b: be.alloc(len.max(1))?,
            len,
        })
    }
}

/// One EMA step over every parameter; `sizes[i]` is parameter i's element count.
pub fn ema<B: BinaryKernel>(
    be: &B,
    target: &mut DeviceParams<B>,
    online: &DeviceParams<B>,
    sizes: &[usize],
    tau: f64,
    s: &mut EmaScratch<B>,
) -> Result<()> {
    if target.len() != online.len() || sizes.len() != online.len() {
        return Err(Error::Invalid(format!(
            "ema: {} target and {} online tensors, {} sizes",
            target.len(),
            online.len(),
            sizes.len()
        )));
    }
    for (i, &n) in sizes.iter().enumerate() {
        if n > s.len {
            return Err(Error::Invalid(format!(
                "ema: parameter {i} has {n} values, the scratch {}",
                s.len
            )));
        }
        let id = crate::autodiff::ParamId(i);
        be.scale_fwd(target.get(id), B::E::of(1.0 - tau), &mut s.a, n)?;
        be.scale_fwd(online.get(id), B::E::of(tau), &mut s.b, n)?;
        be.add_fwd(&s.a, &s.b, target.get_mut(id), n, n)?;
    }
    Ok(())
}
