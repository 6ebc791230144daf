//! The binary against a careless or hostile user: special files, outputs that would destroy inputs,
//! damaged or edited checkpoints, huge numbers, late discovery, resume contradictions, messages and
//! side outputs. Each test is named after the finding it covers (issue "Hostile inputs and honest
//! outputs"); every failure must be a clean error (exit 1, no panic, no abort) in seconds.
#[path = "common/cli.rs"]
mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Finding 1: a FIFO, a device node or a directory at an output path is an error and stays as it
/// was; a symlink is followed (its target replaced atomically, the link kept).
#[test]
fn f01_outputs_are_never_renamed_over_special_files() {
    use std::os::unix::fs::FileTypeExt;
    let d = Scratch::new("f01");
    let data = dataset(&d, "d.npz");
    let fifo = d.path("fifo.safetensors");
    mkfifo(&fifo);
    let e = fails(&d.0, &train_args(&data, &fifo.display().to_string()));
    assert!(e.contains("fifo.safetensors") && e.contains("FIFO"), "{e}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    let e = fails(&d.0, &train_args(&data, "."));
    assert!(e.contains("folder"), "{e}");
    std::fs::create_dir(d.path("sub")).unwrap();
    let e = fails(&d.0, &train_args(&data, "sub"));
    assert!(e.contains("sub") && e.contains("directory"), "{e}");
    assert!(d.path("sub").is_dir());

    if is_root() {
        // A copy of /dev/null's device node (1, 3) in the scratch folder.
        let node = d.path("null.json");
        let made = Command::new("mknod")
            .args([node.to_str().unwrap(), "c", "1", "3"])
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let ckpt = checkpoint(&d, &data, "k.safetensors");
            let e = fails(
                &d.0,
                &[
                    "eval",
                    "--data",
                    &data,
                    "--ckpt",
                    &ckpt,
                    "--horizon",
                    "5",
                    "--windows",
                    "4",
                    "--json",
                    "null.json",
                ],
            );
            assert!(
                e.contains("null.json") && e.contains("character device"),
                "{e}"
            );
            assert!(std::fs::metadata(&node)
                .unwrap()
                .file_type()
                .is_char_device());
        }
    }

    // A symlink at --out: its target is replaced, the link stays a link.
    std::fs::create_dir(d.path("real")).unwrap();
    std::fs::write(d.path("real/k.safetensors"), b"old").unwrap();
    std::os::unix::fs::symlink("real/k.safetensors", d.path("link.safetensors")).unwrap();
    succeeds(&d.0, &train_args(&data, "link.safetensors"));
    let link = std::fs::symlink_metadata(d.path("link.safetensors")).unwrap();
    assert!(link.file_type().is_symlink());
    let target = std::fs::read(d.path("real/k.safetensors")).unwrap();
    assert!(target.len() > 1000, "the link's target was not replaced");
    koopman::checkpoint::load(&d.path("link.safetensors")).unwrap();
    assert_no_temp_files(&d.0);
    assert_no_temp_files(&d.path("real"));
}

