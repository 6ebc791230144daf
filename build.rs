//! Embeds every `kernels/*.cu` file as a string constant (no nvcc at build time).
//! Writes `OUT_DIR/kernels.rs`: one module per file with its source and one constant per kernel name,
//! plus `ALL`, the list of (file stem, source) pairs compiled at run time by NVRTC.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=kernels");
    if env::var_os("CARGO_FEATURE_MUJOCO").is_some() {
        check_mujoco();
    }
    let dir = Path::new("kernels");
    let mut files: Vec<_> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "cu"));
    files.sort();
    let mut out = String::new();
    let mut all = Vec::new();
    let prelude = dir.join("prelude.cuh");
    if prelude.exists() {
        // Paths relative to the manifest, not absolute: a target dir shared by two checkouts of
        // the crate (worktrees) must not embed the other checkout's files.
        out += "pub const PRELUDE: &str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/kernels/prelude.cuh\"));\n";
    } else {
        out += "pub const PRELUDE: &str = \"\";\n";
    }
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = fs::read_to_string(path).unwrap();
        out += &format!(
            "pub mod {stem} {{\n    pub const SRC: &str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/kernels/{stem}.cu\"));\n"
        );
        for name in kernel_names(&src) {
            out += &format!(
                "    pub const {}: &str = {:?};\n",
                name.to_uppercase(),
                name
            );
        }
        out += "}\n";
        all.push(stem);
    }
    out += "pub const ALL: &[(&str, &str)] = &[";
    for stem in &all {
        out += &format!("({stem:?}, {stem}::SRC), ");
    }
    out += "];\n";
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("kernels.rs");
    fs::write(dest, out).unwrap();
}

/// Names of `extern "C" __global__ void NAME(` declarations.
fn kernel_names(src: &str) -> Vec<String> {
    let key = "__global__ void ";
    src.match_indices(key)
        .filter_map(|(i, _)| {
            let rest = &src[i + key.len()..];
            let end = rest.find('(')?;
            Some(rest[..end].trim().to_string())
        })
        .collect()
}

/// With the `mujoco` feature, fails early with the fix when libmujoco is not configured (mujoco-rs
/// would otherwise fall back to pkg-config and stop with a less direct message), and embeds the
/// library directory as an rpath in this package's binaries and tests, so they run without
/// LD_LIBRARY_PATH (unlike RUSTFLAGS, this rebuilds no other crate).
fn check_mujoco() {
    println!("cargo:rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    println!("cargo:rerun-if-env-changed=MUJOCO_STATIC_LINK_DIR");
    if env::var_os("MUJOCO_STATIC_LINK_DIR").is_some() {
        return;
    }
    match env::var_os("MUJOCO_DYNAMIC_LINK_DIR") {
        Some(dir) if Path::new(&dir).join("libmujoco.so").is_file() => {
            println!(
                "cargo:rustc-link-arg=-Wl,-rpath,{}",
                Path::new(&dir).display()
            );
        }
        _ => {
            println!("cargo::error=the `mujoco` feature needs libmujoco 3.17.0: run scripts/setup-mujoco.sh and export what it prints (eval \"$(scripts/setup-mujoco.sh --env)\")");
            std::process::exit(1);
        }
    }
}
