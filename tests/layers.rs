//! Data flows one way, down to the file (issue 12): no source file of a crate imports a file
//! of the same crate that imports it back. The crates' own order (server → web → graphql →
//! app → policy, notify, store → domain) is held by their Cargo.toml files; this test holds
//! the files inside each crate. A file "imports" another when it names it in a `use crate::…`,
//! `use super::…` or `use self::…` path, or in a `crate::…` path in its code (tests excluded).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module file of the longest prefix of `parts` under `src`, if any.
fn module_file(src: &Path, parts: &[&str]) -> Option<PathBuf> {
    (1..=parts.len()).rev().find_map(|i| {
        let p = parts[..i].iter().fold(src.to_path_buf(), |p, x| p.join(x));
        [p.with_extension("rs"), p.join("mod.rs")]
            .into_iter()
            .find(|c| c.is_file())
    })
}

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
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

/// The files `file` imports, by the paths it names.
fn imports(src: &Path, file: &Path) -> BTreeSet<PathBuf> {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let me = module_of(src, file);
    let mut out = BTreeSet::new();
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("crate::") || w.starts_with("super::") || w.starts_with("self::"))
        .collect();
    for w in words {
        let mut parts: Vec<&str> = w.split("::").filter(|p| !p.is_empty()).collect();
        let mut base: Vec<&str> = me.iter().map(String::as_str).collect();
        match parts.first() {
            Some(&"crate") => {
                base.clear();
                parts.remove(0);
            }
            Some(&"self") => {
                parts.remove(0);
            }
            _ => {
                while parts.first() == Some(&"super") {
                    base.pop();
                    parts.remove(0);
                }
            }
        }
        let path: Vec<&str> = base.into_iter().chain(parts).collect();
        if let Some(target) = module_file(src, &path).filter(|t| t != file) {
            out.insert(target);
        }
    }
    out
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("services");
    let (mut cycles, mut found) = (Vec::new(), 0);
    for krate in std::fs::read_dir(&root).unwrap().flatten() {
        let src = krate.path().join("src");
        if !src.is_dir() {
            continue;
        }
        let mut all = Vec::new();
        files(&src, &mut all);
        let edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> =
            all.iter().map(|f| (f.clone(), imports(&src, f))).collect();
        found += edges.values().map(BTreeSet::len).sum::<usize>();
        for (a, targets) in &edges {
            for b in targets {
                if a < b && edges.get(b).is_some_and(|back| back.contains(a)) {
                    cycles.push(format!("{} <-> {}", a.display(), b.display()));
                }
            }
        }
    }
    assert!(
        found > 100,
        "only {found} imports found: the scan is broken"
    );
    assert!(
        cycles.is_empty(),
        "files importing each other:\n{}",
        cycles.join("\n")
    );
}