/// Finding 2: an output that is the same file as an input (by device and inode: same name, a
/// hard link, another spelling) is refused and the input is untouched.
#[test]
fn f02_an_output_that_is_an_input_is_refused() {
    let d = Scratch::new("f02");
    let data = dataset(&d, "same.npz");
    let before = std::fs::read(&data).unwrap();
    let e = fails(&d.0, &train_args(&data, &data));
    assert!(e.contains("same.npz") && e.contains("same file"), "{e}");
    std::fs::hard_link(&data, d.path("alias.npz")).unwrap();
    let e = fails(&d.0, &train_args(&data, "./alias.npz"));
    assert!(e.contains("alias.npz") && e.contains("same file"), "{e}");
    assert_eq!(std::fs::read(&data).unwrap(), before, "the dataset changed");

    let ckpt = checkpoint(&d, &data, "J.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    let e = fails(
        &d.0,
        &[
            "eval",
            "--data",
            &data,
            "--ckpt",
            &ckpt,
            "--horizon",
            "5",
            "--windows",
            "4",
            "--json",
            &ckpt,
        ],
    );
    assert!(
        e.contains("J.safetensors") && e.contains("same file"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        before,
        "the checkpoint changed"
    );
    let e = fails(
        &d.0,
        &["inspect", "--ckpt", &ckpt, "--plot", "J.safetensors"],
    );
    assert!(e.contains("same file"), "{e}");
}

/// An edit of a checkpoint's metadata.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

/// Rewrites a checkpoint's `koopman` metadata through `edit`, keeping the tensors.
fn edit_meta(src: &str, dst: &Path, edit: impl Fn(&mut serde_json::Value)) {
    use safetensors::tensor::{SafeTensors, TensorView};
    let bytes = std::fs::read(src).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut info = header.metadata().clone().unwrap();
    let mut meta: serde_json::Value = serde_json::from_str(&info["koopman"]).unwrap();
    edit(&mut meta);
    info.insert("koopman".into(), meta.to_string());
    let views: Vec<(String, TensorView)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            let v = TensorView::new(v.dtype(), v.shape().to_vec(), v.data()).unwrap();
            (n, v)
        })
        .collect();
    let out = safetensors::tensor::serialize(views, Some(info)).unwrap();
    std::fs::write(dst, out).unwrap();
}

/// Finding 3: checkpoint metadata is checked against the tensor shapes before a model is built, in
/// `inspect`, `eval` and `train --resume`; no abort, no capacity-overflow panic, no gigabytes.
#[test]
fn f03_checkpoint_metadata_is_checked_before_allocation() {
    let d = Scratch::new("f03");
    let data = dataset(&d, "d.npz");
    let good = checkpoint(&d, &data, "good.safetensors");
    let edits: Vec<(&str, Edit)> = vec![
        (
            "modes",
            Box::new(|m| m["config"]["modes"] = 1_000_000_000u64.into()),
        ),
        (
            "modes",
            Box::new(|m| m["config"]["modes"] = (1u64 << 62).into()),
        ),
        (
            "enc_hidden",
            Box::new(|m| m["config"]["enc_hidden"] = serde_json::json!([1e12 as u64])),
        ),
        (
            "obs_dim",
            Box::new(|m| m["config"]["obs_dim"] = 1_000_000u64.into()),
        ),
        ("modes", Box::new(|m| m["config"]["modes"] = 0u64.into())),
    ];
    for (i, (field, edit)) in edits.iter().enumerate() {
        let name = format!("bad{i}.safetensors");
        let bad = d.path(&name);
        edit_meta(&good, &bad, edit);
        let b = bad.display().to_string();
        let cases: Vec<Vec<&str>> = vec![
            vec!["inspect", "--ckpt", &b],
            vec![
                "eval",
                "--data",
                &data,
                "--ckpt",
                &b,
                "--horizon",
                "5",
                "--windows",
                "4",
            ],
            vec![
                "train",
                "--data",
                &data,
                "--out",
                &b,
                "--steps",
                "4",
                "--batch",
                "4",
                "--horizon",
                "5",
                "--preset",
                "small",
                "--resume",
            ],
        ];
        for args in cases {
            // 2 GB of address space: an attempt at the old allocations aborts rather than passes.
            let o = run_in(&d.0, &args, Duration::from_secs(30), Some(2_000_000));
            o.assert_clean_error(&format!("{field}: {args:?}"));
            assert!(
                o.stderr.contains(&name) && o.stderr.contains("config"),
                "{field}: {args:?}: {}",
                o.stderr
            );
        }
    }
}

/// Finding 3: normalisation statistics of the wrong width are an error naming the field, not a
/// silently misaligned evaluation.
#[test]
fn f03_checkpoint_normalization_must_fit_the_model() {
    let d = Scratch::new("f03norm");
    let data = dataset(&d, "d.npz");
    let good = checkpoint(&d, &data, "good.safetensors");
    let bad = d.path("bad.safetensors");
    edit_meta(&good, &bad, |m| {
        m["normalization"]["obs_mean"] = serde_json::json!([0.0]);
        m["normalization"]["obs_std"] = serde_json::json!([1.0]);
    });
    let e = fails(
        &d.0,
        &[
            "eval",
            "--data",
            &data,
            "--ckpt",
            "bad.safetensors",
            "--horizon",
            "5",
            "--windows",
            "4",
        ],
    );
    assert!(
        e.contains("bad.safetensors") && e.contains("normalization"),
        "{e}"
    );
}

