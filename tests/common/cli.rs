//! Helpers for tests that run the `koopman` binary: scratch folders, runs with a time limit (and
//! optionally a memory limit), small valid datasets and checkpoints.
#![allow(dead_code)]
use koopman::data::npy::NpyArray;
use koopman::data::npz;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test; `KOOPMAN_BIN` runs the same tests against another build (e.g. an older
/// commit, to see them fail there).
pub fn bin() -> String {
    std::env::var("KOOPMAN_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_koopman").to_string())
}

/// A scratch folder removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("koopman-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
    /// File names in the folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run gave.
#[derive(Debug)]
pub struct Out {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub secs: f64,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
    /// Exited with code 1 (an error), not a panic (101), an abort (134) or a kill, in time.
    pub fn assert_clean_error(&self, what: &str) {
        let code = self.status.and_then(|s| s.code());
        assert_eq!(
            code,
            Some(1),
            "{what}: expected exit code 1, got {:?} after {:.1}s; stderr: {}",
            self.status,
            self.secs,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("memory allocation"),
            "{what}: {}",
            self.stderr
        );
    }
}

/// Runs the binary with `args` in `dir`, killing it after `limit` (then `status` is `None`).
/// With `mem_kb`, the address space is limited (`ulimit -v`), so a huge allocation aborts
/// instead of exhausting the machine.
pub fn run_in(dir: &Path, args: &[&str], limit: Duration, mem_kb: Option<u64>) -> Out {
    let mut cmd = match mem_kb {
        Some(kb) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -v {kb}; exec \"$0\" \"$@\""))
                .arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_cmd(cmd, limit)
}

pub fn run_cmd(mut cmd: Command, limit: Duration) -> Out {
    let t0 = Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let he = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Out {
        status,
        stdout: ho.join().unwrap(),
        stderr: he.join().unwrap(),
        secs: t0.elapsed().as_secs_f64(),
    }
}

pub fn run(dir: &Path, args: &[&str]) -> Out {
    run_in(dir, args, Duration::from_secs(120), None)
}

/// Runs and expects a clean error (exit 1, no panic) within 60 s; returns stderr.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let o = run_in(dir, args, Duration::from_secs(60), None);
    o.assert_clean_error(&format!("{args:?}"));
    o.stderr
}

/// Runs and expects success; returns stdout.
pub fn succeeds(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(o.ok(), "{args:?} failed: {:?}\n{}", o.status, o.stderr);
    o.stdout
}

/// A valid small dataset: 3 episodes over `n` rows, obs 3, act 1.
pub fn arrays(n: usize) -> Vec<(&'static str, NpyArray)> {
    let obs: Vec<f32> = (0..n * 3).map(|i| (i as f32 * 0.37).sin()).collect();
    let act: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
    let rew: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut term = vec![false; n];
    let mut tout = vec![false; n];
    if n >= 3 {
        term[n / 3 - 1] = true;
        tout[2 * n / 3 - 1] = true;
        tout[n - 1] = true;
    }
    vec![
        ("observations", NpyArray::from_f32(vec![n, 3], &obs)),
        ("actions", NpyArray::from_f32(vec![n, 1], &act)),
        ("rewards", NpyArray::from_f32(vec![n], &rew)),
        ("terminals", NpyArray::from_bool(vec![n], &term)),
        ("timeouts", NpyArray::from_bool(vec![n], &tout)),
    ]
}

/// Writes `arrays(120)` to `dir/name`.
pub fn dataset(dir: &Scratch, name: &str) -> String {
    let p = dir.path(name);
    npz::write_arrays(&p, &arrays(120)).unwrap();
    p.display().to_string()
}

/// The arguments of a 2-step small Koopman training run from `data` to `out` on the CPU.
pub fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--out",
        out,
        "--steps",
        "2",
        "--batch",
        "4",
        "--horizon",
        "5",
        "--preset",
        "small",
        "--device",
        "cpu",
    ]
}

/// Trains a small Koopman checkpoint for 2 steps on `data`.
pub fn checkpoint(dir: &Scratch, data: &str, name: &str) -> String {
    let out = dir.s(name);
    succeeds(&dir.0, &train_args(data, &out));
    out
}

/// The directory holds no temporary file of an atomic write.
pub fn assert_no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            !name.ends_with(".tmp"),
            "left behind: {}",
            dir.join(name).display()
        );
    }
}
