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
    for arch in ["sm_80", "sm_90"] {
        match compile::compile_all(arch) {
            Ok(ptxs) => {
                for (stem, ptx) in &ptxs {
                    let src = ptx.to_src();
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
