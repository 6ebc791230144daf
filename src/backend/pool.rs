//! A pool of reusable buffers with best-fit lookup, for any backend. Training steps and planner
//! rollouts run the same op sequence again and again; handing each request the smallest free
//! buffer that fits means a warm step allocates nothing, on the host or on the device.
use super::Backend;
use crate::Result;

pub struct Pool<B: Backend> {
    free: Vec<B::Buf>,
}

impl<B: Backend> Default for Pool<B> {
    fn default() -> Self {
        Pool { free: Vec::new() }
    }
}

impl<B: Backend> Pool<B> {
    pub fn from_vec(free: Vec<B::Buf>) -> Self {
        Pool { free }
    }
    pub fn into_vec(self) -> Vec<B::Buf> {
        self.free
    }
    pub fn len(&self) -> usize {
        self.free.len()
    }
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
    pub fn give(&mut self, buf: B::Buf) {
        if B::capacity(&buf) > 0 {
            self.free.push(buf);
        }
    }
    /// A buffer of `n` elements with unspecified contents.
    pub fn take(&mut self, b: &B, n: usize) -> Result<B::Buf> {
        let mut best: Option<usize> = None;
        for (i, buf) in self.free.iter().enumerate() {
            let c = B::capacity(buf);
            if c >= n && best.is_none_or(|j| c < B::capacity(&self.free[j])) {
                best = Some(i);
                if c == n {
                    break;
                }
            }
        }
        let mut buf = match best {
            Some(i) => self.free.swap_remove(i),
            None => b.alloc(n.max(1))?,
        };
        B::fit(&mut buf, n);
        Ok(buf)
    }
    /// A zeroed buffer of `n` elements.
    pub fn take_zeroed(&mut self, b: &B, n: usize) -> Result<B::Buf> {
        let mut buf = self.take(b, n)?;
        b.fill_zero(&mut buf, n)?;
        Ok(buf)
    }
}
