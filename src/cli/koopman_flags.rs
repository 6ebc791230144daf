//! The Koopman model's open choices as command-line flags, shared by `train` and `compare`: each
//! overrides one field of the preset's Koopman configuration (the paper's ablations, App. G–H).
use crate::models::{KoopmanConfig, ModelConfig, MuInit, OmegaInit};
use crate::nn::default_dt0;
use crate::{Error, Result};
use clap::Args;

#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct KoopmanFlags {
    /// Koopman: number of complex modes m (the preset's by default: 512 at paper size, 32 small).
    /// Δt₀ follows as min(1/m, 0.01) unless --dt0 is given
    #[arg(long)]
    pub modes: Option<usize>,
    /// Koopman: real parts μ, `fixed:V` (default fixed:-0.2), `learnable:V` (trained from V) or
    /// `bounded:LO:HI` (trained inside [LO, HI], from the middle)
    #[arg(long, allow_hyphen_values = true)]
    pub mu: Option<String>,
    /// Koopman: imaginary parts at initialisation, `increasing[:α]` (ω_j = αjπ, default α 1),
    /// `random[:α]` (uniform in [0, αmπ], from the model seed) or `log:LO:HI` (per-step angles
    /// ω_jΔt₀ log-spaced from LO·π to HI·π)
    #[arg(long)]
    pub omega: Option<String>,
    /// Koopman: Δt at initialisation (default min(1/m, 0.01): the band up to π per step, the slowest period ≥ 200 steps)
    #[arg(long)]
    pub dt0: Option<f64>,
    /// Koopman: keep Δt at --dt0 instead of learning it
    #[arg(long)]
    pub fixed_dt: bool,
    /// Koopman: keep ω at its initial values instead of learning them
    #[arg(long)]
    pub fixed_omega: bool,
    /// Koopman: weight of the latent consistency term (default 0.1)
    #[arg(long)]
    pub consistency_weight: Option<f64>,
    /// Koopman: weight of an autoencoder term ‖d(g(s₀)) − s₀‖² on each window's first state
    /// (default 0, as in the paper's loss)
    #[arg(long)]
    pub recon_weight: Option<f64>,
}

impl KoopmanFlags {
    /// Whether any flag departs from the preset.
    pub fn any(&self) -> bool {
        *self != KoopmanFlags::default()
    }

    /// The flags as they would be typed, for labels and messages ("" when none is set).
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some(m) = self.modes {
            parts.push(format!("--modes {m}"));
        }
        if let Some(v) = &self.mu {
            parts.push(format!("--mu {v}"));
        }
        if let Some(v) = &self.omega {
            parts.push(format!("--omega {v}"));
        }
        if let Some(v) = self.dt0 {
            parts.push(format!("--dt0 {v}"));
        }
        if self.fixed_dt {
            parts.push("--fixed-dt".into());
        }
        if self.fixed_omega {
            parts.push("--fixed-omega".into());
        }
        if let Some(v) = self.consistency_weight {
            parts.push(format!("--consistency-weight {v}"));
        }
        if let Some(v) = self.recon_weight {
            parts.push(format!("--recon-weight {v}"));
        }
        parts.join(" ")
    }

    /// Checks every flag's value without a model (before any data is read).
    pub fn check(&self) -> Result<()> {
        self.apply_koopman(KoopmanConfig::new(1, 1)).map(|_| ())
    }

    /// `config` with the flags applied. Any flag on another model is an error.
    pub fn apply(&self, config: ModelConfig) -> Result<ModelConfig> {
        match config {
            ModelConfig::Koopman(c) => Ok(ModelConfig::Koopman(self.apply_koopman(c)?)),
            other if self.any() => Err(Error::Invalid(format!(
                "{}: these flags set the Koopman model and the model is {}",
                self.describe(),
                other.kind().name()
            ))),
            other => Ok(other),
        }
    }

    fn apply_koopman(&self, mut c: KoopmanConfig) -> Result<KoopmanConfig> {
        if let Some(m) = self.modes {
            if m == 0 {
                return Err(Error::Invalid(
                    "--modes 0: the latent needs at least one mode; use --modes 1 or more".into(),
                ));
            }
            c.modes = m;
            c.dt0 = default_dt0(m);
        }
        if let Some(v) = &self.mu {
            c.mu = parse_mu(v)?;
        }
        if let Some(v) = &self.omega {
            c.omega = parse_omega(v)?;
        }
        if let Some(dt) = self.dt0 {
            if !(dt.is_finite() && dt > 0.0) {
                return Err(Error::Invalid(format!(
                    "--dt0 {dt}: Δt must be a finite number above 0 (e.g. 0.01)"
                )));
            }
            c.dt0 = dt;
        }
        if self.fixed_dt {
            c.learn_dt = false;
        }
        if self.fixed_omega {
            c.learn_omega = false;
        }
        if let Some(w) = self.consistency_weight {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::Invalid(format!(
                    "--consistency-weight {w}: the weight must be a finite number ≥ 0"
                )));
            }
            c.consistency_weight = w;
        }
        if let Some(w) = self.recon_weight {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::Invalid(format!(
                    "--recon-weight {w}: the weight must be a finite number ≥ 0"
                )));
            }
            c.recon_weight = w;
        }
        Ok(c)
    }
}

