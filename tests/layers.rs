//! The architecture as a test: no module imports one above it in the layer list, and no two
//! files of one top-level module import each other (directly or through others). Reads every
//! `crate::…` path (and `super::…` within a folder) in `src/`.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom; modules on one line are side by side (they may use each other, without cycles).
const LAYERS: &[&[&str]] = &[
    &["main", "lib"],
    &["cli"],
    &["experiment"],
    &["train", "checkpoint", "rl"],
    &["planner"],
    &["models"],
    &["nn", "optim", "data", "envs", "synthetic"],
    &["ops"],
    &["autodiff"],
    &["backend"],
    &["tensor", "kernels"],
    &["util", "error"],
];

/// The crate's error type wraps the error types of the data layer and the CUDA backend (its
/// variants carry them); nothing else may look up.
const ALLOWED_UP: &[(&str, &str)] = &[("error", "data"), ("error", "backend")];

/// Top-level modules whose files may refer to each other in a cycle: the tape, the rules it
/// records and its backward walk are one unit (a rule receives the tape and its gradient slots).
const ONE_UNIT: &[&str] = &["autodiff"];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a source file: `src/cli/compare.rs` → ["cli", "compare"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The paths a file names: each `crate::a::b…` as [a, b…], each `super::x…` resolved against the
/// file's module. Comments are skipped.
fn imports(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (key, base) in [("crate::", 0usize), ("super::", 1)] {
            let mut rest = code;
            while let Some(i) = rest.find(key) {
                let prev = rest[..i].chars().last();
                rest = &rest[i + key.len()..];
                if prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let path: Vec<String> = rest
                    .split("::")
                    .map(|s| {
                        s.chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect::<String>()
                    })
                    .take_while(|s| !s.is_empty() && s.chars().next().unwrap().is_lowercase())
                    .collect();
                if path.is_empty() {
                    continue;
                }
                if base == 0 {
                    out.push(path);
                } else {
                    // `super` of `a/b.rs` and of `a/b/mod.rs` (module a::b) is `a`.
                    let mut full: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
                    full.extend(path);
                    out.push(full);
                }
            }
        }
    }
    out
}

#[test]
fn no_import_runs_up_the_layers_and_no_module_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    all.sort();
    let mut errors = Vec::new();
    // Edges between second-level modules of one top-level module (cli::compare → cli::eval).
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &all {
        let module = module_of(&src, file);
        let top = module[0].clone();
        let Some(r) = rank(&top) else {
            errors.push(format!("{}: module `{top}` is in no layer", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for path in imports(&text, &module) {
            let target = &path[0];
            if target == &top {
                if !ONE_UNIT.contains(&top.as_str())
                    && module.len() >= 2
                    && path.len() >= 2
                    && path[1] != module[1]
                {
                    let (from, to) = (
                        format!("{top}::{}", module[1]),
                        format!("{top}::{}", path[1]),
                    );
                    edges.entry(from).or_default().insert(to);
                }
                continue;
            }
            // Macros exported at the crate root (`crate::with_backend!`) belong to `backend`.
            let target = match target.as_str() {
                "with_backend" | "all_backends_trait" => "backend",
                "shape_err" | "Error" | "Result" => "error",
                t => t,
            };
            let Some(tr) = rank(target) else { continue };
            if tr < r && !ALLOWED_UP.contains(&(top.as_str(), target)) {
                errors.push(format!(
                    "{}: `{top}` imports `crate::{}`, a higher layer",
                    file.strip_prefix(&src).unwrap().display(),
                    path.join("::")
                ));
            }
        }
    }
    // Cycles among the second-level modules (depth-first search).
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        errors: &mut Vec<String>,
    ) {
        if let Some(i) = stack.iter().position(|s| s == n) {
            errors.push(format!("import cycle: {} → {n}", stack[i..].join(" → ")));
            return;
        }
        if done.contains(n) {
            return;
        }
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            visit(m, edges, stack, done, errors);
        }
        stack.pop();
        done.insert(n.to_string());
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        visit(n, &edges, &mut Vec::new(), &mut done, &mut errors);
    }
    assert!(
        errors.is_empty(),
        "layering violations:\n{}",
        errors.join("\n")
    );
}
