//! Build script: embeds the CUDA kernels and generates their typed launchers (no nvcc at build time).
//!
//! - [`sig`] scans `kernels/` recursively and parses every `extern "C" __global__ void` parameter
//!   list into [`sig::Kernel`]s. It knows nothing about Rust or cudarc, so other back ends (e.g. an
//!   emulated device running the kernels compiled for the CPU by `tools/cuemu`) can reuse it.
//! - [`emit_sources`] writes `OUT_DIR/kernels.rs` (included as `crate::kernels`): one module per
//!   file, nested as the folders are (`kernels/koopman/scan.cu` -> `kernels::koopman::scan`), with
//!   its source `SRC` and one name constant per kernel, plus `PRELUDE`, `ALL`, the list of
//!   (path without `.cu`, source) pairs that NVRTC compiles at run time, and `SIGNATURES`, each
//!   kernel's parameter C types (checked against the compiled PTX by `tests/nvrtc_compile.rs`).
//! - [`emit_cudarc`] writes `OUT_DIR/launchers.rs` (included as `crate::backend::cuda::kernels`
//!   with the `cuda` feature): one typed function per kernel that does the single `unsafe` launch.
//! - [`emit_emu`] (with the `cuda` feature) writes `OUT_DIR/emu_kernels.cpp`, every kernel source
//!   compiled for the CPU on `tools/cuemu/runtime.h` with one `extern "C"` entry point per kernel,
//!   compiles it with the `cc` crate and sets `cfg(koopman_emu)` when that worked; and writes
//!   `OUT_DIR/emu_launchers.rs` (included as `crate::backend::cuda::emu::kernels`): one safe
//!   wrapper per kernel taking host slices.
use std::{env, fs, path::Path};

fn main() {
    // A directory: Cargo rescans the whole tree, so new and nested files count too.
    println!("cargo:rerun-if-changed=kernels");
    if env::var_os("CARGO_FEATURE_MUJOCO").is_some() {
        check_mujoco();
    }
    embed_git_commit();
    let files = match sig::scan(Path::new("kernels")) {
        Ok(files) => files,
        Err(e) => {
            println!("cargo::error={e}");
            std::process::exit(1);
        }
    };
    let out = env::var("OUT_DIR").unwrap();
    let has_prelude = Path::new("kernels/prelude.cuh").exists();
    fs::write(
        Path::new(&out).join("kernels.rs"),
        emit_sources::emit(&files, has_prelude),
    )
    .unwrap();
    let launchers = emit_cudarc::emit(&files).unwrap_or_else(|e| {
        println!("cargo::error={e}");
        std::process::exit(1);
    });
    fs::write(Path::new(&out).join("launchers.rs"), launchers).unwrap();
    println!("cargo::rustc-check-cfg=cfg(koopman_emu)");
    println!("cargo::rustc-check-cfg=cfg(koopman_emu_driver)");
    if env::var_os("CARGO_FEATURE_CUDA").is_some() {
        emit_emu::build(&files, Path::new(&out));
    }
}

/// Kernel signatures parsed from the `.cu` sources: the one description every generated launcher
/// (cudarc today, an emulated device later) is derived from.
mod sig {
    use std::{fs, path::Path};

    /// One `kernels/**/*.cu` file.
    pub struct KernelFile {
        /// Path below `kernels/` without `.cu`, with `/` separators: `"koopman/scan"`.
        pub path: String,
        pub kernels: Vec<Kernel>,
    }

    /// One `extern "C" __global__ void name(...)` declaration.
    pub struct Kernel {
        pub name: String,
        pub params: Vec<Param>,
    }

    pub struct Param {
        pub name: String,
        pub ty: CType,
        /// Marked `NULLABLE` in the source: the kernel accepts a null pointer here.
        pub nullable: bool,
    }

