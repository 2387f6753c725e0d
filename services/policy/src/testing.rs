//! Policy tests: cases in `policies/<slug>/tests/*.toml`, run against `policy.rhai` before a
//! version is activated (and by `okienko policy test <dir>`).
//!
//! ```toml
//! [[case]]
//! name = "VIN z literą O jest odrzucany"
//! hook = "validate_booking"            # the default
//! input.service = { key = "rejestracja-pojazdu" }
//! input.client = { name = "Jan Kowalski", email = "jan@example.pl", phone = "600100200" }
//! input.fields = { vin_tail = "12O45", owner_name = "Jan Kowalski" }
//! expect = { error = "VIN_INVALID", field = "fields.vin_tail" }
//! ```
//!
//! `expect` is `"accepted"` (the hook answered without refusing), `{ error = "CODE" }` (optionally
//! with `field` and `message_contains`; `POLICY_ERROR` matches any failure) or
//! `{ returns = … }`: the returned value must contain what is given (maps: these keys with
//! matching values, others ignored; arrays: the same length, element by element). A hook that
//! returned `()` passes `"accepted"`, not `returns`.
//!
//! The runner fills what a case leaves out: `tenant` (the directory's name), `settings` (from
//! the `[policy]` table of `tenant.toml`), `now = "2026-12-01T08:00:00Z"`, `source = "online"`, empty
//! `client`, `fields` and `history`, and `slot.local_date`, `slot.local_time`, `slot.weekday`
//! computed in Europe/Warsaw from `slot.start`. Which of them depends on the hook: see
//! [`fill_defaults`].

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike};
use serde_json::{json, Map, Value};

use okienko_domain::calendar;

use crate::engine::PolicyEngine;
use crate::error::PolicyError;
use crate::hooks;

/// The instant cases run at unless they say otherwise.
pub const DEFAULT_NOW: &str = "2026-12-01T08:00:00Z";

/// The outcome of a run: case names, and the failed ones with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub passed: Vec<String>,
    pub failed: Vec<(String, String)>,
}

impl Report {
    /// No case failed.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.passed {
            writeln!(f, "ok   {name}")?;
        }
        for (name, why) in &self.failed {
            writeln!(f, "FAIL {name}: {why}")?;
        }
        write!(
            f,
            "{} passed, {} failed",
            self.passed.len(),
            self.failed.len()
        )
    }
}

/// Why the tests could not be run at all (as opposed to a case failing).
#[derive(Debug, thiserror::Error)]
pub enum TestRunError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("policy.rhai: {0}")]
    Policy(PolicyError),
}

/// Runs `policy_dir/tests/*.toml` (in name order) against `policy_dir/policy.rhai`, with the
/// settings of the `[policy]` table of `policy_dir/tenant.toml` (optional). The tenant is the directory's name.
pub fn run_dir(engine: &PolicyEngine, policy_dir: &Path) -> Result<Report, TestRunError> {
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p).map_err(|source| TestRunError::Io { path: p, source })
    };
    let tenant = policy_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tenant".to_string());
    let source = read(policy_dir.join("policy.rhai"))?;
    let settings = match policy_dir.join("tenant.toml") {
        p if p.exists() => settings_of_tenant(&read(p)?).unwrap_or_else(|| json!({})),
        _ => json!({}),
    };
    let files = read_tests(&policy_dir.join("tests"))?;
    run_sources(engine, &tenant, &source, &settings, &files)
}

/// The `[policy]` table of a tenant.toml text, as JSON (None when absent or unreadable).
pub fn settings_of_tenant(tenant_toml: &str) -> Option<Value> {
    let table: toml::Table = tenant_toml.parse().ok()?;
    let policy = table.get("policy")?.as_table()?;
    Some(toml_to_json(&toml::Value::Table(policy.clone())))
}

