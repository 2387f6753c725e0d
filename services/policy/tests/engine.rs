//! The host's contract with a policy: hook detection, arguments and answers, refusals,
//! compile errors, the version cache and a fresh scope per call.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use okienko_policy::{Limits, PolicyEngine, PolicyError};
use serde_json::json;

/// Default limits with a long clock: these tests check behaviour, and a call descheduled for
/// 50 ms on a busy test machine must not fail them (the budgets are tested in sandbox.rs).
fn engine() -> PolicyEngine {
    PolicyEngine::new(Limits {
        deadline: std::time::Duration::from_secs(5),
        ..Limits::default()
    })
}

#[test]
fn hooks_are_detected_by_name() {
    let e = engine();
    let p = e
        .compile(
            "opole",
            r#"
            fn validate_booking(ctx) { () }
            fn identity_keys(ctx) { [] }
            fn helper(a, b) { a + b }
            private fn hidden(x) { x }
            "#,
        )
        .unwrap();
    assert!(p.has_hook("validate_booking"));
    assert!(p.has_hook("identity_keys"));
    assert!(!p.has_hook("map_claims"));
    assert!(
        !p.has_hook("helper"),
        "two parameters: not callable as a hook"
    );
    assert!(!p.has_hook("hidden"), "private");
    assert_eq!(
        p.hooks().collect::<Vec<_>>(),
        ["identity_keys", "validate_booking"]
    );
    assert_eq!(p.hash().len(), 64);
}

#[test]
fn missing_hook_is_none() {
    let e = engine();
    let p = e
        .compile("opole", "fn validate_booking(ctx) { () }")
        .unwrap();
    assert_eq!(p.call(&e, "map_claims", json!({})), Ok(None));
}

#[test]
fn json_goes_in_as_maps_and_comes_back() {
    let e = engine();
    let p = e
        .compile(
            "gdynia",
            r#"
            fn echo(ctx) {
                #{
                    kind: type_of(ctx), name: ctx.client.name, missing: ctx.client.phone,
                    absent: ctx.nothing, count: ctx.history.n + 1, items: ctx.items.len(),
                    first: ctx.items[0], ok: ctx.flag, half: ctx.ratio * 2.0,
                }
            }
            fn validate_booking(ctx) { () }
            "#,
        )
        .unwrap();
    let out = p
        .call(
            &e,
            "echo",
            json!({"client": {"name": "Anna Nowak", "phone": null}, "history": {"n": 2},
                   "items": ["a", "b"], "flag": true, "ratio": 0.25}),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        json!({"kind": "map", "name": "Anna Nowak", "missing": null, "absent": null, "count": 3,
               "items": 2, "first": "a", "ok": true, "half": 0.5})
    );
    assert_eq!(
        p.call(&e, "validate_booking", json!({})),
        Ok(Some(serde_json::Value::Null)),
        "unit is null"
    );
}

