//! `koopman inspect`: the learned eigenvalues (modulus, frequency) and Δt of a Koopman checkpoint,
//! printed, and plotted where `--plot` asks.
use crate::checkpoint;
use crate::models::{KoopmanModel, ModelConfig, ModelInfo};
use crate::util::plot::{self, Chart, Kind, Series};
use crate::{Error, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[arg(long)]
    pub ckpt: PathBuf,
    /// Also write a PNG of the discrete eigenvalues λ̄ on the complex plane here (nothing is
    /// written unless asked).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// How many modes to list (all are plotted).
    #[arg(long, default_value_t = 16)]
    pub show: usize,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

pub fn run(a: &InspectArgs) -> Result<()> {
    super::cpu_only(&a.device, "inspect")?;
    super::input("--ckpt", &a.ckpt)?;
    if let Some(p) = &a.plot {
        super::output("--plot", p, &[&a.ckpt])?;
    }
    let loaded = checkpoint::load(&a.ckpt)?;
    let ModelConfig::Koopman(cfg) = loaded.meta.config.clone() else {
        return Err(Error::Invalid(format!(
            "{}: field 'config.model' is {}, only Koopman checkpoints have eigenvalues",
            a.ckpt.display(),
            loaded.meta.config.kind().name()
        )));
    };
    // Same configuration, so the same parameter names in the same order.
    let mut model = KoopmanModel::new(cfg, 0);
    *model.params_mut() = loaded.model.params().clone();
    let (eig, dt) = model.eigenvalues();
    println!("{}: {} modes, Δt = {dt:.6}", a.ckpt.display(), eig.len());
    println!(
        "{:>5} {:>10} {:>10} {:>10} {:>12}",
        "mode", "μ", "ω", "|λ̄|", "ω·Δt (rad)"
    );
    let mut disc = Vec::with_capacity(eig.len());
    for (j, &(mu, om)) in eig.iter().enumerate() {
        let (r, th) = ((mu * dt).exp(), om * dt);
        disc.push((r * th.cos(), r * th.sin()));
        if j < a.show {
            println!("{j:>5} {mu:>10.4} {om:>10.4} {r:>10.5} {th:>12.5}");
        }
    }
    if eig.len() > a.show {
        println!("  ... {} more", eig.len() - a.show);
    }
    let Some(png) = &a.plot else {
        return Ok(());
    };
    let chart = Chart {
        title: "discrete eigenvalues",
        x_label: "Re",
        y_label: "Im",
        log_y: false,
        kind: Kind::Points,
    };
    plot::write_png(
        png,
        &chart,
        &[Series {
            name: "eigenvalues",
            points: &disc,
        }],
        Some((0.0, 0.0, 1.0)),
    )
    .map_err(|e| Error::io(png, e))?;
    println!("plot: {}", png.display());
    Ok(())
}