/// The test files of a directory (`*.toml`), sorted by name, as (file name, text).
pub fn read_tests(tests_dir: &Path) -> Result<Vec<(String, String)>, TestRunError> {
    let mut files = Vec::new();
    if !tests_dir.is_dir() {
        return Ok(files);
    }
    let entries = std::fs::read_dir(tests_dir).map_err(|source| TestRunError::Io {
        path: tests_dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&p).map_err(|source| TestRunError::Io {
            path: p.clone(),
            source,
        })?;
        files.push((name, text));
    }
    Ok(files)
}

/// The same as [`run_dir`] from data: a candidate version held in memory, the tenant's
/// `[policy]` settings (a JSON object; [`toml_to_json`] converts a TOML table), and test files
/// as (file name, TOML text).
pub fn run_sources(
    engine: &PolicyEngine,
    tenant: &str,
    policy_source: &str,
    settings: &Value,
    test_files: &[(String, String)],
) -> Result<Report, TestRunError> {
    let policy = engine
        .compile(tenant, policy_source)
        .map_err(TestRunError::Policy)?;
    let mut report = Report::default();
    let mut tested = std::collections::BTreeSet::new();
    for (file, text) in test_files {
        let invalid = |message: String| TestRunError::Invalid {
            file: file.clone(),
            message,
        };
        let doc: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for key in doc.keys() {
            if key != "case" {
                return Err(invalid(format!("unknown key `{key}` (cases are [[case]])")));
            }
        }
        let cases = match doc.get("case") {
            None => &Vec::new(),
            Some(toml::Value::Array(a)) => a,
            Some(_) => return Err(invalid("`case` must be [[case]] tables".into())),
        };
        let stem = file.strip_suffix(".toml").unwrap_or(file);
        for (i, case) in cases.iter().enumerate() {
            let case = Case::parse(case).map_err(|m| invalid(format!("case {}: {m}", i + 1)))?;
            let name = format!("{stem}: {}", case.name);
            tested.insert(case.hook.clone());
            let mut input = case.input;
            fill_defaults(&case.hook, tenant, settings, &mut input);
            let outcome = if policy.has_hook(&case.hook) {
                policy
                    .call(engine, &case.hook, input)
                    .map(|v| v.unwrap_or(Value::Null))
            } else {
                Err(PolicyError::Failed {
                    reason: format!("the policy has no hook `{}`", case.hook),
                })
            };
            match judge(&case.expect, &outcome) {
                Ok(()) => report.passed.push(name),
                Err(why) => report.failed.push((name, why)),
            }
        }
    }
    // Activation asks for at least one case per hook the script defines.
    for hook in policy.hooks().filter(|h| hooks::HOOKS.contains(h)) {
        if !tested.contains(hook) {
            report.failed.push((
                format!("hook `{hook}`"),
                "no test case (every hook the script defines needs at least one)".into(),
            ));
        }
    }
    Ok(report)
}

struct Case {
    name: String,
    hook: String,
    input: Value,
    expect: Expect,
}

enum Expect {
    Accepted,
    Error {
        code: String,
        field: Option<String>,
        message_contains: Option<String>,
    },
    Returns(Value),
}

