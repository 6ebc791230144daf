//! The diagonal Koopman operator (paper §3): m continuous-time eigenvalues λ_j = μ_j + iω_j,
//! discretised by zero-order hold with a (learnable) Δt, that advance a complex latent
//! x_{k+1} = λ̄ ⊙ x_k + g ⊙ u_k over a whole horizon at once (a scan, or the paper's Vandermonde
//! matrix + convolution: the same numbers). Shared by the dynamics model and the Koopman agents.
//!
//! A latent of m complex modes is stored as 2m reals in the layout the `koopman` ops use.
use crate::autodiff::{ParamId, ParamStore, Tape, Var};
use crate::ops::Engine;
use crate::tensor::{Init, Tensor};
use crate::util::rng::Rng;
use crate::Result;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// The default Δt₀ for m modes with ω_j = jπ: min(1/m, 0.01). With 1/m the per-step angles ω_jΔt
/// span (0, π], the whole band up to the Nyquist frequency; the cap 0.01 keeps the slowest mode's
/// period (2/Δt steps) at least 200 steps, twice the 100-step horizon, which binds below m = 100.
/// The paper leaves Δt₀ open, and ω and log Δt barely move under Adam at lr 1e-3 (steps of ~lr in
/// absolute units), so the initial spectrum is the one the model keeps. At m = 32, 1/m left only
/// three modes slower than 0.3 rad per step and raised the demo's error by 40%; at m = 512 it was
/// the best measured (EXPERIMENTS.md, "The paper's accuracy ranking").
pub fn default_dt0(modes: usize) -> f64 {
    (1.0 / modes.max(1) as f64).min(0.01)
}

/// Real parts of the continuous-time eigenvalues (paper App. G ablation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MuInit {
    /// μ_j = value for every mode, not trained (the paper's best variant).
    Fixed(f64),
    /// μ_j = lo + (hi − lo)·σ(p_j), p learned, starting at the middle of the interval.
    Bounded { lo: f64, hi: f64 },
    /// μ_j learned freely from `init`.
    Learnable(f64),
}

/// Imaginary parts at initialisation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OmegaInit {
    /// ω_j = α·j·π, j = 1..m.
    Increasing { alpha: f64 },
    /// ω_j uniform in [0, α·m·π], drawn from the model seed.
    Random { alpha: f64 },
    /// Per-step angles ω_jΔt₀ log-spaced from `lo`·π to `hi`·π over the modes (increasing): every
    /// time scale between them gets the same number of modes.
    LogSpaced { lo: f64, hi: f64 },
}

/// How the latent trajectory is computed: the same numbers either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutMode {
    Scan,
    Conv,
}

/// The operator's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatorConfig {
    pub modes: usize,
    pub mu: MuInit,
    pub omega: OmegaInit,
    /// Δt at initialisation.
    pub dt0: f64,
    pub learn_dt: bool,
    pub learn_omega: bool,
    pub rollout: RolloutMode,
}

/// The eigenvalue parameters (μ, ω, log Δt) of one operator, named `{name}.mu`, `{name}.omega`,
/// `{name}.log_dt` (`{name}.mu_raw` when μ is bounded).
#[derive(Clone, Debug)]
pub struct DiagonalKoopman {
    pub cfg: OperatorConfig,
    /// Fixed μ is a constant, otherwise a parameter (raw, before the bounding map).
    mu: Option<ParamId>,
    mu_fixed: Vec<f32>,
    omega: Option<ParamId>,
    omega_fixed: Vec<f32>,
    log_dt: Option<ParamId>,
}

impl DiagonalKoopman {
    pub fn new(ps: &mut ParamStore, name: &str, cfg: OperatorConfig, rng: &mut Rng) -> Self {
        let m = cfg.modes;
        let omega0: Vec<f32> = match cfg.omega {
            OmegaInit::Increasing { alpha } => {
                (1..=m).map(|j| (alpha * j as f64 * PI) as f32).collect()
            }
            OmegaInit::Random { alpha } => (0..m)
                .map(|_| (rng.uniform() * alpha * m as f64 * PI) as f32)
                .collect(),
            OmegaInit::LogSpaced { lo, hi } => (0..m)
                .map(|j| {
                    let f = if m > 1 {
                        j as f64 / (m - 1) as f64
                    } else {
                        1.0
                    };
                    (lo * (hi / lo).powf(f) * PI / cfg.dt0) as f32
                })
                .collect(),
        };
        let (mu, mu_fixed) = match cfg.mu {
            MuInit::Fixed(v) => (None, vec![v as f32; m]),
            MuInit::Bounded { .. } => (
                Some(ps.init(format!("{name}.mu_raw"), [m], Init::Zeros, rng)),
                vec![],
            ),
            MuInit::Learnable(v) => (
                Some(ps.init(format!("{name}.mu"), [m], Init::Const(v), rng)),
                vec![],
            ),
        };
        let omega = cfg.learn_omega.then(|| {
            ps.add(
                format!("{name}.omega"),
                Tensor::from_vec([m], omega0.clone()).expect("ω has m values"),
            )
        });
        let log_dt = cfg.learn_dt.then(|| {
            ps.init(
                format!("{name}.log_dt"),
                [1],
                Init::Const(cfg.dt0.ln()),
                rng,
            )
        });
        DiagonalKoopman {
            cfg,
            mu,
            mu_fixed,
            omega,
            omega_fixed: omega0,
            log_dt,
        }
    }