    /// The C types kernel parameters may have. Add a variant (and its mapping in each emitter) to
    /// support a new one; anything else is a build error naming the kernel.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum CType {
        /// `int`
        Int,
        /// `float`
        Float,
        /// `T*` (mutable) or `const T*` (read only) to device memory.
        Ptr { elem: Elem, mutable: bool },
    }

    /// Element types of device pointers.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Elem {
        /// `float`
        F32,
        /// `unsigned short` (raw bf16 bits)
        U16,
    }

    impl CType {
        /// The C spelling, for messages and docs.
        pub fn c_name(self) -> &'static str {
            match self {
                CType::Int => "int",
                CType::Float => "float",
                CType::Ptr {
                    elem: Elem::F32,
                    mutable: true,
                } => "float*",
                CType::Ptr {
                    elem: Elem::F32,
                    mutable: false,
                } => "const float*",
                CType::Ptr {
                    elem: Elem::U16,
                    mutable: true,
                } => "unsigned short*",
                CType::Ptr {
                    elem: Elem::U16,
                    mutable: false,
                } => "const unsigned short*",
            }
        }
    }

    impl Kernel {
        /// The normalised C declaration, e.g.
        /// `relu_fwd(float* y, const float* x, int n)`.
        pub fn c_decl(&self) -> String {
            let ps: Vec<String> = self
                .params
                .iter()
                .map(|p| {
                    let null = if p.nullable { "NULLABLE " } else { "" };
                    format!("{null}{} {}", p.ty.c_name(), p.name)
                })
                .collect();
            format!("{}({})", self.name, ps.join(", "))
        }
    }

    /// Every `.cu` file below `dir`, sorted by path, parsed. Kernel names must be unique across
    /// files (the device looks kernels up by name).
    pub fn scan(dir: &Path) -> Result<Vec<KernelFile>, String> {
        let mut paths = Vec::new();
        walk(dir, dir, &mut paths)?;
        paths.sort();
        let mut files = Vec::new();
        let mut seen = std::collections::BTreeMap::new();
        for rel in paths {
            let src = fs::read_to_string(dir.join(format!("{rel}.cu")))
                .map_err(|e| format!("kernels/{rel}.cu: {e}"))?;
            let kernels = parse_file(&src).map_err(|e| format!("kernels/{rel}.cu: {e}"))?;
            for k in &kernels {
                if let Some(other) = seen.insert(k.name.clone(), rel.clone()) {
                    return Err(format!(
                        "kernel `{}` is defined in both kernels/{other}.cu and kernels/{rel}.cu",
                        k.name
                    ));
                }
            }
            files.push(KernelFile { path: rel, kernels });
        }
        Ok(files)
    }

    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
        let rd = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in rd {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else if path.extension().is_some_and(|e| e == "cu") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }

    /// The kernels of one source file, in source order.
    pub fn parse_file(src: &str) -> Result<Vec<Kernel>, String> {
        let code = strip_comments(src);
        let key = "__global__";
        let mut kernels = Vec::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find(key) {
            let before = rest[..i].trim_end();
            rest = &rest[i + key.len()..];
            let open = rest
                .find('(')
                .ok_or("`__global__` without a parameter list")?;
            let head: Vec<&str> = rest[..open].split_whitespace().collect();
            let [ret, name] = head[..] else {
                return Err(format!(
                    "cannot read the kernel declaration `{}`",
                    &rest[..open]
                ));
            };
            let name = name.to_string();
            if ret != "void" || !before.ends_with("extern \"C\"") {
                return Err(format!(
                    "kernel `{name}`: declare it `extern \"C\" __global__ void` (launchers find it by name)"
                ));
            }
            let close = rest[open..]
                .find(')')
                .ok_or_else(|| format!("kernel `{name}`: unterminated parameter list"))?;
            let list = &rest[open + 1..open + close];
            let params = parse_params(list).map_err(|e| format!("kernel `{name}`: {e}"))?;
            rest = &rest[open + close..];
            kernels.push(Kernel { name, params });
        }
        Ok(kernels)
    }

    fn parse_params(list: &str) -> Result<Vec<Param>, String> {
        if list.trim().is_empty() || list.trim() == "void" {
            return Ok(Vec::new());
        }
        list.split(',').map(parse_param).collect()
    }

    /// One parameter: qualifiers (`const`, `NULLABLE`, `__restrict__`), the base type, at most one
    /// `*`, and the name. `const` after the `*` (a const pointer) does not make the data read-only.
    fn parse_param(text: &str) -> Result<Param, String> {
        let spaced = text.replace('*', " * ");
        let mut toks: Vec<&str> = spaced.split_whitespace().collect();
        let name = toks
            .pop()
            .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| format!("cannot read parameter `{}`", text.trim()))?;
        let (mut stars, mut const_data, mut nullable) = (0, false, false);
        let mut base = Vec::new();
        for t in toks {
            match t {
                "*" => stars += 1,
                "const" if stars == 0 => const_data = true,
                "const" | "__restrict__" => {}
                "NULLABLE" => nullable = true,
                other => base.push(other),
            }
        }
        let base = base.join(" ");
        let unknown = || {
            format!("parameter `{name}` has C type `{}`, which launchers do not support (see CType in build.rs)", text.trim())
        };
        let ty = match (base.as_str(), stars) {
            ("int", 0) if !const_data => CType::Int,
            ("float", 0) if !const_data => CType::Float,
            ("float", 1) => CType::Ptr {
                elem: Elem::F32,
                mutable: !const_data,
            },
            ("unsigned short", 1) => CType::Ptr {
                elem: Elem::U16,
                mutable: !const_data,
            },
            _ => return Err(unknown()),
        };
        if nullable && !matches!(ty, CType::Ptr { .. }) {
            return Err(format!("parameter `{name}`: only pointers can be NULLABLE"));
        }
        Ok(Param {
            name: name.to_string(),
            ty,
            nullable,
        })
    }

    /// `src` with `//` and `/* */` comments replaced by spaces (string literals hold no comment
    /// markers in kernel code).
    fn strip_comments(src: &str) -> String {
        let mut out = String::with_capacity(src.len());
        let mut rest = src;
        loop {
            let line = rest.find("//");
            let block = rest.find("/*");
            let (i, end_pat) = match (line, block) {
                (None, None) => break,
                (Some(l), Some(b)) if b < l => (b, "*/"),
                (Some(l), _) => (l, "\n"),
                (None, Some(b)) => (b, "*/"),
            };
            out.push_str(&rest[..i]);
            out.push(' ');
            rest = &rest[i + 2..];
            match rest.find(end_pat) {
                Some(j) => rest = &rest[j + end_pat.len()..],
                None => rest = "",
            }
            if end_pat == "\n" {
                out.push('\n');
            }
        }
        out.push_str(rest);
        out
    }
}