impl Case {
    fn parse(v: &toml::Value) -> Result<Case, String> {
        let t = v.as_table().ok_or("not a table")?;
        for k in t.keys() {
            if !matches!(k.as_str(), "name" | "hook" | "input" | "expect") {
                return Err(format!("unknown key `{k}` (name, hook, input, expect)"));
            }
        }
        let name = t
            .get("name")
            .and_then(toml::Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or("`name` missing")?
            .to_string();
        let hook = match t.get("hook") {
            None => hooks::VALIDATE_BOOKING.to_string(),
            Some(h) => h.as_str().ok_or("`hook` must be text")?.to_string(),
        };
        let input = match t.get("input") {
            None => json!({}),
            Some(i @ toml::Value::Table(_)) => toml_to_json(i),
            Some(_) => return Err(format!("{name}: `input` must be a table")),
        };
        let expect = match t.get("expect") {
            Some(toml::Value::String(s)) if s == "accepted" => Expect::Accepted,
            Some(toml::Value::Table(e)) => {
                let text = |k: &str| -> Result<Option<String>, String> {
                    match e.get(k) {
                        None => Ok(None),
                        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                        Some(_) => Err(format!("{name}: `expect.{k}` must be text")),
                    }
                };
                for k in e.keys() {
                    if !matches!(
                        k.as_str(),
                        "error" | "field" | "message_contains" | "returns"
                    ) {
                        return Err(format!("{name}: unknown key `expect.{k}`"));
                    }
                }
                match (text("error")?, e.get("returns")) {
                    (Some(code), None) => Expect::Error {
                        code,
                        field: text("field")?,
                        message_contains: text("message_contains")?,
                    },
                    (None, Some(r)) if e.len() == 1 => Expect::Returns(toml_to_json(r)),
                    _ => {
                        return Err(format!(
                            "{name}: `expect` needs either `error` (with optional `field`, \
                             `message_contains`) or `returns`"
                        ))
                    }
                }
            }
            _ => {
                return Err(format!(
                    "{name}: `expect` must be \"accepted\", {{ error = \"CODE\" }} or {{ returns = … }}"
                ))
            }
        };
        Ok(Case {
            name,
            hook,
            input,
            expect,
        })
    }
}

fn judge(expect: &Expect, outcome: &Result<Value, PolicyError>) -> Result<(), String> {
    let got = |o: &Result<Value, PolicyError>| match o {
        Ok(v) if v.is_null() => "accepted (returned ())".to_string(),
        Ok(v) => format!("accepted, returned {v}"),
        Err(PolicyError::Rejected {
            code,
            message,
            field,
        }) => format!(
            "{code} ({message}){}",
            field
                .as_ref()
                .map(|f| format!(" on {f}"))
                .unwrap_or_default()
        ),
        Err(e) => format!("POLICY_ERROR: {e}"),
    };
    match (expect, outcome) {
        (Expect::Accepted, Ok(_)) => Ok(()),
        (Expect::Accepted, o) => Err(format!("expected accepted, got {}", got(o))),
        (
            Expect::Error {
                code,
                field,
                message_contains,
            },
            Err(e),
        ) if e.code() == code => {
            if let Some(f) = field {
                if e.field() != Some(f.as_str()) {
                    return Err(format!("expected {code} on {f}, got {}", got(outcome)));
                }
            }
            if let Some(m) = message_contains {
                if !e.public_message().contains(m.as_str()) {
                    return Err(format!(
                        "expected {code} with a message containing „{m}”, got {}",
                        got(outcome)
                    ));
                }
            }
            Ok(())
        }
        (Expect::Error { code, .. }, o) => Err(format!("expected {code}, got {}", got(o))),
        (Expect::Returns(want), Ok(v)) => {
            contains(v, want, "$").map_err(|why| format!("{why}; returned {v}"))
        }
        (Expect::Returns(want), o) => Err(format!("expected it to return {want}, got {}", got(o))),
    }
}

/// Whether `actual` contains `want`: maps by key (extra keys allowed), arrays element by
/// element with the same length, numbers by value, the rest by equality.
fn contains(actual: &Value, want: &Value, path: &str) -> Result<(), String> {
    match (actual, want) {
        (Value::Object(a), Value::Object(w)) => w.iter().try_for_each(|(k, wv)| {
            let p = format!("{path}.{k}");
            match a.get(k) {
                Some(av) => contains(av, wv, &p),
                None => Err(format!("{p} missing")),
            }
        }),
        (Value::Array(a), Value::Array(w)) => {
            if a.len() != w.len() {
                return Err(format!("{path}: {} items, expected {}", a.len(), w.len()));
            }
            a.iter()
                .zip(w)
                .enumerate()
                .try_for_each(|(i, (av, wv))| contains(av, wv, &format!("{path}[{i}]")))
        }
        (Value::Number(a), Value::Number(w)) if a.as_f64() == w.as_f64() => Ok(()),
        (a, w) if a == w => Ok(()),
        (a, w) => Err(format!("{path}: expected {w}, got {a}")),
    }
}

/// TOML → JSON; dates and times become their RFC 3339 text.
pub fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Fills what a case leaves out of its `ctx`, per hook (never overwrites what is given):
///
/// | hook | filled |
/// | --- | --- |
/// | `validate_booking` | tenant, source, now, settings, client, fields, slot.local_*, history (each part) |
/// | `identity_keys` | tenant, source, now, settings, client, fields, slot.local_* |
/// | `map_claims`, `validate_change` | settings |
/// | `queue_order` | now |
/// | `form_fields` | fields (`[]`) |
/// | any other | tenant, now, settings |
pub fn fill_defaults(hook: &str, tenant: &str, settings: &Value, input: &mut Value) {
    let Value::Object(m) = input else {
        return;
    };
    let put = |m: &mut Map<String, Value>, k: &str, v: Value| {
        m.entry(k.to_string()).or_insert(v);
    };
    match hook {
        hooks::VALIDATE_BOOKING | hooks::IDENTITY_KEYS => {
            put(m, "tenant", json!(tenant));
            put(m, "source", json!("online"));
            put(m, "now", json!(DEFAULT_NOW));
            put(m, "settings", settings.clone());
            put(m, "client", json!({}));
            put(m, "fields", json!({}));
            if let Some(Value::Object(slot)) = m.get_mut("slot") {
                fill_slot(slot);
            }
            if hook == hooks::VALIDATE_BOOKING {
                put(m, "history", json!({}));
                if let Some(Value::Object(h)) = m.get_mut("history") {
                    put(h, "active_by_identity", json!({}));
                    put(h, "active", json!([]));
                    put(h, "no_shows", json!([]));
                    put(h, "cancelled_recently", json!(0));
                }
            }
        }
        hooks::MAP_CLAIMS | hooks::VALIDATE_CHANGE => put(m, "settings", settings.clone()),
        hooks::QUEUE_ORDER => put(m, "now", json!(DEFAULT_NOW)),
        hooks::FORM_FIELDS => put(m, "fields", json!([])),
        _ => {
            put(m, "tenant", json!(tenant));
            put(m, "now", json!(DEFAULT_NOW));
            put(m, "settings", settings.clone());
        }
    }
}

/// `slot.local_date`, `local_time` and `weekday` from `slot.start`, in Europe/Warsaw.
fn fill_slot(slot: &mut Map<String, Value>) {
    let Some(start) = slot
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    else {
        return;
    };
    let local = calendar::to_local(start.to_utc());
    let mut put = |k: &str, v: Value| {
        slot.entry(k.to_string()).or_insert(v);
    };
    put("local_date", json!(local.format("%Y-%m-%d").to_string()));
    put("local_time", json!(local.format("%H:%M").to_string()));
    put("weekday", json!(local.weekday().number_from_monday()));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Limits;

    const POLICY: &str = r#"
        fn validate_booking(ctx) {
            if ctx.fields.x == "no" { throw #{ code: "NO", message: "Nie.", field: "fields.x" } }
            if ctx.fields.x == "norm" { return #{ fields: #{ x: "NORM" } } }
        }
    "#;

    #[test]
    fn every_hook_the_script_defines_needs_a_case() {
        let e = PolicyEngine::new(Limits::default());
        let src = "fn validate_booking(ctx) { () } fn identity_keys(ctx) { [] } fn helper(x) { x }";
        let only_one = r#"
            [[case]]
            name = "accepted"
            expect = "accepted"
        "#;
        let r = run_sources(
            &e,
            "t",
            src,
            &json!({}),
            &[("a.toml".into(), only_one.into())],
        )
        .unwrap();
        assert!(!r.ok());
        assert_eq!(r.failed.len(), 1, "{r}");
        assert_eq!(r.failed[0].0, "hook `identity_keys`", "{r}");
        let both = format!("{only_one}\n[[case]]\nname = \"keys\"\nhook = \"identity_keys\"\nexpect = \"accepted\"\n");
        let r = run_sources(&e, "t", src, &json!({}), &[("a.toml".into(), both)]).unwrap();
        assert!(r.ok(), "{r}");
    }

    #[test]
    fn runs_cases_and_reports_each() {
        let cases = r#"
            [[case]]
            name = "accepted"
            input.fields = { x = "yes" }
            expect = "accepted"

            [[case]]
            name = "refused"
            input.fields = { x = "no" }
            expect = { error = "NO", field = "fields.x", message_contains = "Nie" }

            [[case]]
            name = "returns"
            input.fields = { x = "norm" }
            expect = { returns = { fields = { x = "NORM" } } }

            [[case]]
            name = "wrong expectation"
            input.fields = { x = "yes" }
            expect = { error = "NO" }

            [[case]]
            name = "missing hook"
            hook = "map_claims"
            expect = "accepted"
        "#;
        let e = PolicyEngine::new(Limits {
            deadline: std::time::Duration::from_secs(5),
            ..Limits::default()
        });
        let r = run_sources(
            &e,
            "t",
            POLICY,
            &json!({}),
            &[("a.toml".into(), cases.into())],
        )
        .expect("runs");
        assert_eq!(r.passed, ["a: accepted", "a: refused", "a: returns"]);
        assert_eq!(r.failed.len(), 2, "{r}");
        assert!(!r.ok());
        assert!(r.to_string().ends_with("\n3 passed, 2 failed"), "{r}");
        assert!(r.failed[1].1.contains("no hook"), "{r}");
    }

    #[test]
    fn malformed_case_files_are_errors() {
        let e = PolicyEngine::new(Limits {
            deadline: std::time::Duration::from_secs(5),
            ..Limits::default()
        });
        for bad in [
            "[[case]]\nname = \"x\"\n",
            "[[case]]\nname = \"x\"\nexpect = \"fine\"\n",
            "[[case]]\nname = \"x\"\nexpect = { error = \"A\", returns = 1 }\n",
            "[[case]]\nname = \"x\"\nexpected = \"accepted\"\n",
            "[[kase]]\nname = \"x\"\n",
            "not toml",
        ] {
            let r = run_sources(
                &e,
                "t",
                POLICY,
                &json!({}),
                &[("b.toml".into(), bad.into())],
            );
            assert!(matches!(r, Err(TestRunError::Invalid { .. })), "{bad}");
        }
    }

    #[test]
    fn defaults_fill_only_what_is_missing() {
        let mut input = json!({"source": "phone", "slot": {"start": "2026-07-01T06:30:00Z"}, "history": {"cancelled_recently": 2}});
        fill_defaults(
            "validate_booking",
            "opole",
            &json!({"identity_cap": 2}),
            &mut input,
        );
        assert_eq!(input["source"], "phone");
        assert_eq!(input["tenant"], "opole");
        assert_eq!(input["settings"]["identity_cap"], 2);
        assert_eq!(input["slot"]["local_time"], "08:30", "summer time: UTC+2");
        assert_eq!(input["slot"]["weekday"], 3);
        assert_eq!(input["history"]["cancelled_recently"], 2);
        assert_eq!(input["history"]["no_shows"], json!([]));
    }

    #[test]
    fn containment() {
        assert!(contains(&json!({"a": 1, "b": [1, 2]}), &json!({"b": [1, 2]}), "$").is_ok());
        assert!(contains(&json!({"a": 1}), &json!({"a": 1.0}), "$").is_ok());
        assert!(contains(&json!({"a": 1}), &json!({"b": 1}), "$").is_err());
        assert!(contains(&json!([1, 2]), &json!([1]), "$").is_err());
    }
}