fn number(flag: &str, text: &str, value: &str) -> Result<f64> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| Error::Invalid(format!("{flag} {text}: '{value}' is not a finite number")))
}

/// `fixed:V`, `learnable:V` or `bounded:LO:HI`; μ must be ≤ 0 (a growing mode explodes, Thm 3.1).
fn parse_mu(text: &str) -> Result<MuInit> {
    let parts: Vec<&str> = text.split(':').collect();
    let num = |v| number("--mu", text, v);
    let mu = match parts.as_slice() {
        ["fixed", v] => MuInit::Fixed(num(v)?),
        ["learnable", v] => MuInit::Learnable(num(v)?),
        ["bounded", lo, hi] => {
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo >= hi {
                return Err(Error::Invalid(format!(
                    "--mu {text}: the bounds must satisfy LO < HI"
                )));
            }
            MuInit::Bounded { lo, hi }
        }
        _ => {
            return Err(Error::Invalid(format!(
                "--mu {text}: expected fixed:V, learnable:V or bounded:LO:HI (e.g. fixed:-0.2)"
            )))
        }
    };
    let top = match mu {
        MuInit::Fixed(v) | MuInit::Learnable(v) => v,
        MuInit::Bounded { hi, .. } => hi,
    };
    if top > 0.0 {
        return Err(Error::Invalid(format!(
            "--mu {text}: μ above 0 makes |λ̄| > 1 and the rollout explodes; use μ ≤ 0"
        )));
    }
    Ok(mu)
}

/// `increasing[:α]`, `random[:α]` (α > 0) or `log:LO:HI` (0 < LO < HI ≤ 1).
fn parse_omega(text: &str) -> Result<OmegaInit> {
    if let Some(rest) = text.strip_prefix("log:") {
        let (lo, hi) = rest.split_once(':').ok_or_else(|| {
            Error::Invalid(format!(
                "--omega {text}: expected log:LO:HI, the per-step angles in units of π (e.g. log:0.003:1)"
            ))
        })?;
        let (lo, hi) = (number("--omega", text, lo)?, number("--omega", text, hi)?);
        if !(lo > 0.0 && lo < hi && hi <= 1.0) {
            return Err(Error::Invalid(format!(
                "--omega {text}: need 0 < LO < HI ≤ 1 (angles per step in units of π)"
            )));
        }
        return Ok(OmegaInit::LogSpaced { lo, hi });
    }
    let (kind, alpha) = match text.split_once(':') {
        Some((k, a)) => (k, number("--omega", text, a)?),
        None => (text, 1.0),
    };
    if alpha <= 0.0 {
        return Err(Error::Invalid(format!("--omega {text}: α must be above 0")));
    }
    match kind {
        "increasing" => Ok(OmegaInit::Increasing { alpha }),
        "random" => Ok(OmegaInit::Random { alpha }),
        _ => Err(Error::Invalid(format!(
            "--omega {text}: expected increasing[:α], random[:α] or log:LO:HI (e.g. increasing)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_preset_and_bad_values_are_named() {
        let f = KoopmanFlags {
            modes: Some(64),
            mu: Some("bounded:-0.3:-0.1".into()),
            omega: Some("random:0.5".into()),
            fixed_dt: true,
            ..Default::default()
        };
        let c = f.apply_koopman(KoopmanConfig::new(3, 1)).unwrap();
        assert_eq!(c.modes, 64);
        assert_eq!(c.dt0, 0.01);
        assert_eq!(c.mu, MuInit::Bounded { lo: -0.3, hi: -0.1 });
        assert_eq!(c.omega, OmegaInit::Random { alpha: 0.5 });
        assert!(!c.learn_dt && c.learn_omega);
        for (mu, needle) in [
            ("fixed:0.1", "μ ≤ 0"),
            ("bounded:-0.1:-0.3", "LO < HI"),
            ("learnable:x", "'x' is not a finite number"),
            ("free", "expected fixed:V"),
        ] {
            let e = KoopmanFlags {
                mu: Some(mu.into()),
                ..Default::default()
            }
            .check()
            .unwrap_err()
            .to_string();
            assert!(e.contains(needle), "{mu}: {e}");
        }
        let log = KoopmanFlags {
            omega: Some("log:0.003:1".into()),
            ..Default::default()
        };
        let c = log.apply_koopman(KoopmanConfig::new(3, 1)).unwrap();
        assert_eq!(c.omega, OmegaInit::LogSpaced { lo: 0.003, hi: 1.0 });
        let (eig, dt) = crate::models::KoopmanModel::new(c, 0).eigenvalues();
        let turn = |j: usize| eig[j].1 * dt / std::f64::consts::PI;
        assert!((turn(0) - 0.003).abs() < 1e-6 && (turn(511) - 1.0).abs() < 1e-5);
        assert!((turn(1) / turn(0) - turn(511) / turn(510)).abs() < 1e-4);
        for bad in ["log:0:1", "log:0.5:0.1", "log:0.1", "log:0.1:2"] {
            let f = KoopmanFlags {
                omega: Some(bad.into()),
                ..Default::default()
            };
            assert!(f.check().is_err(), "{bad} accepted");
        }
        let e = f
            .apply(ModelConfig::default_for(
                crate::models::ModelKind::Gru,
                3,
                1,
            ))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--modes 64") && e.contains("gru"), "{e}");
    }
}