/// `OUT_DIR/kernels.rs`: the embedded sources and kernel names, as a module tree.
mod emit_sources {
    use super::sig::KernelFile;
    use super::tree::{close_to, open_to};

    pub fn emit(files: &[KernelFile], has_prelude: bool) -> String {
        let mut out = String::new();
        if has_prelude {
            // Paths relative to the manifest, not absolute: a target dir shared by two checkouts
            // of the crate (worktrees) must not embed the other checkout's files.
            out += "pub const PRELUDE: &str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/kernels/prelude.cuh\"));\n";
        } else {
            out += "pub const PRELUDE: &str = \"\";\n";
        }
        let mut cur: Vec<&str> = Vec::new();
        for f in files {
            let segs: Vec<&str> = f.path.split('/').collect();
            close_to(&mut out, &mut cur, &segs);
            open_to(&mut out, &mut cur, &segs, "");
            let ind = "    ".repeat(cur.len());
            out += &format!(
                "{ind}pub const SRC: &str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/kernels/{}.cu\"));\n",
                f.path
            );
            for k in &f.kernels {
                out += &format!(
                    "{ind}pub const {}: &str = {:?};\n",
                    k.name.to_uppercase(),
                    k.name
                );
            }
        }
        close_to(&mut out, &mut cur, &[]);
        out += "/// Every kernel file as (path below `kernels/` without `.cu`, source).\n";
        out += "pub const ALL: &[(&str, &str)] = &[\n";
        for f in files {
            out += &format!("    ({:?}, {}::SRC),\n", f.path, f.path.replace('/', "::"));
        }
        out += "];\n";
        out += "/// Every kernel as (name, its parameters' C types in order), as build.rs parsed them: the\n";
        out +=
            "/// signatures the typed launchers of `backend::cuda::kernels` are generated from.\n";
        out += "pub const SIGNATURES: &[(&str, &[&str])] = &[\n";
        for k in files.iter().flat_map(|f| &f.kernels) {
            let tys: Vec<&str> = k.params.iter().map(|p| p.ty.c_name()).collect();
            out += &format!("    ({:?}, &{:?}),\n", k.name, tys);
        }
        out += "];\n";
        out
    }
}

