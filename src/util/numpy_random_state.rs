//! NumPy's legacy `np.random.RandomState`, bit for bit: the MT19937 generator seeded as
//! `RandomState(seed)` seeds it from an integer, and the draws dm_control's suite tasks make
//! (`random_sample`, `uniform`, `standard_normal`/`randn`). It exists so that a dm_control task's
//! reset with a given seed starts exactly where `suite.load(..., task_kwargs={'random': seed})`
//! starts; everything else in the crate uses [`crate::util::rng::Rng`].
//!
//! - Seeding: NumPy's `_legacy_seeding` sends an integer `0 ≤ seed < 2³²` to `mt19937_seed`,
//!   which is Matsumoto–Nishimura's `init_genrand` (not `init_by_array`, which arrays take).
//! - `random_sample`: `legacy_double`, 53 bits from two 32-bit outputs,
//!   `((a >> 5)·2²⁶ + (b >> 6)) / 2⁵³`.
//! - `uniform(low, high)`: `low + (high − low)·random_sample()` (NumPy computes the range first).
//! - `standard_normal`: `legacy_gauss`, the polar Box–Muller method; each accepted pair yields two
//!   values, the second (`f·x1`) cached and returned by the next call.
//!
//! `log` and `sqrt` are the platform's (`f64::ln` is glibc's `log` on Linux, as NumPy's `npy_log`),
//! so the normals match NumPy built against the same libm.

/// MT19937 state size.
const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// NumPy's legacy `RandomState`: MT19937 plus the cached second Gaussian of `legacy_gauss`.
#[derive(Clone)]
pub struct RandomState {
    key: [u32; N],
    pos: usize,
    gauss: Option<f64>,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .field("gauss", &self.gauss)
            .finish_non_exhaustive()
    }
}

impl RandomState {
    /// `np.random.RandomState(seed)` for an integer seed (`mt19937_seed`, i.e. `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut key = [0u32; N];
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(pos as u32 + 1);
        }
        Self {
            key,
            pos: N,
            gauss: None,
        }
    }

    /// Regenerates the 624 words (`mt19937_gen`).
    fn generate(&mut self) {
        let k = &mut self.key;
        let mix = |a: u32, b: u32, c: u32| {
            let y = (a & UPPER_MASK) | (b & LOWER_MASK);
            c ^ (y >> 1) ^ (if y & 1 == 1 { MATRIX_A } else { 0 })
        };
        for i in 0..N - M {
            k[i] = mix(k[i], k[i + 1], k[i + M]);
        }
        for i in N - M..N - 1 {
            k[i] = mix(k[i], k[i + 1], k[i + M - N]);
        }
        k[N - 1] = mix(k[N - 1], k[0], k[M - 1]);
        self.pos = 0;
    }

    /// The next tempered 32-bit output (`mt19937_next32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: uniform in `[0, 1)` with 53 random bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `uniform(low, high)`: `low + (high − low)·random_sample()`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        let range = high - low;
        low + range * self.random_sample()
    }

    /// `standard_normal()` / `randn()`: `legacy_gauss`, the polar method with the second value
    /// of each pair cached for the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RandomState;

    // Printed by NumPy 2.4.6 (the dm_control venv, target/dmc-venv) with
    //
    //     import numpy as np
    //     h = lambda x: "0x%016x" % np.float64(x).view(np.uint64)
    //     for s in (0, 1, 42, 2**32 - 1):
    //         raw = [int(x) for x in np.random.RandomState(s)._bit_generator.random_raw(3)]
    //         far = int(np.random.RandomState(s)._bit_generator.random_raw(1300)[-1])
    //         r = np.random.RandomState(s)
    //         smp = [h(x) for x in r.random_sample(3)]
    //         u = h(r.uniform(-np.pi, np.pi))
    //         n = [h(x) for x in r.randn(5)]
    //         print(s, raw, far, smp, u, n, h(r.random_sample()))
    //
    // (`random_raw` of MT19937 returns the tempered 32-bit words.)
    #[allow(clippy::type_complexity)]
    const REFERENCE: &[(u32, [u32; 3], u32, [u64; 3], u64, [u64; 5], u64)] = &[
        (
            0,
            [2357136044, 2546248239, 3071714933],
            387547707,
            [0x3fe18fe1565f12a8, 0x3fe6e2d4cf608733, 0x3fe349d66b6e894b],
            0x3fd20c70f83cf090,
            [
                0x3ffde1847cb13dda,
                0xbfef45dc42a58c82,
                0x3fee671fd33295e9,
                0xbfc35fac49d38436,
                0xbfba6c8cf8c8b459,
            ],
            0x3fe955cfbf3fa928,
        ),
        (
            1,
            [1791095845, 4282876139, 3093770124],
            2604647584,
            [0x3fdab07d0ffa3c06, 0x3fe70ce5f3baf051, 0x3f1dfb906661c000],
            0xbff3df278c4de70b,
            [
                0xbfe0e6c872548fd2,
                0xbff12ae1255cb80c,
                0x3febb16b5735117d,
                0xc002698d1ecca259,
                0x3ffbeabfbd8fc605,
            ],
            0x3fca2b7dc718620c,
        ),
        (
            42,
            [1608637542, 3421126067, 4083286876],
            2059789457,
            [0x3fd7f8771e5f51ec, 0x3fee6c4068bbd654, 0x3fe76c7e8f1e6751],
            0x3fe3d62295c9100c,
            [
                0xbfcdf8bcdf57a640,
                0xbfcdf8332670db3b,
                0x3ff94474a8407408,
                0x3fe88ed346f0d7f3,
                0xbfde0bde4b799e8b,
            ],
            0x3fc7460a5fe01938,
        ),
        (
            4294967295,
            [419326371, 479346978, 3918654476],
            319045431,
            [0x3fb8fe69a3924820, 0x3fed323d824032b1, 0x3fe93fc6f61af3f9],
            0x3ffc2626f457e634,
            [
                0xbff149e836f192fd,
                0x3fd23543dec5a0fc,
                0x3fbd27bf27c6aaaf,
                0x3febc38efd644bd1,
                0xbfa68a93f10b89ee,
            ],
            0x3fd4bfb333c5401c,
        ),
    ];

    fn hex(x: f64) -> u64 {
        x.to_bits()
    }

    #[test]
    fn matches_numpy() {
        for &(seed, raw, far, samples, uniform, normals, after) in REFERENCE {
            let mut r = RandomState::new(seed);
            let got: Vec<u32> = (0..1300).map(|_| r.next_u32()).collect();
            assert_eq!(got[..3], raw, "seed {seed}: raw words");
            assert_eq!(
                got[1299], far,
                "seed {seed}: word 1300 (third regeneration)"
            );
            let mut r = RandomState::new(seed);
            for s in samples {
                assert_eq!(hex(r.random_sample()), s, "seed {seed}: random_sample");
            }
            let pi = std::f64::consts::PI;
            assert_eq!(hex(r.uniform(-pi, pi)), uniform, "seed {seed}: uniform");
            for n in normals {
                assert_eq!(hex(r.standard_normal()), n, "seed {seed}: standard_normal");
            }
            // Five normals: the fifth consumed a pair and cached its partner; a uniform draw
            // after that does not see the cache.
            assert_eq!(
                hex(r.random_sample()),
                after,
                "seed {seed}: after the normals"
            );
        }
    }

    #[test]
    fn cached_gauss_is_returned_next() {
        let mut a = RandomState::new(7);
        let first = a.standard_normal();
        let mut b = a.clone();
        let second = a.standard_normal();
        assert_ne!(first, second);
        assert_eq!(b.standard_normal(), second);
    }
}