    /// (μ, ω, log Δt) on the tape.
    pub fn eigen<B: Engine<E = f32>>(&self, t: &mut Tape<B>) -> Result<(Var, Var, Var)> {
        let m = self.cfg.modes;
        let mu = match (self.cfg.mu, self.mu) {
            (MuInit::Bounded { lo, hi }, Some(p)) => {
                let raw = t.param(p);
                let s = t.sigmoid(raw);
                let s = t.scale(s, (hi - lo) as f32);
                let lo_v = t.constant([m], &vec![lo as f32; m])?;
                t.add(s, lo_v)?
            }
            (_, Some(p)) => t.param(p),
            (_, None) => t.constant([m], &self.mu_fixed)?,
        };
        let omega = match self.omega {
            Some(p) => t.param(p),
            None => t.constant([m], &self.omega_fixed)?,
        };
        let log_dt = match self.log_dt {
            Some(p) => t.param(p),
            None => t.constant([1], &[self.cfg.dt0.ln() as f32])?,
        };
        Ok((mu, omega, log_dt))
    }

    /// (μ, ω, log Δt, λ̄) and the ZOH input gain g [2m].
    pub fn eigen_gain<B: Engine<E = f32>>(&self, t: &mut Tape<B>) -> Result<([Var; 4], Var)> {
        let m2 = 2 * self.cfg.modes;
        let (mu, omega, log_dt) = self.eigen(t)?;
        let zg = t.zoh(mu, omega, log_dt)?;
        let gain = t.narrow(zg, 0, 1, 1)?;
        let gain = t.reshape(gain, &[m2])?;
        let lbar = t.narrow(zg, 0, 0, 1)?;
        let lbar = t.reshape(lbar, &[m2])?;
        Ok(([mu, omega, log_dt, lbar], gain))
    }

    /// x̂_1..x̂_T [B, T, 2m] from x₀ [B, 2m] and encoded inputs u [B, T, 2m].
    pub fn rollout<B: Engine<E = f32>>(&self, t: &mut Tape<B>, x0: Var, u: Var) -> Result<Var> {
        let (eig, gain) = self.eigen_gain(t)?;
        let c = t.cmul(u, gain)?;
        self.unroll(t, x0, c, eig)
    }

    /// x̂_1..x̂_T from x₀ and the gain-scaled inputs c [B, T, 2m], with `eig` from
    /// [`DiagonalKoopman::eigen_gain`].
    pub fn unroll<B: Engine<E = f32>>(
        &self,
        t: &mut Tape<B>,
        x0: Var,
        c: Var,
        eig: [Var; 4],
    ) -> Result<Var> {
        let [mu, omega, log_dt, lbar] = eig;
        let tl = t.dims(c)[1];
        match self.cfg.rollout {
            RolloutMode::Scan => t.scan(x0, c, lbar),
            RolloutMode::Conv => {
                let v = t.vandermonde(mu, omega, log_dt, tl + 1)?;
                t.cconv(x0, c, v)
            }
        }
    }

    /// The continuous-time eigenvalues (μ_j, ω_j) and Δt under `params`.
    pub fn eigenvalues(&self, params: &ParamStore) -> Result<(Vec<(f64, f64)>, f64)> {
        let mut t = Tape::no_grad(params);
        let (mu, omega, log_dt) = self.eigen(&mut t)?;
        let pairs = t
            .value(mu)
            .iter()
            .zip(t.value(omega))
            .map(|(&a, &b)| (a as f64, b as f64))
            .collect();
        Ok((pairs, (t.value(log_dt)[0] as f64).exp()))
    }
}