/// `OUT_DIR/launchers.rs`: one typed cudarc launcher per kernel.
mod emit_cudarc {
    use super::sig::{CType, Elem, Kernel, KernelFile};
    use super::tree::{close_to, open_to};

    /// Rust names the generated code uses itself; a kernel parameter must not shadow them.
    const RESERVED: &[&str] = &["dev", "cfg"];

    pub fn emit(files: &[KernelFile]) -> Result<String, String> {
        let mut out = String::new();
        let mut cur: Vec<&str> = Vec::new();
        for f in files {
            let segs: Vec<&str> = f.path.split('/').collect();
            close_to(&mut out, &mut cur, &segs);
            open_to(
                &mut out,
                &mut cur,
                &segs,
                "#[allow(unused_imports)]\nuse super::*;\n",
            );
            for k in &f.kernels {
                emit_kernel(&mut out, &f.path, k, cur.len())?;
            }
        }
        close_to(&mut out, &mut cur, &[]);
        Ok(out)
    }

    fn rust_type(ty: CType, nullable: bool) -> String {
        let elem = |e: Elem| match e {
            Elem::F32 => "f32",
            Elem::U16 => "u16",
        };
        let t = match ty {
            CType::Int => "i32".to_string(),
            CType::Float => "f32".to_string(),
            CType::Ptr {
                elem: e,
                mutable: true,
            } => format!("&mut dyn KernelOut<{}>", elem(e)),
            CType::Ptr {
                elem: e,
                mutable: false,
            } => format!("&dyn KernelIn<{}>", elem(e)),
        };
        if nullable {
            format!("Option<{t}>")
        } else {
            t
        }
    }

    /// Rust identifier for a C parameter name (raw identifier for Rust keywords).
    pub fn ident(name: &str) -> String {
        const KEYWORDS: &[&str] = &[
            "as", "async", "await", "box", "break", "continue", "crate", "do", "dyn", "else",
            "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
            "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
            "return", "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe",
            "unsized", "use", "virtual", "where", "while", "yield",
        ];
        if KEYWORDS.contains(&name) {
            format!("r#{name}")
        } else {
            name.to_string()
        }
    }