#[test]
fn a_thrown_map_is_a_refusal_even_from_a_helper() {
    let e = engine();
    let p = e
        .compile(
            "zielona-gora",
            r#"
            fn refuse(code, message, field) { throw #{ code: code, message: message, field: field }; }
            fn validate_booking(ctx) {
                if ctx.fields.vin_tail == "00000" {
                    refuse("VIN_INVALID", "Podaj prawdziwe 5 ostatnich znaków VIN.", "fields.vin_tail");
                }
                if ctx.fields.vin_tail == () {
                    throw #{ code: "VEHICLE_ID_REQUIRED", message: "Podaj numer rejestracyjny albo VIN." };
                }
            }
            "#,
        )
        .unwrap();
    let err = p
        .call(
            &e,
            "validate_booking",
            json!({"fields": {"vin_tail": "00000"}}),
        )
        .unwrap_err();
    assert_eq!(
        err,
        PolicyError::Rejected {
            code: "VIN_INVALID".into(),
            message: "Podaj prawdziwe 5 ostatnich znaków VIN.".into(),
            field: Some("fields.vin_tail".into()),
        }
    );
    assert_eq!(err.code(), "VIN_INVALID");
    assert_eq!(
        err.public_message(),
        "Podaj prawdziwe 5 ostatnich znaków VIN."
    );
    let err = p
        .call(&e, "validate_booking", json!({"fields": {}}))
        .unwrap_err();
    assert_eq!(err.code(), "VEHICLE_ID_REQUIRED");
    assert_eq!(err.field(), None);
    assert_eq!(
        p.call(
            &e,
            "validate_booking",
            json!({"fields": {"vin_tail": "A1B2C"}})
        ),
        Ok(Some(serde_json::Value::Null))
    );
}

#[test]
fn other_throws_are_failures_with_a_generic_message() {
    let e = engine();
    let p = e
        .compile("cieszyn", "fn validate_booking(ctx) { throw 42; }")
        .unwrap();
    let err = p.call(&e, "validate_booking", json!({})).unwrap_err();
    assert!(matches!(err, PolicyError::Failed { .. }), "{err:?}");
    assert_eq!(err.code(), "POLICY_ERROR");
    assert!(!err.public_message().contains("42"));
}

#[test]
fn compile_errors_name_the_line() {
    let e = engine();
    let err = e
        .compile("cieszyn", "fn validate_booking(ctx) {\n  let x = ;\n}\n")
        .unwrap_err();
    match &err {
        PolicyError::Compile { message } => assert!(message.contains("line 2"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "POLICY_ERROR");
}

#[test]
fn versions_are_cached_by_tenant_and_source() {
    let e = engine();
    let v1 = "fn validate_booking(ctx) { () }";
    let v2 = "fn validate_booking(ctx) { throw #{ code: \"NO\", message: \"Nie.\" }; }";
    let a = e.compile("gdynia", v1).unwrap();
    let b = e.compile("gdynia", v1).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "the same source is compiled once");
    let c = e.compile("gdynia", v2).unwrap();
    assert!(!Arc::ptr_eq(&a, &c), "a changed source is a new version");
    assert_ne!(a.hash(), c.hash());
    let d = e.compile("opole", v1).unwrap();
    assert!(!Arc::ptr_eq(&a, &d), "each tenant has its own");
    assert_eq!(a.hash(), d.hash(), "the version is the source's hash");
    assert_eq!(d.tenant(), "opole");
    // The older version still answers while the new one is active (activation swaps them).
    assert_eq!(
        a.call(&e, "validate_booking", json!({})),
        Ok(Some(serde_json::Value::Null))
    );
    assert_eq!(
        c.call(&e, "validate_booking", json!({}))
            .unwrap_err()
            .code(),
        "NO"
    );
}

#[test]
fn every_call_starts_with_a_fresh_scope() {
    let e = engine();
    let p = e
        .compile(
            "opole",
            r#"
            let seen = true;  // top-level code is dropped at compile time
            fn probe(ctx) {
                let before = is_def_var("seen");
                let seen = ctx.n;
                #{ before: before, now: seen }
            }
            "#,
        )
        .unwrap();
    for n in 1..=3 {
        assert_eq!(
            p.call(&e, "probe", json!({"n": n})).unwrap(),
            Some(json!({"before": false, "now": n}))
        );
    }
}

#[test]
fn the_argument_is_a_copy() {
    let e = engine();
    let p = e
        .compile("opole", "fn change(ctx) { ctx.fields.x = 1; ctx.fields }")
        .unwrap();
    let arg = json!({"fields": {"x": 0}});
    assert_eq!(
        p.call(&e, "change", arg.clone()).unwrap(),
        Some(json!({"x": 1}))
    );
    assert_eq!(arg, json!({"fields": {"x": 0}}));
}

#[test]
fn host_helpers_are_available() {
    let e = engine();
    let p = e
        .compile(
            "dabrowa-gornicza",
            r#"
            fn probe(ctx) {
                #{
                    phone: normalize_phone_pl(ctx.phone),
                    nothing: normalize_phone_pl(ctx.missing),
                    email: normalize_email(ctx.email),
                    last_day: format_date_pl(add_days(local_date(ctx.at), 30)),
                    days: days_between("2026-12-01", local_date(ctx.at)),
                }
            }
            "#,
        )
        .unwrap();
    let out = p
        .call(
            &e,
            "probe",
            json!({"phone": "+48 600-100-200", "email": "Ala@Poczta.PL", "at": "2026-11-20T23:30:00Z"}),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        json!({"phone": "48600100200", "nothing": null, "email": "Ala@poczta.pl",
               "last_day": "21.12.2026", "days": -10})
    );
}
