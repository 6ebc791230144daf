//! Where and when a benchmark ran: CPU model and SIMD flags, rayon threads, git commit, UTC time.
//! Figures are meaningless without these, so every report carries them.
use crate::backend::Device;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// The SIMD features that decide which GEMM and elementwise code paths run.
const FLAGS_OF_INTEREST: [&str; 8] = [
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_fp16",
    "avx512_bf16",
    "amx_tile",
];

#[derive(Clone, Debug)]
pub struct Host {
    pub cpu_model: String,
    pub flags: Vec<String>,
    pub logical_cpus: usize,
    pub rayon_threads: usize,
    pub commit: String,
    pub utc: String,
    /// Where training steps run (`Host::detect` says the CPU; `bench` sets it from `--device`).
    pub device: Device,
    /// Matmul arithmetic: "fp32" unless `--precision` chose tf32 or bf16 (CUDA only).
    pub precision: String,
}

impl Host {
    /// Never fails: anything that cannot be read is reported as "unknown".
    pub fn detect() -> Host {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            info.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        let all_flags = field("flags").unwrap_or_default();
        let flags = FLAGS_OF_INTEREST
            .iter()
            .filter(|f| all_flags.split_whitespace().any(|x| x == **f))
            .map(|f| f.to_string())
            .collect();
        Host {
            cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
            flags,
            logical_cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            rayon_threads: rayon::current_num_threads(),
            commit: git_commit().unwrap_or_else(|| "unknown (not embedded at build time)".into()),
            utc: utc_now(),
            device: Device::Cpu,
            precision: "fp32".into(),
        }
    }

    /// "device: cpu (N rayon threads)" plus the CPU, for the top of a printed report.
    pub fn banner(&self) -> String {
        format!(
            "device: {} ({} rayon threads) — {} [{}], {} logical CPUs, {}, commit {}, {}",
            self.device_label(),
            self.rayon_threads,
            self.cpu_model,
            self.flags.join(" "),
            self.logical_cpus,
            self.precision,
            self.commit,
            self.utc
        )
    }

    /// "cpu", or "cuda <GPU name> <arch>".
    pub fn device_label(&self) -> String {
        self.device.label()
    }

    pub fn to_json(&self) -> Value {
        Value::from_iter([
            ("device", Value::from(self.device_label())),
            ("cpu_model", Value::from(self.cpu_model.as_str())),
            (
                "flags",
                Value::Array(self.flags.iter().map(|s| Value::from(s.as_str())).collect()),
            ),
            ("logical_cpus", self.logical_cpus.into()),
            ("rayon_threads", self.rayon_threads.into()),
            ("precision", Value::from(self.precision.as_str())),
            ("commit", Value::from(self.commit.as_str())),
            ("utc", Value::from(self.utc.as_str())),
        ])
    }
}

/// The commit the binary was built from, embedded at build time as `KOOPMAN_GIT_COMMIT` (by
/// `build.rs`, or set by hand when building outside git). Never the run-time directory's commit:
/// `bench` may run anywhere, and the figures belong to the code that was compiled.
fn git_commit() -> Option<String> {
    option_env!("KOOPMAN_GIT_COMMIT")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
}

/// ISO 8601 UTC from the system clock, without a date-time dependency.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