    fn emit_kernel(out: &mut String, path: &str, k: &Kernel, depth: usize) -> Result<(), String> {
        let ind = "    ".repeat(depth);
        for p in &k.params {
            if RESERVED.contains(&p.name.as_str()) || p.name.starts_with("__") {
                return Err(format!(
                    "kernel `{}` (kernels/{path}.cu): parameter name `{}` is reserved by the generated launcher",
                    k.name, p.name
                ));
            }
        }
        let konst = format!(
            "crate::kernels::{}::{}",
            path.replace('/', "::"),
            k.name.to_uppercase()
        );
        *out += &format!(
            "{ind}/// Launches `{}` (`kernels/{path}.cu`).\n",
            k.c_decl()
        );
        *out += &format!("{ind}#[allow(non_snake_case, clippy::too_many_arguments)]\n");
        *out += &format!(
            "{ind}pub fn {}(\n{ind}    dev: &CudaDevice,\n{ind}    cfg: LaunchConfig,\n",
            k.name
        );
        for p in &k.params {
            *out += &format!(
                "{ind}    {}: {},\n",
                ident(&p.name),
                rust_type(p.ty, p.nullable)
            );
        }
        *out += &format!("{ind}) -> Result<()> {{\n");
        *out += &format!("{ind}    let __f = dev.func({konst})?;\n");
        *out += &format!("{ind}    let mut __args = dev.stream().launch_builder(&__f);\n");
        for p in &k.params {
            let id = ident(&p.name);
            let push = match (p.ty, p.nullable) {
                (CType::Ptr { mutable: true, .. }, false) => format!("{id}.push_mut(&mut __args);"),
                (CType::Ptr { mutable: false, .. }, false) => format!("{id}.push(&mut __args);"),
                (CType::Ptr { mutable: true, .. }, true) => format!(
                    "match {id} {{ Some(b) => b.push_mut(&mut __args), None => push_null(&mut __args) }}"
                ),
                (CType::Ptr { mutable: false, .. }, true) => format!(
                    "match {id} {{ Some(b) => b.push(&mut __args), None => push_null(&mut __args) }}"
                ),
                (CType::Int | CType::Float, _) => format!("__args.arg(&{id});"),
            };
            *out += &format!("{ind}    {push}\n");
        }
        *out += &format!(
            "{ind}    // SAFETY: generated from the kernel's own parameter list, so the arguments match it in\n\
             {ind}    // count, order and type (pointers as device buffers of the pointee type, `int` as i32,\n\
             {ind}    // `float` as f32, NULLABLE pointers as null for None). Every argument outlives the\n\
             {ind}    // launch call. The callers in `launch/` check that each buffer holds what the kernel\n\
             {ind}    // indexes for the sizes and launch shape they pass.\n"
        );
        *out += &format!("{ind}    unsafe {{ __args.launch(cfg) }}?;\n{ind}    Ok(())\n{ind}}}\n");
        Ok(())
    }
}

/// The emulated CUDA device: the kernels compiled for the CPU, and their safe Rust wrappers.
mod emit_emu {
    use super::emit_cudarc::ident;
    use super::sig::{CType, Elem, Kernel, KernelFile};
    use super::tree::{close_to, open_to};
    use std::{env, fs, path::Path};

    /// Writes both files and compiles the C++ one; `cfg(koopman_emu)` only if that succeeded.
    /// `KOOPMAN_NO_EMU=1` skips the compilation (the wrappers then report "not built").
    pub fn build(files: &[KernelFile], out: &Path) {
        println!("cargo:rerun-if-changed=tools/cuemu/runtime.h");
        println!("cargo:rerun-if-changed=tools/cuemu/runtime_selftest.h");
        println!("cargo:rerun-if-env-changed=KOOPMAN_NO_EMU");
        let root = env::var("CARGO_MANIFEST_DIR").unwrap();
        let cpp = out.join("emu_kernels.cpp");
        fs::write(&cpp, emit_cpp(files, Path::new(&root))).unwrap();
        fs::write(out.join("emu_launchers.rs"), emit_rust(files)).unwrap();
        if env::var_os("KOOPMAN_NO_EMU").is_some_and(|v| v != "0") {
            println!("cargo:warning=KOOPMAN_NO_EMU is set: the emulated CUDA device is not built");
            return;
        }
        // -O2 whatever the profile: the emulator's speed is what keeps the CUDA tests short.
        // -fPIE, not -fPIC: the library is only linked into executables (tests, binaries), and
        // `threadIdx` and `__shared__` are thread_locals that PIE code reads directly (local-exec)
        // where PIC code goes through the GOT; about 25% faster for kernels with barriers.
        let built = cc::Build::new()
            .cpp(true)
            .std("c++17")
            .file(&cpp)
            .opt_level(2)
            .pic(false)
            .flag_if_supported("-fPIE")
            .warnings(false)
            .flag_if_supported("-w")
            .cargo_warnings(false)
            .try_compile("koopman_emu");
        match built {
            Ok(()) => {
                println!("cargo::rustc-cfg=koopman_emu");
                build_driver(out, Path::new(&root));
            }
            Err(e) => println!(
                "cargo:warning=the emulated CUDA device is not built (no working C++ compiler?): {e}"
            ),
        }
    }

