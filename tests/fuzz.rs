//! Seeded fuzzing of every file the binary reads: a few hundred truncated and byte-flipped `.npz`,
//! `.hdf5` and `.safetensors` files, made here from valid ones, each given to `koopman eval`. Every
//! case must end within its time limit and inside a 2 GB address space, either successfully (a
//! harmless mutation) or with exit code 1 and a message naming the file; nothing may be left
//! behind. Deterministic: the seed fixes every mutation.
#[path = "common/cli.rs"]
mod common;

use common::*;
use koopman::util::rng::Rng;
use std::time::{Duration, Instant};

/// Cases per base file.
const CASES: usize = 100;
const SEED: u64 = 0x5EED_F022;

/// A truncation (to any length, often close to the end) or 1–8 flipped bytes.
fn mutate(base: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    if rng.below(2) == 0 {
        let len = if rng.below(2) == 0 {
            rng.below(base.len())
        } else {
            base.len() - 1 - rng.below(base.len().min(256))
        };
        (base[..len].to_vec(), format!("truncated to {len}"))
    } else {
        let mut b = base.to_vec();
        let n = 1 + rng.below(8);
        let mut at = Vec::new();
        for _ in 0..n {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
            at.push(i);
        }
        (b, format!("bits flipped at {at:?}"))
    }
}

#[test]
fn mutated_files_fail_cleanly() {
    let d = Scratch::new("fuzz");
    let data = dataset(&d, "good.npz");
    let ckpt = checkpoint(&d, &data, "good.safetensors");
    let npz = std::fs::read(&data).unwrap();
    let st = std::fs::read(&ckpt).unwrap();
    let mut bases: Vec<(&str, Vec<u8>)> = vec![("npz", npz), ("safetensors", st)];
    if cfg!(feature = "hdf5") {
        let h5 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/d4rl_tiny_nonext.hdf5");
        bases.push(("hdf5", std::fs::read(h5).unwrap()));
    }
    let keep = d.names();
    let mut rng = Rng::new(SEED);
    let t0 = Instant::now();
    let (mut clean_errors, mut loaded) = (0, 0);
    for (ext, base) in &bases {
        for i in 0..CASES {
            let (bytes, how) = mutate(base, &mut rng);
            let name = format!("case{i}.{ext}");
            std::fs::write(d.path(&name), &bytes).unwrap();
            let args: Vec<&str> = if *ext == "safetensors" {
                vec!["eval", "--data", "good.npz", "--ckpt", &name]
            } else {
                vec!["eval", "--data", &name, "--ckpt", "good.safetensors"]
            };
            let args = [&args[..], &["--horizon", "5", "--windows", "4"]].concat();
            let o = run_in(&d.0, &args, Duration::from_secs(10), Some(2_000_000));
            let what = format!("{name} ({how})");
            assert!(o.status.is_some(), "{what}: no answer in 10 s (hang)");
            if o.ok() {
                loaded += 1;
            } else {
                o.assert_clean_error(&what);
                assert!(
                    o.stderr.contains(&name),
                    "{what}: the error does not name the file: {}",
                    o.stderr
                );
                clean_errors += 1;
            }
            std::fs::remove_file(d.path(&name)).unwrap();
            assert_eq!(d.names(), keep, "{what}: files left behind");
        }
    }
    println!(
        "{} cases in {:.1}s: {clean_errors} clean errors, {loaded} harmless mutations",
        bases.len() * CASES,
        t0.elapsed().as_secs_f64()
    );
    assert!(
        clean_errors > bases.len() * CASES / 2,
        "too few mutations were caught"
    );
}
