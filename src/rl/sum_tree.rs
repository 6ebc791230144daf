//! A sum tree over `n` non-negative weights: O(log n) update and O(log n) sampling of a leaf with
//! probability proportional to its weight (the structure behind prioritized experience replay).
//! Sums are f64 and every update recomputes its ancestors from their children, so no error builds
//! up over millions of updates.

#[derive(Clone, Debug)]
pub struct SumTree {
    /// Leaves at `size..size + n`, node `i`'s children at `2i` and `2i + 1`; `nodes[1]` is the root.
    nodes: Vec<f64>,
    size: usize,
    n: usize,
}

impl SumTree {
    /// `n` leaves, all zero.
    pub fn new(n: usize) -> Self {
        let size = n.max(1).next_power_of_two();
        SumTree {
            nodes: vec![0.0; 2 * size],
            size,
            n,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The sum of all weights.
    pub fn total(&self) -> f64 {
        self.nodes[1]
    }

    pub fn get(&self, i: usize) -> f64 {
        self.nodes[self.size + i]
    }

    /// Sets leaf `i` (< len) to `w` (finite, ≥ 0: the caller checks).
    pub fn set(&mut self, i: usize, w: f64) {
        debug_assert!(i < self.n && w >= 0.0 && w.is_finite());
        let mut k = self.size + i;
        self.nodes[k] = w;
        while k > 1 {
            k /= 2;
            self.nodes[k] = self.nodes[2 * k] + self.nodes[2 * k + 1];
        }
    }

    /// The leaf whose cumulative range holds `u` ∈ [0, total). A side whose sum is zero is never
    /// entered, so rounding at a range's edge cannot return a zero-weight leaf.
    pub fn find(&self, mut u: f64) -> usize {
        let mut k = 1;
        while k < self.size {
            let (l, r) = (self.nodes[2 * k], self.nodes[2 * k + 1]);
            if (u < l || r == 0.0) && l > 0.0 {
                k *= 2;
            } else {
                u -= l;
                k = 2 * k + 1;
            }
        }
        k - self.size
    }
}
