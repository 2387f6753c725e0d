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

/// A form posted as the pages post it (same origin), redirects not followed: (status, Location,
/// Set-Cookie values).
async fn post_page(base: &str, path: &str, form: &[(&str, &str)]) -> (u16, String, Vec<String>) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}{path}"))
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (r.status().as_u16(), location, cookies)
}

/// Issue 14: `okienko demo --json` gives each demo city logins that work on the staff login
/// page and pairing links that make this browser the city's kiosk and displays.
#[tokio::test]
async fn demo_prints_logins_and_pairing_links_that_work_on_the_running_server() {
    let s = common::Server::start().await;
    let out = s.cli(&["demo", "--json"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cities = v["cities"].as_array().unwrap();
    let slugs: Vec<&str> = cities.iter().map(|c| c["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs.len(), 5, "{v}");
    assert_eq!(v["pairingMinutes"], 10);
    for c in cities {
        let slug = c["slug"].as_str().unwrap();
        let base = c["loginUrl"].as_str().unwrap().split("/t/").next().unwrap();
        let login_path = format!("/t/{slug}/personel/logowanie");
        assert_eq!(
            c["loginUrl"].as_str().unwrap(),
            format!("{base}{login_path}")
        );
        for who in ["admin", "clerk"] {
            let (status, to, cookies) = post_page(
                &s.base,
                &login_path,
                &[
                    ("login", c[who]["login"].as_str().unwrap()),
                    ("password", c[who]["password"].as_str().unwrap()),
                ],
            )
            .await;
            assert_eq!(status, 303, "{slug} {who}");
            assert_eq!(to, format!("/t/{slug}/personel"));
            assert!(cookies.iter().any(|c| c.starts_with("okienko_staff=oks_")));
        }
        let devices = c["devices"].as_array().unwrap();
        assert!(devices.len() >= 2, "{c}");
        for d in devices {
            let url = d["pairUrl"].as_str().unwrap();
            let code = url.split("?kod=").nth(1).unwrap();
            assert_eq!(code, d["code"].as_str().unwrap());
            let (status, to, cookies) =
                post_page(&s.base, &format!("/t/{slug}/urzadzenie"), &[("code", code)]).await;
            assert_eq!(status, 303, "{slug}: {d}");
            assert_eq!(format!("{base}{to}"), d["screenUrl"].as_str().unwrap());
            assert!(cookies.iter().any(|c| c.starts_with("okienko_device=okd_")));
        }
        assert_eq!(devices[0]["device"], "kiosk");
        assert!(devices[0]["screenUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/t/{slug}/kiosk")));
    }

    // Again: new accounts beside the old ones, fresh codes; the text form names every city.
    let again = s.cli(&["demo"]);
    let text = output_text(&again);
    assert!(again.status.success(), "{text}");
    for slug in slugs {
        assert!(text.contains(&format!("admin2@{slug}.demo.pl")), "{text}");
        assert!(
            text.contains(&format!("/t/{slug}/urzadzenie?kod=")),
            "{text}"
        );
    }
}

#[tokio::test]
async fn create_operator_prints_json_that_logs_in() {
    let s = common::Server::start().await;
    let out = s.cli(&[
        "users",
        "create-operator",
        "ops-json@okienko.example.pl",
        "--json",
    ]);
    assert!(out.status.success(), "{}", output_text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["login"], "ops-json@okienko.example.pl");
    assert!(v["id"].as_str().is_some(), "{v}");
    let login = s
        .platform(
            None,
            common::LOGIN,
            serde_json::json!({ "l": v["login"], "p": v["password"] }),
        )
        .await;
    assert!(
        common::str_at(&login, "/data/login/token").starts_with("oks_"),
        "{login}"
    );
    let twice = s.cli(&[
        "users",
        "create-operator",
        "ops-json@okienko.example.pl",
        "--json",
    ]);
    assert!(!twice.status.success(), "the login is taken");
}
