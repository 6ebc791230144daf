//! A pool of reusable buffers with best-fit lookup. Training steps and planner rollouts run the same
//! op sequence again and again; handing each request the smallest free buffer that fits means a warm
//! step allocates nothing, and large activations never go back to the OS (no page faults).
pub struct Pool<E> {
    free: Vec<Vec<E>>,
}

impl<E: Copy + Default> Pool<E> {
    pub fn new() -> Self {
        Pool { free: Vec::new() }
    }
    pub fn from_vec(free: Vec<Vec<E>>) -> Self {
        Pool { free }
    }
    pub fn into_vec(self) -> Vec<Vec<E>> {
        self.free
    }
    pub fn give(&mut self, buf: Vec<E>) {
        if buf.capacity() > 0 {
            self.free.push(buf);
        }
    }
    /// A buffer of length n with unspecified contents.
    pub fn take(&mut self, n: usize) -> Vec<E> {
        let mut best: Option<usize> = None;
        for (i, b) in self.free.iter().enumerate() {
            let c = b.capacity();
            if c >= n && best.is_none_or(|j| c < self.free[j].capacity()) {
                best = Some(i);
                if c == n {
                    break;
                }
            }
        }
        let mut b = match best {
            Some(i) => self.free.swap_remove(i),
            None => Vec::with_capacity(n),
        };
        // Within capacity: resize fills without reallocating, truncate never allocates.
        if b.len() < n {
            b.resize(n, E::default());
        }
        b.truncate(n);
        b
    }
    /// A zeroed buffer of length n.
    pub fn take_zeroed(&mut self, n: usize) -> Vec<E> {
        let mut b = self.take(n);
        b.iter_mut().for_each(|v| *v = E::default());
        b
    }
}

impl<E: Copy + Default> Default for Pool<E> {
    fn default() -> Self {
        Self::new()
    }
}