/// Finding 3: a checksum of the tensor data is stored and verified; a flipped bit in the data
/// region is an error naming the file, not a silently different model.
#[test]
fn f03_checkpoint_data_bit_flips_are_detected() {
    let d = Scratch::new("f03crc");
    let data = dataset(&d, "d.npz");
    let good = checkpoint(&d, &data, "good.safetensors");
    let bytes = std::fs::read(&good).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 8;
    let data_len = bytes.len() - header;
    for k in 0..40 {
        let mut b = bytes.clone();
        let at = header + (k * 7919 + 13) % data_len;
        b[at] ^= 1 << (k % 8);
        let p = d.path(&format!("flip{k}.safetensors"));
        std::fs::write(&p, &b).unwrap();
        let e = match koopman::checkpoint::load(&p) {
            Ok(_) => panic!("a flipped bit at byte {at} loaded silently"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(&format!("flip{k}.safetensors")), "{e}");
    }
}

/// Finding 4: a FIFO or a symlink to /dev/zero or /dev/urandom as `--data` or `--ckpt` is an
/// error at once, not a blocked open or a read until memory runs out.
#[test]
fn f04_inputs_must_be_regular_files() {
    let d = Scratch::new("f04");
    let data = dataset(&d, "d.npz");
    let ckpt = checkpoint(&d, &data, "k.safetensors");
    mkfifo(&d.path("fifo.npz"));
    mkfifo(&d.path("fifo.safetensors"));
    std::os::unix::fs::symlink("/dev/zero", d.path("zero.hdf5")).unwrap();
    std::os::unix::fs::symlink("/dev/urandom", d.path("random.hdf5")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.path("zero.safetensors")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (train_args("fifo.npz", "o.safetensors"), "fifo.npz"),
        (train_args("zero.hdf5", "o.safetensors"), "zero.hdf5"),
        (train_args("random.hdf5", "o.safetensors"), "random.hdf5"),
        (
            vec![
                "eval",
                "--data",
                &data,
                "--ckpt",
                "fifo.safetensors",
                "--horizon",
                "5",
            ],
            "fifo.safetensors",
        ),
        (
            vec!["inspect", "--ckpt", "zero.safetensors"],
            "zero.safetensors",
        ),
        (
            vec![
                "eval",
                "--data",
                "zero.hdf5",
                "--ckpt",
                &ckpt,
                "--horizon",
                "5",
            ],
            "zero.hdf5",
        ),
    ];
    for (args, name) in cases {
        let o = run_in(&d.0, &args, Duration::from_secs(10), Some(2_000_000));
        o.assert_clean_error(&format!("{args:?}"));
        assert!(
            o.stderr.contains(name) && o.stderr.contains("regular file"),
            "{args:?}: {}",
            o.stderr
        );
        assert!(o.secs < 5.0, "{args:?} took {:.1}s", o.secs);
    }
    // Through the library too: loaders check their inputs themselves.
    let e = koopman::data::load(&d.path("fifo.npz"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("fifo.npz") && e.contains("FIFO"), "{e}");
    assert!(!d.path("o.safetensors").exists());
}

/// Finding 5: huge sizes are refused up front with the memory they would need; no allocation
/// abort, no capacity-overflow panic.
#[test]
fn f05_huge_numbers_are_refused_up_front() {
    let d = Scratch::new("f05");
    let data = dataset(&d, "d.npz");
    for batch in ["--batch=1000000000", "--batch=9223372036854775808"] {
        let mut args = train_args(&data, "o.safetensors");
        args.retain(|a| *a != "--batch" && *a != "4");
        args.push(batch);
        let o = run_in(&d.0, &args, Duration::from_secs(20), Some(4_000_000));
        o.assert_clean_error(batch);
        assert!(
            o.stderr.contains("memory") && o.stderr.contains("--batch"),
            "{batch}: {}",
            o.stderr
        );
    }
    let o = run_in(
        &d.0,
        &["oscillator", "--horizon", "100000", "--device", "cpu"],
        Duration::from_secs(20),
        Some(4_000_000),
    );
    o.assert_clean_error("oscillator --horizon 100000");
    assert!(o.stderr.contains("--horizon 100000"), "{}", o.stderr);
    for args in [
        &["bench", "--batch", "100000000", "--device", "cpu"][..],
        &[
            "bench",
            "--planner",
            "--starts",
            "64",
            "--candidates",
            "1000000000000",
            "--device",
            "cpu",
        ],
        &[
            "bench",
            "--planner",
            "--candidates",
            "18446744073709551615",
            "--device",
            "cpu",
        ],
    ] {
        let o = run_in(&d.0, args, Duration::from_secs(20), Some(4_000_000));
        o.assert_clean_error(&format!("{args:?}"));
        assert!(o.stderr.contains("memory"), "{args:?}: {}", o.stderr);
    }
    assert!(!d.path("o.safetensors").exists());
}

/// The D4RL fixture with a 512-byte user block in front (as h5py's `userblock_size=512` writes
/// it: base address 512, end-of-file address absolute).
#[cfg(feature = "hdf5")]
fn with_user_block() -> Vec<u8> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/d4rl_tiny.hdf5");
    let b = std::fs::read(fixture).unwrap();
    let mut out = vec![0u8; 512];
    out.extend_from_slice(&b);
    let len = out.len() as u64;
    out[512 + 24..512 + 32].copy_from_slice(&512u64.to_le_bytes());
    out[512 + 40..512 + 48].copy_from_slice(&len.to_le_bytes());
    out
}

/// Finding 6: shapes, the output folder and the device are checked before loading or training;
/// a file that is not HDF5 is refused before it is read; a user block is read.
#[cfg(feature = "hdf5")]
#[test]
fn f06_problems_are_found_before_the_work() {
    let d = Scratch::new("f06");
    let data = dataset(&d, "d.npz");

    // Observations declared with 50M rows (unwritten chunks), other keys 300: refused from the
    // header, within a 1 GB address space (the old code allocated 2.2 GB first).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/d4rl_tiny.hdf5");
    let mut b = std::fs::read(fixture).unwrap();
    let mut pat = 300u64.to_le_bytes().to_vec();
    pat.extend_from_slice(&11u64.to_le_bytes());
    let at = b.windows(16).position(|w| w == pat.as_slice()).unwrap();
    b[at..at + 8].copy_from_slice(&50_000_000u64.to_le_bytes());
    // Max dims, when present, follow the dims; raise them too.
    if b[at + 16..at + 32] == pat[..] {
        b[at + 16..at + 24].copy_from_slice(&50_000_000u64.to_le_bytes());
    }
    b.resize(8 << 20, 0);
    std::fs::write(d.path("huge.hdf5"), &b).unwrap();
    let o = run_in(
        &d.0,
        &train_args("huge.hdf5", "o.safetensors"),
        Duration::from_secs(20),
        Some(1_000_000),
    );
    o.assert_clean_error("huge.hdf5");
    assert!(
        o.stderr.contains("huge.hdf5") && o.stderr.contains("inconsistent"),
        "{}",
        o.stderr
    );

    // The same in an .npz: 400 MB of zeros as `observations` (deflated to ~400 KB), other keys
    // 120 rows: refused from the .npy headers before anything is decompressed.
    {
        use std::io::Write;
        let rows = 100_000_000 / 3;
        let f = std::fs::File::create(d.path("huge.npz")).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let header = koopman::data::npy::NpyArray {
            descr: "<f4".into(),
            shape: vec![rows, 3],
            data: vec![],
        }
        .to_npy_bytes();
        z.start_file("observations.npy", opts).unwrap();
        z.write_all(&header).unwrap();
        let zeros = vec![0u8; 1 << 20];
        let mut left = rows * 3 * 4;
        while left > 0 {
            let n = left.min(zeros.len());
            z.write_all(&zeros[..n]).unwrap();
            left -= n;
        }
        for (key, arr) in arrays(120).into_iter().skip(1) {
            z.start_file(format!("{key}.npy"), opts).unwrap();
            z.write_all(&arr.to_npy_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    let o = run_in(
        &d.0,
        &train_args("huge.npz", "o.safetensors"),
        Duration::from_secs(20),
        Some(300_000),
    );
    o.assert_clean_error("huge.npz");
    assert!(
        o.stderr.contains("huge.npz") && o.stderr.contains("inconsistent"),
        "{}",
        o.stderr
    );

    // A 2 GB sparse file named .hdf5: refused from its first bytes.
    let f = std::fs::File::create(d.path("sparse.hdf5")).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    let o = run_in(
        &d.0,
        &train_args("sparse.hdf5", "o.safetensors"),
        Duration::from_secs(20),
        Some(1_000_000),
    );
    o.assert_clean_error("sparse.hdf5");
    assert!(o.stderr.contains("signature"), "{}", o.stderr);
    std::fs::remove_file(d.path("sparse.hdf5")).unwrap();

    // A missing output folder: reported before anything is trained.
    let o = run(&d.0, &train_args(&data, "no/such/k.safetensors"));
    o.assert_clean_error("missing folder");
    assert!(o.stderr.contains("no/such"), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "work started: {}", o.stdout);

    // --device cuda without a GPU: rejected before the (damaged) dataset is opened.
    if koopman::backend::Device::select("cuda").is_err() {
        std::fs::write(d.path("junk.npz"), b"junk").unwrap();
        let mut args = train_args("junk.npz", "o.safetensors");
        let i = args.iter().position(|a| *a == "cpu").unwrap();
        args[i] = "cuda";
        let e = fails(&d.0, &args);
        assert!(e.contains("device") && !e.contains("junk.npz"), "{e}");
    }

    // A valid HDF5 file with a user block loads, equal to the plain one.
    std::fs::write(d.path("ub.hdf5"), with_user_block()).unwrap();
    let ub = koopman::data::load(&d.path("ub.hdf5")).unwrap();
    let plain = koopman::data::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/d4rl_tiny.hdf5"),
    )
    .unwrap();
    assert_eq!(ub.observations, plain.observations);
    assert_eq!(ub.rewards, plain.rewards);
    assert_eq!(ub.terminals, plain.terminals);
}

/// VmRSS of a process in KB.
fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Finding 7: `collect` with a huge episode count says up front how big the output gets, shows
/// progress, and streams episodes to disk (memory stays flat); killed, it leaves nothing behind.
#[test]
fn f07_collect_streams_with_an_estimate_and_progress() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let d = Scratch::new("f07");
    let mut child = Command::new(bin())
        .args([
            "collect",
            "--env",
            "pendulum-swingup",
            "--episodes",
            "1000000",
            "--out",
            "big.npz",
        ])
        .current_dir(&d.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let t0 = std::time::Instant::now();
    let mut max_rss = 0;
    while t0.elapsed() < Duration::from_secs(30)
        && lines
            .iter()
            .filter(|l: &&String| l.starts_with("progress:"))
            .count()
            < 2
    {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
        }
        max_rss = max_rss.max(rss_kb(pid).unwrap_or(0));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = lines.join("\n");
    assert!(
        text.contains("1000000 episodes") && text.contains("GB"),
        "no size estimate: {text}"
    );
    assert!(
        lines.iter().filter(|l| l.starts_with("progress:")).count() >= 2,
        "no progress in 30 s: {text}"
    );
    assert!(
        max_rss < 300_000,
        "memory grew to {max_rss} KB while collecting"
    );
    assert!(d.names().is_empty(), "left behind: {:?}", d.names());
}

/// Finding 8: with stderr not a terminal, training prints plain periodic progress lines.
#[test]
fn f08_progress_lines_without_a_terminal() {
    let d = Scratch::new("f08");
    let data = dataset(&d, "d.npz");
    let mut args = train_args(&data, "k.safetensors");
    let i = args.iter().position(|a| *a == "2").unwrap();
    args[i] = "30";
    let o = run(&d.0, &args);
    assert!(o.ok(), "{}", o.stderr);
    let n = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("progress: step"))
        .count();
    assert!(n >= 5, "{n} progress lines: {}", o.stderr);
    assert!(o.stderr.contains("it/s"), "{}", o.stderr);
}

/// Finding 9: each write uses its own temporary file: a leftover `X.tmp` (the old shared name,
/// here a directory) does not break a run, and two runs on one `--out` both finish.
#[test]
fn f09_temporary_files_are_unique() {
    let d = Scratch::new("f09");
    let data = dataset(&d, "d.npz");
    std::fs::create_dir(d.path("k.safetensors.tmp")).unwrap();
    succeeds(&d.0, &train_args(&data, "k.safetensors"));
    koopman::checkpoint::load(&d.path("k.safetensors")).unwrap();
    std::fs::remove_dir(d.path("k.safetensors.tmp")).unwrap();

    let mut args = train_args(&data, "two.safetensors");
    let i = args.iter().position(|a| *a == "2").unwrap();
    args[i] = "40";
    args.extend(["--ckpt-every", "1"]);
    let spawn = || {
        let mut c = Command::new(bin());
        c.args(&args).current_dir(&d.0);
        c
    };
    let (a, b) = (spawn(), spawn());
    let ta = std::thread::spawn(move || run_cmd(a, Duration::from_secs(120)));
    let tb = std::thread::spawn(move || run_cmd(b, Duration::from_secs(120)));
    for o in [ta.join().unwrap(), tb.join().unwrap()] {
        assert!(o.ok(), "a concurrent run failed: {}", o.stderr);
    }
    koopman::checkpoint::load(&d.path("two.safetensors")).unwrap();
    assert_no_temp_files(&d.0);
}

/// Finding 10: a resume says what happens and refuses what contradicts the checkpoint.
#[test]
fn f10_resume_semantics() {
    let d = Scratch::new("f10");
    let data = dataset(&d, "d.npz");
    let base = |steps: &'static str| {
        vec![
            "train",
            "--data",
            "d.npz",
            "--out",
            "k.safetensors",
            "--steps",
            steps,
            "--batch",
            "4",
            "--horizon",
            "5",
            "--preset",
            "small",
            "--device",
            "cpu",
            "--lr",
            "0.001",
        ]
    };
    let _ = data;
    // --resume without a checkpoint: says it starts from step 0.
    let mut args = base("4");
    args.push("--resume");
    let o = run(&d.0, &args);
    assert!(o.ok(), "{}", o.stderr);
    assert!(
        o.stderr.contains("no checkpoint") && o.stderr.contains("step 0"),
        "{}",
        o.stderr
    );
    // Already at --steps: nothing trained, the file unchanged, no NaN.
    let before = std::fs::read(d.path("k.safetensors")).unwrap();
    let o = run(&d.0, &args);
    assert!(o.ok(), "{}", o.stderr);
    assert!(o.stdout.contains("nothing to train"), "{}", o.stdout);
    assert!(!o.stdout.contains("NaN"), "{}", o.stdout);
    assert_eq!(std::fs::read(d.path("k.safetensors")).unwrap(), before);
    // Contradicting settings are refused, naming the field.
    for (flag, value, field) in [
        ("--horizon", "6", "horizon"),
        ("--batch", "8", "batch"),
        ("--lr", "0.002", "lr"),
        ("--preset", "default", "config"),
    ] {
        let mut a = base("8");
        let i = a.iter().position(|x| *x == flag).unwrap();
        a[i + 1] = value;
        a.push("--resume");
        let e = fails(&d.0, &a);
        assert!(
            e.contains("k.safetensors") && e.contains(field),
            "{flag}: {e}"
        );
    }
    assert_eq!(std::fs::read(d.path("k.safetensors")).unwrap(), before);
    // A real continuation counts only its own steps.
    let mut a = base("6");
    a.push("--resume");
    let o = run(&d.0, &a);
    assert!(o.ok(), "{}", o.stderr);
    assert!(
        o.stdout.contains("done: 6 steps (2 this run)"),
        "{}",
        o.stdout
    );
}

/// Finding 11: messages say what is wrong, with what, and what to do.
#[test]
fn f11_messages() {
    let d = Scratch::new("f11");
    let data = dataset(&d, "d.npz");
    // One episode.
    let mut one = arrays(60);
    one[3].1 = koopman::data::npy::NpyArray::from_bool(vec![60], &[false; 60]);
    let mut tout = vec![false; 60];
    tout[59] = true;
    one[4].1 = koopman::data::npy::NpyArray::from_bool(vec![60], &tout);
    koopman::data::npz::write_arrays(&d.path("one.npz"), &one).unwrap();
    let e = fails(&d.0, &train_args("one.npz", "o.safetensors"));
    assert!(
        e.contains("one.npz") && e.contains("1 episode") && e.contains("at least 2"),
        "{e}"
    );

    // --horizon 0, in train and eval.
    let mut a = train_args(&data, "o.safetensors");
    let i = a.iter().position(|x| *x == "5").unwrap();
    a[i] = "0";
    let e = fails(&d.0, &a);
    assert!(e.contains("--horizon 0"), "{e}");
    let ckpt = checkpoint(&d, &data, "k.safetensors");
    let e = fails(
        &d.0,
        &["eval", "--data", &data, "--ckpt", &ckpt, "--horizon", "0"],
    );
    assert!(e.contains("--horizon 0") && !e.contains("broadcast"), "{e}");

    // Learning rates.
    for lr in ["nan", "inf", "1e300", "-1", "0"] {
        let mut a = train_args(&data, "o.safetensors");
        let flag = format!("--lr={lr}");
        a.push(&flag);
        let e = fails(&d.0, &a);
        assert!(
            e.contains("--lr") && e.contains("learning rate"),
            "{lr}: {e}"
        );
    }

    // An HDF5 group where a key should be: said so, not "missing key". The fixture with its
    // `rewards` dataset renamed and its `metadata` group named `rewards` (same heap slots).
    #[cfg(feature = "hdf5")]
    {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/d4rl_tiny.hdf5");
        let mut b = std::fs::read(fixture).unwrap();
        let find = |b: &[u8], pat: &[u8]| b.windows(pat.len()).position(|w| w == pat).unwrap();
        let i = find(&b, b"rewards\0");
        b[i..i + 8].copy_from_slice(b"rewardz\0");
        let j = find(&b, b"metadata\0");
        b[j..j + 9].copy_from_slice(b"rewards\0\0");
        std::fs::write(d.path("group.hdf5"), &b).unwrap();
        let e = fails(&d.0, &train_args("group.hdf5", "o.safetensors"));
        assert!(
            e.contains("group.hdf5") && e.contains("rewards") && e.contains("is a group"),
            "{e}"
        );
        assert!(!e.contains("missing key"), "{e}");
    }

    // --precision bogus: named as unknown, not as a CUDA matter.
    let mut a = train_args(&data, "o.safetensors");
    a.extend(["--precision", "bogus"]);
    let e = fails(&d.0, &a);
    assert!(
        e.contains("bogus") && e.contains("fp32") && !e.contains("CUDA"),
        "{e}"
    );

    // --out .: a folder, not "Device or resource busy".
    let e = fails(&d.0, &train_args(&data, "."));
    assert!(e.contains("folder") && !e.contains("busy"), "{e}");

    // bench --help: one default per flag.
    let help = succeeds(&d.0, &["bench", "--help"]);
    assert!(!help.contains("[default: auto] [default: auto]"), "{help}");
    assert!(!help.contains("[default: fp32] [default: fp32]"), "{help}");

    // A full disk (here a file-size limit): one message naming the file, no ZipWriter noise.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"")
        .arg(bin())
        .args([
            "collect",
            "--env",
            "pendulum-swingup",
            "--episodes",
            "3",
            "--out",
            "full.npz",
        ])
        .current_dir(&d.0);
    let o = run_cmd(c, Duration::from_secs(60));
    o.assert_clean_error("full disk");
    assert!(o.stderr.contains("full.npz"), "{}", o.stderr);
    assert!(!o.stderr.contains("ZipWriter"), "{}", o.stderr);
    assert_no_temp_files(&d.0);
    assert!(!d.path("full.npz").exists());

    // A non-finite loss names the dataset: next observations at f32's edge overflow the loss.
    let mut huge = arrays(120);
    let next: Vec<f32> = (0..360)
        .map(|i| if i % 3 == 0 { 3e38 } else { 0.1 })
        .collect();
    huge.push((
        "next_observations",
        koopman::data::npy::NpyArray::from_f32(vec![120, 3], &next),
    ));
    koopman::data::npz::write_arrays(&d.path("huge.npz"), &huge).unwrap();
    let o = run(&d.0, &train_args("huge.npz", "o.safetensors"));
    o.assert_clean_error("huge values");
    assert!(o.stderr.contains("huge.npz"), "{}", o.stderr);
    assert!(o.stderr.contains("non-finite"), "{}", o.stderr);
}

/// Finding 11: `bench` records the commit the binary was built from, not the one of the folder
/// it runs in.
#[test]
fn f11_bench_does_not_record_the_working_folders_commit() {
    let d = Scratch::new("f11git");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(&d.0)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if git(&["init", "-q"]).is_err() {
        return;
    }
    std::fs::write(d.path("f"), "x").unwrap();
    let _ = git(&["add", "f"]);
    let _ = git(&[
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-qm",
        "x",
    ]);
    let Ok(here) = git(&["rev-parse", "--short", "HEAD"]) else {
        return;
    };
    if here.is_empty() {
        return;
    }
    let out = succeeds(
        &d.0,
        &[
            "bench",
            "--models",
            "mlp",
            "--lengths",
            "2",
            "--batch",
            "2",
            "--iters",
            "1",
            "--warmup",
            "0",
            "--device",
            "cpu",
            "--json",
            "b.json",
        ],
    );
    let json = std::fs::read_to_string(d.path("b.json")).unwrap();
    assert!(
        !json.contains(&here),
        "recorded the folder's commit {here}: {json}"
    );
    assert!(!out.contains(&format!("commit {here}")), "{out}");
}

/// Finding 12: `inspect` and `eval` write side files only where asked, and check that place
/// before the work.
#[test]
fn f12_side_outputs_only_where_asked() {
    let d = Scratch::new("f12");
    let data = dataset(&d, "d.npz");
    let ckpt = checkpoint(&d, &data, "k.safetensors");
    let before = d.names();
    succeeds(
        &d.0,
        &[
            "eval",
            "--data",
            &data,
            "--ckpt",
            &ckpt,
            "--horizon",
            "5",
            "--windows",
            "4",
        ],
    );
    succeeds(&d.0, &["inspect", "--ckpt", &ckpt]);
    assert_eq!(d.names(), before, "side files written unasked");
    // Asked for: written.
    let s = succeeds(
        &d.0,
        &[
            "eval",
            "--data",
            &data,
            "--ckpt",
            &ckpt,
            "--horizon",
            "5",
            "--windows",
            "4",
            "--curve",
            "curve",
        ],
    );
    assert!(s.contains("curve.csv"), "{s}");
    assert!(d.path("curve.csv").exists() && d.path("curve.png").exists());
    succeeds(&d.0, &["inspect", "--ckpt", &ckpt, "--plot", "eig.png"]);
    assert!(d.path("eig.png").exists());
    // An unwritable place: refused before any result is printed.
    let o = run(
        &d.0,
        &[
            "eval",
            "--data",
            &data,
            "--ckpt",
            &ckpt,
            "--horizon",
            "5",
            "--windows",
            "4",
            "--curve",
            "missing/curve",
        ],
    );
    o.assert_clean_error("eval --curve missing/");
    assert!(o.stdout.is_empty() && o.stderr.contains("missing"), "{o:?}");
    let o = run(
        &d.0,
        &["inspect", "--ckpt", &ckpt, "--plot", "missing/e.png"],
    );
    o.assert_clean_error("inspect --plot missing/");
    assert!(o.stdout.is_empty(), "{}", o.stdout);
}
