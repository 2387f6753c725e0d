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
//!
//! All of them also accept `()` and then return `()`, so `normalize_email(ctx.client.email)` needs
//! no check for a missing e-mail first.

use chrono::{DateTime, Duration, NaiveDate};
use rhai::{Dynamic, Engine, INT};

use okienko_domain::calendar;
use okienko_domain::validate;

/// Days `add_days` accepts, either way: far beyond any booking horizon or block.
const MAX_DAYS: INT = 100_000;

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
        .register_fn("format_date_pl", |_: ()| Dynamic::UNIT);
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
