//! What a policy costs a booking request, and how long a hostile script holds a thread.
//!
//! - `validate_booking/<city>`: the shipped policy's `validate_booking` with a realistic `ctx`
//!   (a vehicle service with VIN for Zielona Góra, an ID pickup with a no-show in the history
//!   for Opole …), JSON in and out included. Target: under 100 µs per call. The number of rhai
//!   operations each call takes is printed first (it does not depend on the machine's load).
//! - `validate_booking/empty-hook`: a hook that does nothing, with Zielona Góra's `ctx`: the
//!   host's own cost (JSON → rhai → JSON and the call).
//! - `compile/<city>`: compiling a new version (a cache miss).
//! - `hostile/endless-loop`: an endless loop under the default limits, until it is stopped.
//! - `hostile/endless-loop-deadline-only`: the same with the operation limit off, so only the
//!   wall-clock deadline (50 ms) stops it.
//!
//! Run: `cargo bench -p okienko-policy --bench evaluate`; medians are in
//! `target/criterion/<group>/<name>/new/estimates.json`. Figures: `load-tests/POLICY-RESULTS.md`.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use okienko_policy::testing::{fill_defaults, toml_to_json};
use okienko_policy::{Limits, PolicyEngine, PolicyError};
use serde_json::{json, Value};

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn source(city: &str) -> String {
    std::fs::read_to_string(policies().join(city).join("policy.rhai")).unwrap()
}

fn settings(city: &str) -> Value {
    let text = std::fs::read_to_string(policies().join(city).join("policy-settings.toml")).unwrap();
    toml_to_json(&toml::Value::Table(toml::from_str(&text).unwrap()))
}

/// A booking as the host would describe it, with a client who has booked before.
fn ctx(city: &str) -> Value {
    let mut ctx = match city {
        "zielona-gora" => json!({
            "service": {"key": "rejestracja-pojazdu", "name": "Rejestracja pojazdu nowego, sprowadzonego lub zakupionego na terytorium RP", "department": null, "letter": null},
            "client": {"name": "Jan Kowalski", "email": "jan.kowalski@example.pl", "phone": "+48 600 100 200"},
            "fields": {"registration_number": "fz 7c412", "vin_tail": "a4b71", "owner_name": "Jan Kowalski", "proxy_name": "Ewa Wiśniewska"},
            "history": {"active_by_identity": {"email:jan.kowalski@example.pl": 1, "phone:48600100200": 1, "vin_tail:A4B71": 0}},
        }),
        "gdynia" => json!({
            "service": {"key": "dowod-osobisty-wniosek", "name": "Złożenie wniosku o wydanie dowodu osobistego", "department": "sprawy-obywatelskie", "letter": null},
            "client": {"name": "Anna Nowak", "email": "anna.nowak@example.pl", "phone": "601 202 303"},
            "history": {"active_by_identity": {"email:anna.nowak@example.pl": 2, "phone:48601202303": 1}},
        }),
        "opole" => json!({
            "service": {"key": "dowod-osobisty-odbior", "name": "Odbiór nowego dowodu osobistego", "department": "ewidencja-ludnosci", "letter": null},
            "client": {"name": "Anna Nowak", "email": "anna.nowak@example.pl", "phone": "601202303"},
            "fields": {"application_number": "do/123456/2026"},
            "history": {
                "active_by_identity": {"email:anna.nowak@example.pl": 1},
                "active": [{"service": "zaswiadczenie", "department": "ewidencja-ludnosci", "start": "2026-12-09T08:00:00Z", "local_date": "2026-12-09", "identities": ["email:anna.nowak@example.pl"]}],
                "no_shows": [{"at": "2026-09-14T09:00:00Z", "department": "ewidencja-ludnosci", "identity": "email:anna.nowak@example.pl"}],
            },
        }),
        "dabrowa-gornicza" => json!({
            "service": {"key": "rejestracja-dzialalnosci", "name": "Rejestracja działalności gospodarczej", "department": "rozwoj", "letter": "R"},
            "client": {"name": "Jan Kowalski", "email": "Jan.Kowalski@Example.PL", "phone": "+48 600-100-200"},
            "history": {"active_by_identity": {"phone:48600100200": 2, "email:jan.kowalski@example.pl": 2}},
        }),
        "cieszyn" => json!({
            "service": {"key": "dowody-osobiste", "name": "Dowody osobiste", "department": "wsodg", "letter": "D"},
            "client": {"name": null, "email": "jan.kowalski@example.pl", "phone": null},
            "history": {"active_by_identity": {"email:jan.kowalski@example.pl": 1}},
        }),
        other => panic!("no ctx for {other}"),
    };
    ctx["slot"] = json!({"start": "2026-12-07T09:00:00Z"});
    fill_defaults("validate_booking", city, &settings(city), &mut ctx);
    ctx
}

