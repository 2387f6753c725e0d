//! One list of error codes (`services/domain/src/codes.rs`): the documentation is generated
//! from it, and these tests fail when the server or a shipped policy can answer with a code
//! the list lacks (P-8).
//! After an intended change: `UPDATE_CODES=1 cargo test --test error_codes`, and review the diff.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use okienko_domain::codes::{markdown, Code};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn docs_match_the_list() {
    common::matches_checked_in(
        "docs/error-codes.md",
        &markdown(),
        "the list",
        "UPDATE_CODES",
        "error_codes",
    );
}

fn listed() -> BTreeSet<&'static str> {
    Code::ALL.iter().map(|c| c.as_str()).collect()
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// The quoted words in `text` that look like codes: capitals and underscores, with at least
/// one underscore or five letters (`"NOT_FOUND"`, `"HOLIDAY"`), not an environment variable
/// (the server's own and OpenTelemetry's standard `OTEL_…`).
fn code_like(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split('"').skip(1).step_by(2) {
        let shaped = part.len() >= 5
            && part.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            && !part.starts_with('_')
            && !part.ends_with('_');
        let env = [
            "OKIENKO_",
            "SMTP_",
            "SMS_",
            "DATABASE_",
            "TEST_",
            "RUST_",
            "CARGO_",
            "PG_",
            "POSTGRES_",
            "UPDATE_",
            "OTEL_",
        ]
        .iter()
        .any(|p| part.starts_with(p));
        if shaped && !env {
            out.push(part.to_string());
        }
    }
    out
}

/// Every code-shaped string in the server's source is a listed code (or one of the few words of
/// that shape that are not codes). A code written as a string instead of a `Code` fails here.
#[test]
fn the_server_names_only_listed_codes() {
    // Words of a code's shape that are not codes: SQL and HTTP words, and the metrics' label
    // for a code outside the list (docs/metrics.md, `okienko_graphql_errors_total`).
    const NOT_CODES: &[&str] = &[
        "DESC",
        "NORM",
        "SCREAMING_SNAKE",
        "DELETE",
        "OPTIONS",
        "PATCH",
        "OTHER",
    ];
    let listed = listed();
    let mut paths = Vec::new();
    files(&root().join("services"), "rs", &mut paths);
    let mut unlisted = BTreeSet::new();
    for p in paths.iter().filter(|p| {
        !p.components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "benches")
    }) {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        // Unit tests may name codes a policy under test throws.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for w in code_like(code) {
            if !listed.contains(w.as_str()) && !NOT_CODES.contains(&w.as_str()) {
                unlisted.insert(format!("{w} in {}", p.display()));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "codes the list in services/domain/src/codes.rs lacks:\n{}",
        unlisted.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Every code a shipped city policy throws is listed.
#[test]
fn shipped_policies_throw_only_listed_codes() {
    let listed = listed();
    let mut paths = Vec::new();
    files(&root().join("policies"), "rhai", &mut paths);
    assert!(paths.len() >= 5, "{paths:?}");
    let mut thrown = 0;
    let mut unlisted = Vec::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for marker in ["refuse(\"", "code: \""] {
                let mut rest = line;
                while let Some(i) = rest.find(marker) {
                    rest = &rest[i + marker.len()..];
                    let code = rest.split('"').next().unwrap_or_default();
                    thrown += 1;
                    if !listed.contains(code) {
                        unlisted.push(format!("{code} in {}", p.display()));
                    }
                }
            }
        }
    }
    assert!(
        thrown > 20,
        "found only {thrown} refusals: has the scripts' form changed?"
    );
    assert!(
        unlisted.is_empty(),
        "codes thrown by shipped policies that the list lacks:\n{}",
        unlisted.join("\n")
    );
}

/// The scan itself sees what it must: a code written as a string.
#[test]
fn the_scan_finds_code_shaped_strings() {
    let found = code_like(r#"error_json(s, "NEW_THING", "x"); env("OKIENKO_NOW"); "GET""#);
    assert_eq!(found, vec!["NEW_THING".to_string()]);
}
