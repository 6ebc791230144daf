//! The CPU backend: buffers are host `Vec`s. Generic over the element type so gradient checks run
//! the same ops in f64.
use super::Backend;
use crate::tensor::Real;
use crate::Result;
use rayon::prelude::*;
use std::marker::PhantomData;

/// Below this many elements a loop stays on one thread: rayon's fork/join costs more than it saves.
pub const PAR_MIN: usize = 1 << 15;

/// d = s, or d += s with `add`; in parallel over blocks for large slices.
pub fn copy_or_add<E: Real>(s: &[E], d: &mut [E], add: bool) {
    let body = |(d, s): (&mut [E], &[E])| {
        if add {
            d.iter_mut().zip(s).for_each(|(d, s)| *d += *s);
        } else {
            d.copy_from_slice(s);
        }
    };
    if d.len() >= PAR_MIN {
        d.par_chunks_mut(1 << 14)
            .zip(s.par_chunks(1 << 14))
            .for_each(body);
    } else {
        body((d, s));
    }
}

pub struct Cpu<E = f32>(PhantomData<fn() -> E>);

impl<E> Default for Cpu<E> {
    fn default() -> Self {
        Cpu(PhantomData)
    }
}
impl<E> Clone for Cpu<E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for Cpu<E> {}

impl<E: Real> Backend for Cpu<E> {
    type E = E;
    type Buf = Vec<E>;

    fn name(&self) -> &'static str {
        "cpu"
    }
    fn alloc(&self, n: usize) -> Result<Vec<E>> {
        Ok(vec![E::zero(); n])
    }
    fn capacity(buf: &Vec<E>) -> usize {
        buf.capacity()
    }
    fn fit(buf: &mut Vec<E>, n: usize) {
        // Within capacity: resize fills without reallocating, truncate never allocates.
        if buf.len() < n {
            buf.resize(n, E::default());
        }
        buf.truncate(n);
    }
    fn fill_zero(&self, buf: &mut Vec<E>, n: usize) -> Result<()> {
        buf[..n].iter_mut().for_each(|v| *v = E::zero());
        Ok(())
    }
    fn upload(&self, src: &[E], dst: &mut Vec<E>) -> Result<()> {
        dst[..src.len()].copy_from_slice(src);
        Ok(())
    }
    fn download(&self, src: &Vec<E>, dst: &mut [E]) -> Result<()> {
        dst.copy_from_slice(&src[..dst.len()]);
        Ok(())
    }
    fn copy_range(
        &self,
        src: &Vec<E>,
        s: usize,
        dst: &mut Vec<E>,
        d: usize,
        n: usize,
    ) -> Result<()> {
        copy_or_add(&src[s..s + n], &mut dst[d..d + n], false);
        Ok(())
    }
    fn add_assign(&self, dst: &mut Vec<E>, src: &Vec<E>, n: usize) -> Result<()> {
        copy_or_add(&src[..n], &mut dst[..n], true);
        Ok(())
    }
}
