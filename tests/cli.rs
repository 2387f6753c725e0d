//! The `okienko` command line: migrate, and tenant import that is idempotent and all or nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{output_text, shipped_cities};

fn okienko(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_okienko"))
        .args(args)
        .env("OKIENKO_DATA_DIR", data)
        .env_remove("DATABASE_URL")
        .env_remove("OKIENKO_NOW")
        .output()
        .unwrap()
}

fn copy_policies(to: &Path) {
    for city in shipped_cities() {
        let dir = to.join(city.file_name());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(city.path().join("tenant.toml"), dir.join("tenant.toml")).unwrap();
    }
}

#[test]
fn import_is_idempotent_and_all_or_nothing() {
    let data = tempfile::tempdir().unwrap();
    let policies = tempfile::tempdir().unwrap();
    copy_policies(policies.path());
    let dir = policies.path().to_str().unwrap();

    let out = okienko(data.path(), &["migrate"]);
    assert!(out.status.success(), "{}", output_text(&out));

    let first = okienko(data.path(), &["tenants", "import", dir]);
    assert!(first.status.success(), "{}", output_text(&first));
    assert_eq!(
        output_text(&first).matches(": Created").count(),
        5,
        "{}",
        output_text(&first)
    );
    let again = okienko(data.path(), &["tenants", "import", dir]);
    assert!(again.status.success());
    assert_eq!(
        output_text(&again).matches(": Unchanged").count(),
        5,
        "{}",
        output_text(&again)
    );

    // One good change and one broken file: nothing is imported, the error names file, line, field.
    let gd = policies.path().join("gdynia/tenant.toml");
    let changed = std::fs::read_to_string(&gd)
        .unwrap()
        .replace("horizon_days = 30", "horizon_days = 31");
    std::fs::write(&gd, changed).unwrap();
    let op = policies.path().join("opole/tenant.toml");
    let original = std::fs::read_to_string(&op).unwrap();
    let broken = original.replacen("capacity_online = 1", "capacity_online = \"jeden\"", 1);
    let line = broken
        .lines()
        .position(|l| l.contains("\"jeden\""))
        .unwrap()
        + 1;
    std::fs::write(&op, broken).unwrap();
    let out = okienko(data.path(), &["tenants", "import", dir]);
    assert!(!out.status.success());
    let msg = output_text(&out);
    assert!(
        msg.contains(&format!("opole/tenant.toml:{line}: pole `capacity_online`")),
        "{msg}"
    );
    assert!(msg.contains("nothing imported"), "{msg}");

    // Fixed: now Gdynia is updated (it was not half-imported before) and the rest unchanged.
    std::fs::write(&op, original).unwrap();
    let out = okienko(data.path(), &["tenants", "import", dir]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("gdynia: Updated"),
        "{}",
        output_text(&out)
    );
    assert_eq!(output_text(&out).matches(": Unchanged").count(), 4);
}

#[test]
fn unknown_database_scheme_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_okienko"))
        .arg("migrate")
        .env("OKIENKO_DATA_DIR", data.path())
        .env("DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        output_text(&out).contains("unsupported DATABASE_URL"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn a_bad_request_timeout_is_refused_with_the_variable_named() {
    let data = tempfile::tempdir().unwrap();
    for bad in ["10s", "0"] {
        let out = Command::new(env!("CARGO_BIN_EXE_okienko"))
            .arg("serve")
            .env("OKIENKO_DATA_DIR", data.path())
            .env("OKIENKO_REQUEST_TIMEOUT_MS", bad)
            .env_remove("DATABASE_URL")
            .env_remove("OKIENKO_NOW")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}: {}", output_text(&out));
        assert!(
            output_text(&out)
                .contains("OKIENKO_REQUEST_TIMEOUT_MS: expected a whole number of milliseconds"),
            "{bad}: {}",
            output_text(&out)
        );
    }
}