    /// The emulated device's CUDA driver and cuBLAS (`tools/cuemu/driver.cpp`) as two shared
    /// libraries whose sonames are cudarc's first candidates, `libcuda.so` and `libcublas.so`;
    /// the crate embeds them and loads them before cudarc's first call. `cfg(koopman_emu_driver)`
    /// only when both link.
    fn build_driver(out: &Path, root: &Path) {
        println!("cargo:rerun-if-changed=tools/cuemu/driver.cpp");
        let src = root.join("tools/cuemu/driver.cpp");
        let dir = out.join("emu");
        let _ = fs::create_dir_all(&dir);
        let compiler = cc::Build::new().cpp(true).get_compiler();
        for lib in ["libcuda.so", "libcublas.so"] {
            let status = compiler
                .to_command()
                .args(["-shared", "-fPIC", "-O2", "-std=c++17", "-w"])
                .arg(format!("-Wl,-soname,{lib}"))
                .arg(&src)
                .arg("-o")
                .arg(dir.join(lib))
                .status();
            if !status.is_ok_and(|s| s.success()) {
                println!("cargo:warning=the emulated CUDA driver ({lib}) did not link: `--device emu` is unavailable");
                return;
            }
        }
        println!("cargo::rustc-cfg=koopman_emu_driver");
    }

    /// cuLaunchKernel's view of every kernel: `koopman_emu_find(name)` returns a function that
    /// unpacks the launch's argument pointers in the kernel's parameter order (a device pointer is
    /// a host address) and runs the kernel.
    fn emit_dispatch(files: &[KernelFile]) -> String {
        let mut out =
            String::from("typedef int (*KoopmanEmuDispatch)(const EmuLaunch*, void**);\n");
        let mut table = String::new();
        for k in files.iter().flat_map(|f| &f.kernels) {
            let args: Vec<String> = k
                .params
                .iter()
                .enumerate()
                .map(|(i, p)| format!(", *({}*)__p[{i}]", c_type(p.ty)))
                .collect();
            out += &format!(
                "static int koopman_dispatch_{0}(const EmuLaunch* __c, void** __p) {{ return koopman_emu_{0}(__c{1}); }}\n",
                k.name,
                args.concat()
            );
            table += &format!("        {{\"{0}\", koopman_dispatch_{0}}},\n", k.name);
        }
        out += "extern \"C\" KoopmanEmuDispatch koopman_emu_find(const char* name) {\n";
        out += "    static const struct { const char* name; KoopmanEmuDispatch f; } table[] = {\n";
        out += &table;
        out += "    };\n    for (const auto& e : table)\n        if (std::strcmp(e.name, name) == 0) return e.f;\n    return nullptr;\n}\n";
        out
    }

    /// A C++ identifier for a kernel file's namespace: `koopman/scan` -> `kfile_koopman_scan`.
    fn ns(path: &str) -> String {
        format!("kfile_{}", path.replace(['/', '-', '.'], "_"))
    }

