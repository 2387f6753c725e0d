//! The retention schedule in `tenant.toml` (P-5, GD-14).

use std::path::PathBuf;

use okienko_domain::config::{RetentionRules, TenantConfig};

fn shipped(slug: &str) -> (String, String) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(slug)
        .join("tenant.toml");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (format!("policies/{slug}/tenant.toml"), text)
}

fn load(slug: &str) -> TenantConfig {
    let (file, text) = shipped(slug);
    TenantConfig::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn gd14_phone_bookings_are_kept_until_the_visit_day() {
    let cfg = load("gdynia");
    assert_eq!(cfg.retention.phone_days_after_visit, Some(0));
    assert_eq!(cfg.retention.days_for("phone"), 0);
    assert_eq!(cfg.retention.days_for("online"), 30);
    let (_, text) = shipped("gdynia");
    assert!(text.contains("GD-14"), "the rule is named where it is set");
}

#[test]
fn without_a_retention_table_thirty_days_apply_to_every_booking() {
    let cfg = load("opole");
    assert_eq!(cfg.retention, RetentionRules::default());
    assert_eq!(cfg.retention.days_for("phone"), 30);
    assert_eq!(cfg.retention.days_for("online"), 30);
}

#[test]
fn a_phone_schedule_longer_than_the_general_one_is_capped_by_it() {
    let r = RetentionRules {
        days_after_visit: 7,
        phone_days_after_visit: Some(90),
    };
    assert_eq!(r.days_for("phone"), 7);
}

#[test]
fn unknown_keys_and_too_long_schedules_are_refused_with_their_line() {
    let (file, text) = shipped("gdynia");
    let bad = text.replace("days_after_visit = 30", "days_after_visit = 99999");
    let e = TenantConfig::parse(&file, &bad).expect_err("too long");
    assert_eq!(e.field, "retention.days_after_visit", "{e}");
    let bad = text.replace("[retention]\n", "[retention]\nkeep_forever = true\n");
    let e = TenantConfig::parse(&file, &bad).expect_err("unknown key");
    assert!(e.message.contains("keep_forever"), "{e}");
}
