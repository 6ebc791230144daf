//! A controlled linear system of independent damped oscillators, x_{t+1} = A x_t + B a_t, sampled
//! every `dt` seconds. Oscillator j has continuous-time eigenvalues −ζ_j ± iω_j, so a Koopman model
//! with one complex mode per oscillator should recover ω_j (and ζ_j).
use crate::data::Batch;
use crate::util::rng::Rng;

#[derive(Clone, Debug)]
pub struct Oscillator {
    /// (damping ζ_j, angular frequency ω_j) in 1/s and rad/s.
    pub modes: Vec<(f64, f64)>,
    pub dt: f64,
    pub act_dim: usize,
    /// Input matrix [state, action].
    pub b: Vec<f64>,
}

impl Oscillator {
    /// Two oscillators (1.0 and 2.5 rad/s, damping 0.1 and 0.3 per second), sampled at 10 Hz, one input.
    pub fn default_pair() -> Self {
        Oscillator {
            modes: vec![(0.1, 1.0), (0.3, 2.5)],
            dt: 0.1,
            act_dim: 1,
            b: vec![0.0, 0.1, 0.0, 0.1],
        }
    }
    pub fn obs_dim(&self) -> usize {
        2 * self.modes.len()
    }

    /// One exact discrete step (each 2×2 block is e^{−ζdt} times a rotation by ω·dt).
    pub fn step(&self, x: &[f64], a: &[f64], out: &mut [f64]) {
        for (j, &(z, w)) in self.modes.iter().enumerate() {
            let (r, th) = ((-z * self.dt).exp(), w * self.dt);
            let (p, v) = (x[2 * j], x[2 * j + 1]);
            out[2 * j] = r * (th.cos() * p - th.sin() * v);
            out[2 * j + 1] = r * (th.sin() * p + th.cos() * v);
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o += (0..self.act_dim)
                .map(|k| self.b[i * self.act_dim + k] * a[k])
                .sum::<f64>();
        }
    }

    /// `n` windows of `t` steps from random starts with random actions in [−1, 1]; reward = −‖x‖²/d.
    pub fn windows(&self, n: usize, t: usize, rng: &mut Rng) -> Batch {
        let (ds, da) = (self.obs_dim(), self.act_dim);
        let mut w = Batch {
            b: n,
            t,
            obs_dim: ds,
            act_dim: da,
            states: Vec::with_capacity(n * (t + 1) * ds),
            actions: Vec::with_capacity(n * t * da),
            rewards: Vec::with_capacity(n * t),
        };
        let mut next = vec![0.0; ds];
        for _ in 0..n {
            let mut x: Vec<f64> = (0..ds).map(|_| rng.range(-1.0, 1.0)).collect();
            w.states.extend(x.iter().map(|&v| v as f32));
            for _ in 0..t {
                let a: Vec<f64> = (0..da).map(|_| rng.range(-1.0, 1.0)).collect();
                w.rewards
                    .push((-x.iter().map(|v| v * v).sum::<f64>() / ds as f64) as f32);
                self.step(&x, &a, &mut next);
                x.copy_from_slice(&next);
                w.states.extend(x.iter().map(|&v| v as f32));
                w.actions.extend(a.iter().map(|&v| v as f32));
            }
        }
        w
    }
}