const CITIES: [&str; 5] = [
    "zielona-gora",
    "gdynia",
    "opole",
    "dabrowa-gornicza",
    "cieszyn",
];

/// Default limits but a long deadline: these benchmarks measure the work of a call, and on a
/// busy machine a call that is descheduled for 50 ms would otherwise fail and end the run.
fn engine() -> PolicyEngine {
    PolicyEngine::new(Limits {
        deadline: Duration::from_secs(1),
        ..Limits::default()
    })
}

/// The operations a call takes: found by bisecting the operation limit. Unlike the times it
/// does not depend on how busy the machine is.
fn operations(city: &str, source: &str, ctx: &Value) -> u64 {
    let (mut low, mut high) = (1u64, Limits::default().max_operations);
    while low < high {
        let mid = (low + high) / 2;
        let engine = PolicyEngine::new(Limits {
            max_operations: mid,
            deadline: Duration::from_secs(1),
            ..Limits::default()
        });
        let policy = engine.compile(city, source).unwrap();
        match policy.call(&engine, "validate_booking", ctx.clone()) {
            Err(PolicyError::OverBudget { reason }) if reason.contains("operation limit") => {
                low = mid + 1
            }
            _ => high = mid,
        }
    }
    low
}

fn validate_booking(c: &mut Criterion) {
    for city in CITIES {
        let ops = operations(city, &source(city), &ctx(city));
        eprintln!("validate_booking/{city}: {ops} operations");
    }
    let engine = engine();
    let mut group = c.benchmark_group("validate_booking");
    for city in CITIES {
        let policy = engine.compile(city, &source(city)).unwrap();
        let ctx = ctx(city);
        // The case must be accepted, or the figure would be that of an early refusal.
        policy
            .call(&engine, "validate_booking", ctx.clone())
            .unwrap_or_else(|e| panic!("{city}: {e}"));
        group.bench_function(city, |b| {
            b.iter(|| {
                policy
                    .call(&engine, "validate_booking", black_box(ctx.clone()))
                    .unwrap()
            })
        });
    }
    let empty = engine
        .compile("empty", "fn validate_booking(ctx) { }")
        .unwrap();
    let zg = ctx("zielona-gora");
    group.bench_function("empty-hook", |b| {
        b.iter(|| {
            empty
                .call(&engine, "validate_booking", black_box(zg.clone()))
                .unwrap()
        })
    });
    group.finish();
}

fn compile(c: &mut Criterion) {
    let engine = engine();
    let mut group = c.benchmark_group("compile");
    for city in CITIES {
        let text = source(city);
        let mut n = 0u64;
        group.bench_function(city, |b| {
            b.iter(|| {
                // A new version every time: the cache cannot answer.
                n += 1;
                engine.compile(city, &format!("{text}\n// {n}")).unwrap()
            })
        });
    }
    group.finish();
}

fn hostile(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let cases = [
        ("endless-loop", Limits::default()),
        (
            "endless-loop-deadline-only",
            Limits {
                max_operations: 0,
                ..Limits::default()
            },
        ),
    ];
    for (name, limits) in cases {
        let engine = PolicyEngine::new(limits);
        let policy = engine
            .compile("wrogie-miasto", "fn validate_booking(ctx) { loop { } }")
            .unwrap();
        let ctx = ctx("zielona-gora");
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = policy.call(&engine, "validate_booking", black_box(ctx.clone()));
                assert!(matches!(r, Err(PolicyError::OverBudget { .. })));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, validate_booking, compile, hostile);
criterion_main!(benches);
