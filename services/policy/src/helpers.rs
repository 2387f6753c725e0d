//! Functions the host gives every script, besides rhai's standard library.
//!
//! Each takes text and returns the answer or `()` when the input is not what it expects, so a
//! script decides what a bad value means (refuse, ignore) instead of failing:
//!
//! | function | returns |
//! | --- | --- |
//! | `normalize_phone_pl(s)` | a Polish number as `48xxxxxxxxx` (from `+48`, `0048`, spaces, dashes, dots, brackets), else `()` |
//! | `normalize_email(s)` | the address trimmed, domain lower-cased, if it is a plausible address, else `()` |
//! | `local_date(s)` | the Europe/Warsaw date `YYYY-MM-DD` of an RFC 3339 instant (a date is returned as it is) |
//! | `add_days(date, n)` | the date `n` days after (`n` may be negative), `YYYY-MM-DD` |
//! | `days_between(a, b)` | whole days from date `a` to date `b` (negative when `b` is earlier) |
//! | `format_date_pl(s)` | `dd.mm.yyyy` of a date or of an instant's Warsaw date |
//! | `trimmed(v)` | `v` without leading and trailing white space, or `()` when `v` is missing, blank or not text |
//! | `over_cap(counts, keys, cap)` | the first key `#{ kind, value }` of `keys` whose count in `counts` (`history.active_by_identity`, keyed `"<kind>:<value>"`) is `cap` or more; `()` when none is, or when `cap` is not a positive integer |
//! | `matches(s, pattern)` | whether the regular expression matches somewhere in `s` (anchor it with `^…$` for the whole text); `false` for `()` |
//! | `digits_of(s)` | the digits 0–9 of `s`, in order (`"FZ 123-45"` → `"12345"`) |
//!
//! All of them also accept `()` and then return `()` (`matches`: `false`), so
//! `normalize_email(ctx.client.email)` needs no check for a missing e-mail first.
//!
//! `matches` uses the `regex` crate's syntax (no look-around, no back-references) and runs in
//! time linear in the text, so a pattern cannot stall a call; an invalid pattern is a script
//! error (`POLICY_ERROR`). Compiled patterns are kept per thread. Character loops are slow in
//! rhai (about 0.4 µs a character), so these helpers are the fast way to check a format.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate};
use regex::Regex;
use rhai::{Dynamic, Engine, EvalAltResult, Position, INT};

use okienko_domain::calendar;
use okienko_domain::validate;

/// Days `add_days` accepts, either way: far beyond any booking horizon or block.
const MAX_DAYS: INT = 100_000;

/// Longest pattern `matches` compiles, and the most compiled patterns kept per thread.
const MAX_PATTERN: usize = 1_000;
const PATTERNS_KEPT: usize = 64;

thread_local! {
    static PATTERNS: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_fn("normalize_phone_pl", |s: &str| {
            text(validate::phone("phone", s).ok())
        })
        .register_fn("normalize_phone_pl", |_: ()| Dynamic::UNIT)
        .register_fn("normalize_email", |s: &str| {
            text(validate::email("email", s).ok())
        })
        .register_fn("normalize_email", |_: ()| Dynamic::UNIT)
        .register_fn("local_date", |s: &str| {
            text(date_of(s).map(|d| d.to_string()))
        })
        .register_fn("local_date", |_: ()| Dynamic::UNIT)
        .register_fn("add_days", |s: &str, n: INT| {
            text(add_days(s, n).map(|d| d.to_string()))
        })
        .register_fn("add_days", |_: (), _: INT| Dynamic::UNIT)
        .register_fn("days_between", |a: &str, b: &str| {
            match (date_of(a), date_of(b)) {
                (Some(a), Some(b)) => Dynamic::from_int((b - a).num_days()),
                _ => Dynamic::UNIT,
            }
        })
        .register_fn("days_between", |_: (), _: &str| Dynamic::UNIT)
        .register_fn("days_between", |_: &str, _: ()| Dynamic::UNIT)
        .register_fn("days_between", |_: (), _: ()| Dynamic::UNIT)
        .register_fn("format_date_pl", |s: &str| {
            text(date_of(s).map(|d| d.format("%d.%m.%Y").to_string()))
        })
        .register_fn("format_date_pl", |_: ()| Dynamic::UNIT)
        .register_fn("trimmed", |v: Dynamic| match v.into_immutable_string() {
            Ok(s) if !s.trim().is_empty() => Dynamic::from(s.trim().to_string()),
            _ => Dynamic::UNIT,
        })
        .register_fn("over_cap", over_cap)
        .register_fn("matches", matches)
        .register_fn("matches", |_: (), _: &str| false)
        .register_fn("digits_of", |s: &str| {
            s.chars().filter(char::is_ascii_digit).collect::<String>()
        })
        .register_fn("digits_of", |_: ()| Dynamic::UNIT);
}

fn over_cap(counts: Dynamic, keys: Dynamic, cap: Dynamic) -> Dynamic {
    let (Ok(cap), Some(counts), Some(keys)) = (
        cap.as_int(),
        counts.read_lock::<rhai::Map>(),
        keys.read_lock::<rhai::Array>(),
    ) else {
        return Dynamic::UNIT;
    };
    if cap <= 0 {
        return Dynamic::UNIT;
    }
    for key in keys.iter() {
        let Some(k) = key.read_lock::<rhai::Map>() else {
            continue;
        };
        let part = |name: &str| k.get(name).and_then(|v| v.clone().into_string().ok());
        let (Some(kind), Some(value)) = (part("kind"), part("value")) else {
            continue;
        };
        let count = counts
            .get(format!("{kind}:{value}").as_str())
            .and_then(|n| n.as_int().ok())
            .unwrap_or(0);
        if count >= cap {
            return key.clone();
        }
    }
    Dynamic::UNIT
}

