//! The Helm chart's offline test (`helm/tests/test_chart.py`: rendered by Helm's engine with
//! several values files, every manifest validated against the Kubernetes schemas) run inside
//! `cargo test`, through the virtual environment that `.ci/run` makes from
//! `helm/tests/requirements.txt` in `target/ci-venv`. Without that environment the test fails
//! when `CI=true` and is skipped with a notice otherwise.

mod common;

use std::path::Path;
use std::process::Command;

use common::output_text;

#[test]
fn chart_renders_validates_and_keeps_its_promises() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/ci-venv/bin/python");
    if !python.is_file() {
        let hint = "make it with: python3 -m venv target/ci-venv && \
                    target/ci-venv/bin/pip install -r helm/tests/requirements.txt (or run .ci/run)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but {} is missing; {hint}", python.display());
        }
        eprintln!(
            "notice: no {}; skipping the Helm chart test; {hint}",
            python.display()
        );
        return;
    }
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "helm/tests"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(root)
        .output()
        .expect("run pytest in target/ci-venv");
    let text = output_text(&out);
    assert!(out.status.success(), "the chart test failed:\n{text}");
    // pytest's closing line, e.g. "40 passed in 2.31s": a run that collected nothing fails.
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(last.contains(" passed"), "pytest ran no test:\n{text}");
    eprintln!("helm chart: {last}");
}
