//! The five cities' shipped policies pass their own tests (`policies/<slug>/tests/*.toml`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use okienko_policy::testing::run_dir;
use okienko_policy::{Limits, PolicyEngine};

const CITIES: [&str; 5] = [
    "zielona-gora",
    "gdynia",
    "opole",
    "dabrowa-gornicza",
    "cieszyn",
];

/// Cases each city must have at least.
const MIN_CASES: usize = 10;

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn engine() -> PolicyEngine {
    // The shipped cases check logic, not budgets: a generous clock keeps a busy test machine
    // (an unoptimised build, other tests on both cores) from turning a slow call into a failure.
    PolicyEngine::new(Limits {
        deadline: Duration::from_secs(5),
        ..Limits::default()
    })
}

#[test]
fn every_city_passes_its_policy_tests() {
    let engine = engine();
    let mut failed = Vec::new();
    for city in CITIES {
        let report =
            run_dir(&engine, &policies().join(city)).unwrap_or_else(|e| panic!("{city}: {e}"));
        println!("== {city}\n{report}");
        let total = report.passed.len() + report.failed.len();
        assert!(total >= MIN_CASES, "{city}: only {total} cases");
        if !report.ok() {
            failed.push(city);
        }
    }
    assert!(
        failed.is_empty(),
        "failed cases in {failed:?} (see the output above)"
    );
}

#[test]
fn every_city_has_a_policy_and_is_tested_here() {
    let mut dirs: Vec<String> = std::fs::read_dir(policies())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("tenant.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut want = CITIES.map(String::from).to_vec();
    want.sort();
    assert_eq!(dirs, want);
    for city in CITIES {
        assert!(policies().join(city).join("policy.rhai").exists(), "{city}");
    }
}