fn matches(text: &str, pattern: &str) -> Result<bool, Box<EvalAltResult>> {
    let found = PATTERNS.with(|cache| {
        let mut cache = cache.try_borrow_mut().ok()?;
        if let Some(re) = cache.get(pattern) {
            return Some(Ok(re.is_match(text)));
        }
        let re = compile_pattern(pattern);
        let answer = re
            .as_ref()
            .map(|re| re.is_match(text))
            .map_err(Clone::clone);
        if let Ok(re) = re {
            if cache.len() >= PATTERNS_KEPT {
                cache.clear();
            }
            cache.insert(pattern.to_string(), re);
        }
        Some(answer)
    });
    let answer = match found {
        Some(a) => a,
        None => compile_pattern(pattern).map(|re| re.is_match(text)),
    };
    answer.map_err(|e| EvalAltResult::ErrorRuntime(e.into(), Position::NONE).into())
}

fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!("pattern longer than {MAX_PATTERN} bytes"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid pattern: {e}"))
}

fn text(s: Option<String>) -> Dynamic {
    s.map(Dynamic::from).unwrap_or(Dynamic::UNIT)
}

/// A `YYYY-MM-DD` date, or the Warsaw date of an RFC 3339 instant.
fn date_of(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() > 64 {
        return None;
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| calendar::local_date(t.to_utc()))
}

fn add_days(s: &str, n: INT) -> Option<NaiveDate> {
    if !(-MAX_DAYS..=MAX_DAYS).contains(&n) {
        return None;
    }
    date_of(s)?.checked_add_signed(Duration::try_days(n)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(script: &str) -> Dynamic {
        let mut e = Engine::new();
        register(&mut e);
        e.eval::<Dynamic>(script).expect("evaluates")
    }

    #[test]
    fn phones_and_emails() {
        assert_eq!(
            eval(r#"normalize_phone_pl("+48 600-100-200")"#)
                .into_string()
                .ok()
                .as_deref(),
            Some("48600100200")
        );
        assert!(eval(r#"normalize_phone_pl("+49 600100200")"#).is_unit());
        assert!(eval("normalize_phone_pl(())").is_unit());
        assert_eq!(
            eval(r#"normalize_email(" Jan@Example.PL ")"#)
                .into_string()
                .ok()
                .as_deref(),
            Some("Jan@example.pl")
        );
        assert!(eval(r#"normalize_email("jan@")"#).is_unit());
    }

    #[test]
    fn trimmed_text() {
        assert_eq!(
            eval(r#"trimmed("  Jan  ")"#).into_string().ok().as_deref(),
            Some("Jan")
        );
        assert!(eval(r#"trimmed("   ")"#).is_unit());
        assert!(eval("trimmed(())").is_unit());
        assert!(eval("trimmed(42)").is_unit());
    }

    #[test]
    fn cap_lookup() {
        let first_over = |cap: &str| {
            eval(&format!(
                r#"let counts = #{{ "email:a@b.pl": 1, "phone:48600100200": 3 }};
                   let keys = [#{{ kind: "email", value: "a@b.pl" }}, #{{ kind: "phone", value: "48600100200" }}];
                   let k = over_cap(counts, keys, {cap}); if k == () {{ "" }} else {{ k.kind }}"#
            ))
            .into_string()
            .unwrap_or_default()
        };
        assert_eq!(first_over("1"), "email");
        assert_eq!(first_over("2"), "phone");
        assert_eq!(first_over("4"), "");
        assert_eq!(first_over("()"), "", "no cap configured");
        assert_eq!(first_over("0"), "", "a cap of 0 means none");
        assert!(eval("over_cap((), [], 2)").is_unit());
    }

    #[test]
    fn patterns_and_digits() {
        assert_eq!(
            eval(r#"matches("DO/123456/2026", "^[A-Z]{2,4}/[0-9]{4,10}/[0-9]{4}$")"#).as_bool(),
            Ok(true)
        );
        assert_eq!(eval(r#"matches("Łukasz", "\\pL")"#).as_bool(), Ok(true));
        assert_eq!(eval(r#"matches("12O45", "^[0-9]+$")"#).as_bool(), Ok(false));
        assert_eq!(eval(r#"matches((), "x")"#).as_bool(), Ok(false));
        assert_eq!(
            eval(r#"digits_of("FZ 123-45")"#)
                .into_string()
                .ok()
                .as_deref(),
            Some("12345")
        );
        let mut e = Engine::new();
        register(&mut e);
        assert!(
            e.eval::<bool>(r#"matches("a", "(")"#).is_err(),
            "an invalid pattern is an error"
        );
        assert!(e
            .eval::<bool>(&format!(r#"matches("a", "{}")"#, "a".repeat(2000)))
            .is_err());
    }

    #[test]
    fn dates_in_warsaw() {
        // 23:30 UTC on 31 December is already 1 January in Warsaw.
        assert_eq!(
            eval(r#"local_date("2026-12-31T23:30:00Z")"#)
                .into_string()
                .ok()
                .as_deref(),
            Some("2027-01-01")
        );
        assert_eq!(
            eval(r#"format_date_pl(add_days("2026-12-31", 30))"#)
                .into_string()
                .ok()
                .as_deref(),
            Some("30.01.2027")
        );
        assert_eq!(
            eval(r#"days_between("2026-12-01", "2026-11-01T10:00:00Z")"#).as_int(),
            Ok(-30)
        );
        assert!(eval(r#"add_days("2026-12-01", 1000000000)"#).is_unit());
        assert!(eval(r#"add_days("wczoraj", 1)"#).is_unit());
        assert!(eval(r#"format_date_pl(())"#).is_unit());
    }
}
