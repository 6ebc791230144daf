//! Learning-rate schedules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant(f64),
    /// Linear warm-up, then cosine decay from `peak` to `min` at step `total`.
    Cosine {
        peak: f64,
        min: f64,
        warmup: u64,
        total: u64,
    },
}

impl Schedule {
    pub fn lr(&self, step: u64) -> f64 {
        match *self {
            Schedule::Constant(lr) => lr,
            Schedule::Cosine {
                peak,
                min,
                warmup,
                total,
            } => {
                if step < warmup {
                    return peak * (step + 1) as f64 / warmup as f64;
                }
                let span = total.saturating_sub(warmup).max(1) as f64;
                let p = ((step - warmup) as f64 / span).min(1.0);
                min + 0.5 * (peak - min) * (1.0 + (std::f64::consts::PI * p).cos())
            }
        }
    }
}