    fn c_type(ty: CType) -> &'static str {
        ty.c_name()
    }

    fn emit_cpp(files: &[KernelFile], root: &Path) -> String {
        let inc = |rel: &str| format!("#include \"{}\"\n", root.join(rel).display());
        let mut out = String::from(
            "// Generated by build.rs: every kernels/**/*.cu source compiled for the emulated CUDA\n\
             // device (tools/cuemu/runtime.h), one extern \"C\" entry point per kernel.\n",
        );
        out += &inc("tools/cuemu/runtime.h");
        out += &inc("tools/cuemu/runtime_selftest.h");
        if root.join("kernels/prelude.cuh").exists() {
            out += &inc("kernels/prelude.cuh");
        }
        // One namespace per file, as NVRTC compiles each file on its own: file-local helpers of
        // two files may share a name.
        for f in files {
            out += &format!("namespace {} {{\n", ns(&f.path));
            out += &inc(&format!("kernels/{}.cu", f.path));
            out += "}\n";
        }
        for f in files {
            for k in &f.kernels {
                let params: Vec<String> = k
                    .params
                    .iter()
                    .map(|p| format!(", {} {}", c_type(p.ty), p.name))
                    .collect();
                let args: Vec<&str> = k.params.iter().map(|p| p.name.as_str()).collect();
                out += &format!(
                    "extern \"C\" int koopman_emu_{}(const EmuLaunch* __cfg{}) {{\n    auto __body = [&] {{ {}::{}({}); }};\n    return emu::launch(*__cfg, __body);\n}}\n",
                    k.name,
                    params.concat(),
                    ns(&f.path),
                    k.name,
                    args.join(", ")
                );
            }
        }
        out += &emit_dispatch(files);
        out
    }

    fn elem(e: Elem) -> &'static str {
        match e {
            Elem::F32 => "f32",
            Elem::U16 => "u16",
        }
    }

    fn emit_rust(files: &[KernelFile]) -> String {
        let mut out = String::new();
        let mut cur: Vec<&str> = Vec::new();
        for f in files {
            let segs: Vec<&str> = f.path.split('/').collect();
            close_to(&mut out, &mut cur, &segs);
            open_to(
                &mut out,
                &mut cur,
                &segs,
                "#[allow(unused_imports)]\nuse super::*;\n",
            );
            for k in &f.kernels {
                emit_kernel(&mut out, &f.path, k, cur.len());
            }
        }
        close_to(&mut out, &mut cur, &[]);
        out
    }

    fn emit_kernel(out: &mut String, path: &str, k: &Kernel, depth: usize) {
        let ind = "    ".repeat(depth);
        let name = &k.name;
        // The safe signature: host slices in the kernel's order.
        let mut sig = format!("{ind}pub fn {name}(\n{ind}    cfg: EmuLaunch,\n");
        // The FFI declaration: raw pointers.
        let mut ffi = format!("{ind}            fn koopman_emu_{name}(cfg: *const EmuLaunch");
        let mut setup = String::new();
        let mut call = String::new();
        let mut after = String::new();
        let mut unused = vec!["cfg".to_string()];
        for p in &k.params {
            let id = ident(&p.name);
            let local = format!("__p_{}", p.name);
            unused.push(id.clone());
            match p.ty {
                CType::Int => {
                    sig += &format!("{ind}    {id}: i32,\n");
                    ffi += &format!(", {id}: i32");
                    call += &format!(", {id}");
                }
                CType::Float => {
                    sig += &format!("{ind}    {id}: f32,\n");
                    ffi += &format!(", {id}: f32");
                    call += &format!(", {id}");
                }
                CType::Ptr { elem: e, mutable } => {
                    let t = elem(e);
                    let (slice, raw) = if mutable {
                        (format!("&mut [{t}]"), format!("*mut {t}"))
                    } else {
                        (format!("&[{t}]"), format!("*const {t}"))
                    };
                    ffi += &format!(", {id}: {raw}");
                    let ptr = if mutable { "as_mut_ptr" } else { "as_ptr" };
                    let null = if mutable { "null_mut" } else { "null" };
                    let tag = format!("{name:?}, {:?}", p.name);
                    if p.nullable {
                        sig += &format!("{ind}    {id}: Option<{slice}>,\n");
                        // `as_deref` reborrows a `&mut` so it can take the results afterwards.
                        setup += &if mutable {
                            format!("{ind}        let mut {local} = {id}.as_deref().map(Padded::new);\n")
                        } else {
                            format!("{ind}        let {local} = {id}.map(Padded::new);\n")
                        };
                        let access = if mutable { "as_mut()" } else { "as_ref()" };
                        call += &format!(
                            ", {local}.{access}.map_or(std::ptr::{null}(), |b| b.{ptr}())"
                        );
                        after += &format!(
                            "{ind}        if let Some(b) = &{local} {{\n{ind}            b.check({tag})?;\n{ind}        }}\n"
                        );
                        if mutable {
                            after += &format!(
                                "{ind}        if let (Some(b), Some(dst)) = (&{local}, {id}) {{\n{ind}            b.copy_to(dst);\n{ind}        }}\n"
                            );
                        }
                    } else {
                        sig += &format!("{ind}    {id}: {slice},\n");
                        setup += &format!(
                            "{ind}        let {mm}{local} = Padded::new({id});\n",
                            mm = if mutable { "mut " } else { "" }
                        );
                        call += &format!(", {local}.{ptr}()");
                        after += &format!("{ind}        {local}.check({tag})?;\n");
                        if mutable {
                            after += &format!("{ind}        {local}.copy_to({id});\n");
                        }
                    }
                }
            }
        }
        sig += &format!("{ind}) -> Result<(), EmuError> {{\n");
        *out += &format!(
            "{ind}/// Runs `{}` (`kernels/{path}.cu`) on the emulated device.\n",
            k.c_decl()
        );
        *out += &format!("{ind}#[allow(non_snake_case, unused_mut, clippy::too_many_arguments)]\n");
        *out += &sig;
        *out += &format!("{ind}    #[cfg(koopman_emu)]\n{ind}    {{\n");
        *out += &format!("{ind}        extern \"C\" {{\n{ffi}) -> i32;\n{ind}        }}\n");
        *out += &setup;
        *out += &format!(
            "{ind}        // SAFETY: the entry point was generated from this kernel's parameter list, so the\n\
             {ind}        // arguments match it in count, order and type. Each pointer points into a padded\n\
             {ind}        // copy that outlives the call; what the kernel does past the copy's guard zones\n\
             {ind}        // is not checked (as on a GPU).\n"
        );
        *out += &format!(
            "{ind}        let __rc = unsafe {{ koopman_emu_{name}(&cfg{call}) }};\n{ind}        launch_result({name:?}, __rc)?;\n"
        );
        *out += &after;
        *out += &format!("{ind}        Ok(())\n{ind}    }}\n");
        *out += &format!(
            "{ind}    #[cfg(not(koopman_emu))]\n{ind}    {{\n{ind}        let _ = ({});\n{ind}        Err(EmuError::NotBuilt)\n{ind}    }}\n",
            unused.join(", ")
        );
        *out += &format!("{ind}}}\n");
    }
}

