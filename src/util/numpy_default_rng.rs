//! NumPy's `np.random.default_rng(seed)` (a `Generator` over `PCG64(SeedSequence(seed))`), as far as
//! the environments need it: the same 64-bit stream and `uniform`, so a Gymnasium task reset with
//! `reset(seed=s)` starts from the same state in Rust as in Python.
//!
//! Three pieces, each as NumPy 2.x defines it:
//! - `SeedSequence(seed)`: the seed's 32-bit words hashed into a 4-word pool, expanded to the
//!   4 × 64-bit state words PCG64 asks for (`generate_state(4, np.uint64)`);
//! - PCG64: a 128-bit LCG advanced before each output, XSL-RR output function;
//! - `Generator.uniform(low, high)`: `low + (high − low) · ((next_u64 >> 11) · 2⁻⁵³)`.

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL: usize = 4;
const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// `SeedSequence(seed).generate_state(n32, np.uint32)`: `n32` words from the hashed entropy pool.
fn seed_sequence_words(seed: u64, n32: usize) -> Vec<u32> {
    // A Python int becomes its little-endian 32-bit words (0 → [0]).
    let entropy: Vec<u32> = if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut hash_const = INIT_A;
    let mut hashmix = |mut v: u32| {
        v ^= hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> XSHIFT)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> XSHIFT)
    };
    let mut pool = [0u32; POOL];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL {
        for dst in 0..POOL {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &e in entropy.iter().skip(POOL) {
        for p in pool.iter_mut() {
            let h = hashmix(e);
            *p = mix(*p, h);
        }
    }
    let mut hash_const = INIT_B;
    (0..n32)
        .map(|i| {
            let mut v = pool[i % POOL] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> XSHIFT)
        })
        .collect()
}

/// `np.random.default_rng(seed)`, the parts the environments use.
#[derive(Clone, Debug)]
pub struct DefaultRng {
    state: u128,
    inc: u128,
}

impl DefaultRng {
    pub fn new(seed: u64) -> Self {
        let w = seed_sequence_words(seed, 8);
        // generate_state(4, uint64) views the 32-bit words as little-endian u64 pairs.
        let u = |i: usize| w[2 * i] as u64 | (w[2 * i + 1] as u64) << 32;
        let initstate = (u(0) as u128) << 64 | u(1) as u128;
        let initseq = (u(2) as u128) << 64 | u(3) as u128;
        // pcg_setseq_128_srandom_r
        let mut r = DefaultRng {
            state: 0,
            inc: (initseq << 1) | 1,
        };
        r.step();
        r.state = r.state.wrapping_add(initstate);
        r.step();
        r
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        ((s >> 64) as u64 ^ s as u64).rotate_right((s >> 122) as u32)
    }

    /// A double in [0, 1) from the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `Generator.uniform(low, high)`, one draw.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values printed by NumPy 2.4.6:
    /// `[hex(x) for x in np.random.SeedSequence(0).generate_state(4, np.uint64)]`,
    /// `np.random.default_rng(0).bit_generator.state`, `np.random.default_rng(12345).integers(0, 2**63,
    /// 2, dtype=np.uint64)` (bounded by a power of two: the top 63 bits of each output), the same for
    /// `2**40 + 7`, and
    /// `np.random.default_rng(0).uniform(-5e-3, 5e-3, 3)`.
    #[test]
    fn matches_numpy() {
        let w = seed_sequence_words(0, 8);
        let u = |i: usize| w[2 * i] as u64 | (w[2 * i + 1] as u64) << 32;
        assert_eq!(
            [u(0), u(1), u(2), u(3)],
            [
                0xdb2c_d7e7_b0f4_78be,
                0xabf4_641a_2c71_ba49,
                0x20c6_ed6d_9d7b_8d41,
                0x2c40_99de_223c_39d4
            ]
        );
        let r = DefaultRng::new(0);
        assert_eq!(r.state, 35399562948360463058890781895381311971);
        assert_eq!(r.inc, 87136372517582989555478159403783844777);
        let mut r = DefaultRng::new(12345);
        let got = [r.next_u64() >> 1, r.next_u64() >> 1];
        assert_eq!(got, [2096804712593481934, 2921580012919480943]);
        // A seed above 2^32 is two entropy words (`default_rng(2**40 + 7)`).
        let mut r = DefaultRng::new((1 << 40) + 7);
        let got = [r.next_u64() >> 1, r.next_u64() >> 1];
        assert_eq!(got, [7653673022321004757, 2354774458381908794]);
        let mut r = DefaultRng::new(0);
        let v: Vec<f64> = (0..3).map(|_| r.uniform(-5e-3, 5e-3)).collect();
        let want = [
            0.001369616873214543,
            -0.002302132862361297,
            -0.0045902647606380536,
        ];
        assert_eq!(v, want);
    }
}
