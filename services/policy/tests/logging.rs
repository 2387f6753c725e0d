//! `print`, `debug` and failures reach the log with the tenant's slug.
//!
//! Alone in its own test binary: tracing caches per call site whether anyone listens, and a
//! test running meanwhile on another thread without a subscriber could make that "no one".
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use okienko_policy::{Limits, PolicyEngine};
use serde_json::json;

/// Default limits with a long clock: these tests check behaviour, and a call descheduled for
/// 50 ms on a busy test machine must not fail them (the budgets are tested in sandbox.rs).
fn engine() -> PolicyEngine {
    PolicyEngine::new(Limits {
        deadline: std::time::Duration::from_secs(5),
        ..Limits::default()
    })
}

/// Collects what the engine logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn print_and_failures_go_to_the_log_with_the_tenant() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let e = engine();
        let p = e
            .compile(
                "gdynia",
                r#"
                fn validate_booking(ctx) { print(`sprawdzam ${ctx.n}`); debug("ślad"); }
                fn broken(ctx) { throw 42; }
                "#,
            )
            .unwrap();
        p.call(&e, "validate_booking", json!({"n": 7})).unwrap();
        p.call(&e, "broken", json!({})).unwrap_err();
    });
    let log = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("tenant=gdynia"), "{log}");
    assert!(log.contains("policy print: sprawdzam 7"), "{log}");
    assert!(log.contains("policy debug"), "{log}");
    assert!(
        log.contains("throw of"),
        "the failure's details are logged: {log}"
    );
}