/// Writing nested `pub mod a { pub mod b { .. } }` blocks for sorted `/`-separated paths.
mod tree {
    /// Closes the open modules in `cur` down to the longest prefix shared with `segs`' folders.
    pub fn close_to<'a>(out: &mut String, cur: &mut Vec<&'a str>, segs: &[&'a str]) {
        let keep = cur
            .iter()
            .zip(segs.iter().take(segs.len().saturating_sub(1)))
            .take_while(|(a, b)| a == b)
            .count();
        while cur.len() > keep {
            cur.pop();
            out.push_str(&"    ".repeat(cur.len()));
            out.push_str("}\n");
        }
    }

    /// Opens the modules of `segs` past those already open in `cur`, writing `prologue` at the
    /// top of each new module.
    pub fn open_to<'a>(out: &mut String, cur: &mut Vec<&'a str>, segs: &[&'a str], prologue: &str) {
        for &s in &segs[cur.len()..] {
            let ind = "    ".repeat(cur.len());
            out.push_str(&format!("{ind}pub mod {s} {{\n"));
            for line in prologue.lines() {
                out.push_str(&format!("{ind}    {line}\n"));
            }
            cur.push(s);
        }
    }
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

/// `KOOPMAN_GIT_COMMIT`: the commit the binary is built from (`-dirty` when the tree has changes),
/// for the machine line of `koopman bench`. Nothing is set outside a git checkout (or without git),
/// and the bench then says "unknown". Reruns when HEAD moves or a source file changes.
fn embed_git_commit() {
    println!("cargo:rerun-if-env-changed=KOOPMAN_GIT_COMMIT");
    if env::var_os("KOOPMAN_GIT_COMMIT").is_some() {
        return;
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--short", "HEAD"]) else {
        return;
    };
    // In a worktree `.git` is a file: ask git where HEAD and its ref live.
    for p in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["rev-parse", "--symbolic-full-name", "HEAD"])
            .and_then(|r| git(&["rev-parse", "--git-path", &r])),
    ]
    .into_iter()
    .flatten()
    {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=src");
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=KOOPMAN_GIT_COMMIT={commit}{suffix}");
}
