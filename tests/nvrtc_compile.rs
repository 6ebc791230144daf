//! Every kernel file compiles with NVRTC for the project's GPU generations. Needs only libnvrtc,
//! no GPU. Without libnvrtc the test prints SKIP and passes, unless REQUIRE_NVRTC=1 (CI), where a
//! missing compiler is a failure.

#[cfg(feature = "cuda")]
#[test]
fn all_kernels_compile_with_nvrtc() {
    use koopman::backend::cuda::{compile, detect};

    let Some((major, minor)) = detect::nvrtc_version() else {
        let msg = "libnvrtc not found on LD_LIBRARY_PATH";
        if std::env::var("REQUIRE_NVRTC").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_NVRTC=1 but {msg}");
        }
        skip(msg);
        return;
    };
    eprintln!("NVRTC {major}.{minor}");
    assert!(!koopman::kernels::ALL.is_empty(), "no kernels embedded");
    let mut failures = Vec::new();
    // Real architectures give CUBIN (what the device loads); the virtual ones give the PTX whose
    // text is checked here.
    for arch in ["sm_80", "sm_90"] {
        match compile::compile_all(arch) {
            Ok(images) => {
                for (stem, c) in &images {
                    assert_eq!(
                        c.kind, "CUBIN",
                        "{stem}.cu ({arch}) was not compiled to CUBIN"
                    );
                }
                eprintln!("ok {arch}: {} files as CUBIN", images.len());
            }
            Err(log) => failures.push(log),
        }
    }
    for arch in ["compute_80", "compute_90"] {
        match compile::compile_all(arch) {
            Ok(images) => {
                for (stem, c) in &images {
                    assert_eq!(c.kind, "PTX", "{stem}.cu ({arch})");
                    let src = c.image.to_src();
                    let n = compile::kernel_names(
                        koopman::kernels::ALL
                            .iter()
                            .find(|(s, _)| s == stem)
                            .unwrap()
                            .1,
                    );
                    for name in n {
                        assert!(
                            src.contains(name),
                            "{stem}.cu ({arch}): PTX lacks kernel {name}"
                        );
                        check_ptx_params(&src, name, stem);
                    }
                    eprintln!("ok {arch} {stem}.cu ({} bytes of PTX)", src.len());
                }
            }
            Err(log) => failures.push(log),
        }
    }
    assert!(
        failures.is_empty(),
        "NVRTC errors:\n{}",
        failures.join("\n")
    );
}

/// The compiled kernel's PTX parameter list agrees with the signature build.rs parsed (and the
/// typed launcher passes): same count, and per parameter a 64-bit pointer, a 32-bit integer for
/// `int`, a 32-bit float for `float`. A parser mistake would otherwise surface only on a GPU.
#[cfg(feature = "cuda")]
fn check_ptx_params(ptx: &str, name: &str, stem: &str) {
    let (_, params) = koopman::kernels::SIGNATURES
        .iter()
        .find(|(k, _)| *k == name)
        .unwrap_or_else(|| panic!("{stem}.cu: no parsed signature for {name}"));
    let head = format!(".entry {name}(");
    let start = ptx
        .find(&head)
        .unwrap_or_else(|| panic!("{stem}.cu: PTX lacks `{head}`"))
        + head.len();
    let list = &ptx[start..start + ptx[start..].find(')').unwrap()];
    let ptx_types: Vec<&str> = list
        .split(',')
        .filter_map(|p| p.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        ptx_types.len(),
        params.len(),
        "{stem}.cu: {name} has {} PTX parameters, build.rs parsed {params:?}",
        ptx_types.len()
    );
    for (i, (&c, &p)) in params.iter().zip(&ptx_types).enumerate() {
        let want: &[&str] = match c {
            "int" => &[".u32", ".s32", ".b32"],
            "float" => &[".f32", ".b32"],
            ptr if ptr.ends_with('*') => &[".u64", ".b64"],
            other => panic!("{name}: unexpected parsed C type {other}"),
        };
        assert!(
            want.contains(&p),
            "{stem}.cu: {name} parameter {i} is `{c}` to build.rs but `{p}` in PTX"
        );
    }
}

#[cfg(not(feature = "cuda"))]
#[test]
fn all_kernels_compile_with_nvrtc() {
    skip("built without the `cuda` feature");
}

/// Prints `SKIP: <reason>` straight to the process's stderr: libtest captures `eprintln!` of
/// passing tests, and a skip must stay visible in CI logs.
fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIP: {reason}");
}
