//! Hostile scripts are stopped within their budget with `PolicyError::OverBudget` (a limit
//! reached) or `PolicyError::Failed` (anything else wrong), never a panic, and the shared engine
//! keeps answering for everyone else (P-6). The end-to-end test of one city's hostile script
//! beside another city's bookings is `tests/e2e_faults.rs`; the load figures are in
//! `load-tests/RESULTS.md`.
//!
//! The 2-second bound below is a safety net against a script that is never stopped, not a
//! speed claim: the figures are in `load-tests/POLICY-RESULTS.md`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use okienko_policy::{Limits, PolicyEngine, PolicyError};
use serde_json::json;

const SAFETY_BOUND: Duration = Duration::from_secs(2);

/// The default limits with a longer clock: the operation and size limits are what these tests
/// exercise, and a well-behaved call descheduled for 50 ms on a busy test machine would fail.
fn limits() -> Limits {
    Limits {
        deadline: Duration::from_millis(500),
        ..Limits::default()
    }
}

const GOOD: &str = r#"
    fn validate_booking(ctx) {
        if ctx.fields.x == "no" { throw #{ code: "NO", message: "Nie." } }
        #{ fields: #{ x: ctx.fields.x + "!" } }
    }
"#;

/// Calls `validate_booking` of `script` and returns the error.
fn stopped(engine: &PolicyEngine, name: &str, script: &str) -> PolicyError {
    stopped_in(engine, name, script, "validate_booking")
}

fn stopped_in(engine: &PolicyEngine, name: &str, script: &str, hook: &str) -> PolicyError {
    let policy = engine
        .compile("wrogie-miasto", script)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let started = Instant::now();
    let result = policy.call(engine, hook, json!({"fields": {}}));
    let took = started.elapsed();
    assert!(took < SAFETY_BOUND, "{name}: stopped only after {took:?}");
    match result {
        Err(e @ (PolicyError::Failed { .. } | PolicyError::OverBudget { .. })) => e,
        other => panic!("{name}: expected Failed or OverBudget, got {other:?}"),
    }
}

/// The reasons that are a budget's limit, not a mistake of the script.
const BUDGET: &[&str] = &[
    "operation limit",
    "deadline",
    "call depth",
    "size limit",
    "are taken",
];

fn good_still_answers(engine: &PolicyEngine) {
    let good = engine.compile("dobre-miasto", GOOD).unwrap();
    let out = good
        .call(engine, "validate_booking", json!({"fields": {"x": "tak"}}))
        .unwrap();
    assert_eq!(out, Some(json!({"fields": {"x": "tak!"}})));
    let refused = good.call(engine, "validate_booking", json!({"fields": {"x": "no"}}));
    assert_eq!(refused.unwrap_err().code(), "NO");
}

const HOSTILE: &[(&str, &str, &str)] = &[
    (
        "endless loop",
        "fn validate_booking(ctx) { loop {} }",
        "operation limit|deadline",
    ),
    (
        "endless loop that catches",
        "fn validate_booking(ctx) { loop { try { loop {} } catch (e) {} } }",
        "operation limit|deadline",
    ),
    (
        "while true with work",
        "fn validate_booking(ctx) { let i = 0; while true { i += 1; } }",
        "operation limit|deadline",
    ),
    (
        "deep recursion",
        "fn down(n) { down(n + 1) } fn validate_booking(ctx) { down(0) }",
        "call depth",
    ),
    (
        "mutual recursion",
        "fn a(n) { b(n) } fn b(n) { a(n) } fn validate_booking(ctx) { a(0) }",
        "call depth",
    ),
    (
        "100 MB string by doubling",
        r#"fn validate_booking(ctx) { let s = "x"; for i in 0..27 { s += s; } s }"#,
        "size limit",
    ),
    (
        "string padded to 1 GB",
        r#"fn validate_booking(ctx) { let s = "x"; s.pad(1_000_000_000, 'y'); s }"#,
        "size limit",
    ),
    (
        "array by doubling",
        "fn validate_booking(ctx) { let a = [1]; loop { a += a; } }",
        "size limit",
    ),
    (
        "array padded to 1e9",
        "fn validate_booking(ctx) { let a = []; a.pad(1_000_000_000, 0); a }",
        "size limit",
    ),
    (
        "blob of 1e9 bytes",
        "fn validate_booking(ctx) { blob(1_000_000_000) }",
        "size limit",
    ),
    (
        "arrays nested 10 000 × 10 000",
        "fn validate_booking(ctx) { let b = []; b.pad(10_000, 0); let a = []; loop { a.push(b); } }",
        "size limit",
    ),
    (
        "strings spread over an array",
        r#"fn validate_booking(ctx) { let s = "x"; s.pad(60_000, 'y'); let a = []; loop { a.push(s + "z"); } }"#,
        "size limit",
    ),
    (
        "a captured (shared) value stored inside an array",
        "fn validate_booking(ctx) { let x = [1]; let f = || x.len(); let a = [x, x]; a.push(x); #{ a: a, f: f } }",
        "returned",
    ),
    (
        "map growing without end",
        "fn validate_booking(ctx) { let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; } }",
        "size limit|deadline|operation limit",
    ),
    (
        "expensive host calls: a new pattern to compile every time",
        r#"fn validate_booking(ctx) { let i = 0; loop { matches("x", `^(a|b|c){1,${100 + i}}x{1,50}$`); i += 1; } }"#,
        "operation limit|deadline|size limit",
    ),
    (
        "a huge map of fields returned",
        r#"fn validate_booking(ctx) { let m = #{}; for i in 0..1000 { m[`f${i}`] = "x"; } #{ fields: m } }"#,
        "are taken",
    ),
    (
        "throw 42",
        "fn validate_booking(ctx) { throw 42; }",
        "throw of",
    ),
    (
        r#"throw "x""#,
        r#"fn validate_booking(ctx) { throw "x"; }"#,
        "throw of",
    ),
    (
        "throw a map without message",
        r#"fn validate_booking(ctx) { throw #{ code: "VIN_INVALID" }; }"#,
        "without a `message`",
    ),
    (
        "throw a map with a lower-case code",
        r#"fn validate_booking(ctx) { throw #{ code: "vin", message: "Zły VIN" }; }"#,
        "SCREAMING_SNAKE",
    ),
    (
        "runtime error",
        "fn validate_booking(ctx) { let a = [1]; a[5] }",
        "out of bounds",
    ),
    (
        "wrong return type",
        "fn validate_booking(ctx) { 42 }",
        "returned",
    ),
    (
        "return of a function pointer",
        "fn validate_booking(ctx) { Fn(\"validate_booking\") }",
        "not plain data",
    ),
];

#[test]
fn hostile_scripts_fail_within_their_budget() {
    let engine = PolicyEngine::new(limits());
    for (name, script, expect) in HOSTILE {
        let e = stopped(&engine, name, script);
        let reason = e.reason();
        // Whichever budget runs out first: a slow (debug) build may meet the clock first.
        assert!(
            expect.split('|').any(|e| reason.contains(e)),
            "{name}: reason „{reason}” lacks „{expect}”"
        );
        let budget = BUDGET.iter().any(|b| expect.contains(b));
        assert_eq!(e.is_over_budget(), budget, "{name}: {e:?}");
        assert_eq!(e.code(), "POLICY_ERROR", "{name}");
        good_still_answers(&engine);
    }
}

/// An identity flood: 10,000 keys for one booking are refused as over the budget, whatever the
/// rhai limits allow.
#[test]
fn an_identity_flood_is_over_the_budget() {
    let engine = PolicyEngine::new(limits());
    let e = stopped_in(
        &engine,
        "identity flood",
        r#"fn identity_keys(ctx) { let a = []; for i in 0..10000 { a.push(#{ kind: "email", value: `a${i}@b.pl` }); } a }"#,
        "identity_keys",
    );
    assert!(e.is_over_budget(), "{e:?}");
    // A slow (debug) build may meet the clock before the end of the loop.
    let reason = e.reason();
    assert!(BUDGET.iter().any(|b| reason.contains(b)), "{reason}");
    good_still_answers(&engine);
}

#[test]
fn deadline_stops_a_script_the_operation_limit_would_not() {
    let limits = Limits {
        max_operations: 0, // unlimited: only the clock stops it
        deadline: Duration::from_millis(200),
        ..Limits::default()
    };
    let engine = PolicyEngine::new(limits);
    let reason = stopped(
        &engine,
        "endless loop",
        "fn validate_booking(ctx) { loop {} }",
    )
    .reason();
    assert!(reason.contains("deadline"), "{reason}");
    good_still_answers(&engine);
}

#[test]
fn hostile_and_good_calls_side_by_side_on_one_engine() {
    let engine = Arc::new(PolicyEngine::new(limits()));
    let hostile = {
        let engine = engine.clone();
        thread::spawn(move || {
            for _ in 0..10 {
                stopped(
                    &engine,
                    "endless loop",
                    "fn validate_booking(ctx) { loop {} }",
                );
            }
        })
    };
    for _ in 0..200 {
        good_still_answers(&engine);
    }
    hostile.join().unwrap();
}

#[test]
fn forbidden_features_do_not_compile() {
    let engine = PolicyEngine::new(limits());
    let deep = format!(
        "fn validate_booking(ctx) {{ {}1{} }}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let huge = format!("fn validate_booking(ctx) {{ \"{}\" }}", "x".repeat(300_000));
    for (name, script) in [
        ("eval", r#"fn validate_booking(ctx) { eval("40 + 2") }"#),
        (
            "import",
            r#"import "plik" as p; fn validate_booking(ctx) { () }"#,
        ),
        ("deeply nested expression", deep.as_str()),
        ("source over the size limit", huge.as_str()),
        (
            "undefined variable",
            "fn validate_booking(ctx) { nieznana }",
        ),
        (
            "hook with two parameters",
            "fn validate_booking(ctx, extra) { () }",
        ),
        ("private hook", "private fn validate_booking(ctx) { () }"),
    ] {
        match engine.compile("wrogie-miasto", script) {
            Err(PolicyError::Compile { message }) => assert!(!message.is_empty(), "{name}"),
            other => panic!("{name}: expected Compile, got {other:?}"),
        }
    }
    good_still_answers(&engine);
}
