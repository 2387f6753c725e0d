//! A city's colours below 4.5:1 contrast are refused on every path that stores branding (W-4,
//! WCAG 2.1 AA 1.4.3): the admin API's `setBranding`, the platform API's `createTenant` and the
//! file import, each with BRANDING_CONTRAST, the field named and a Polish message; nothing is
//! stored. Colours that pass are stored, so each refusal can be told from a path that refuses
//! everything.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

const SET_BRANDING: &str = "mutation($p: String!, $s: String!) { setBranding(input: { displayName: \"Urząd Miejski w Cieszynie\", primaryColor: $p, secondaryColor: $s }) { hash } }";

const CONFIG_HASH: &str = "{ configuration { hash } }";

/// Cieszyn's admin sets its colours.
async fn set_branding(s: &Server, admin: &str, primary: &str, secondary: &str) -> Value {
    s.admin(
        "cieszyn",
        Some(admin),
        SET_BRANDING,
        json!({ "p": primary, "s": secondary }),
    )
    .await
}

/// The refusal of pale colours, wherever it comes from.
fn assert_contrast_refused(v: &Value) {
    assert_eq!(code_of(v), "BRANDING_CONTRAST", "{v}");
    let e = &v["errors"][0];
    assert_eq!(e["extensions"]["field"], "branding.secondary_color", "{v}");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("branding.secondary_color"), "{msg}");
    assert!(
        msg.contains("kontrast kolorów") && msg.contains("4,5:1"),
        "{msg}"
    );
}

fn cieszyn_toml() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/cieszyn/tenant.toml"),
    )
    .unwrap()
}

#[tokio::test]
async fn admin_set_branding_refuses_low_contrast() {
    let s = Server::start().await;
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, "cieszyn").await;
    let public = "{ tenant { branding { primaryColor secondaryColor } } }";
    let before = s.gql("cieszyn", public, json!({})).await;
    let hash = |v: &Value| v["data"]["configuration"]["hash"].clone();
    let stored = s
        .admin("cieszyn", Some(&admin), CONFIG_HASH, json!({}))
        .await;

    // Light grey on white (2.85:1), and white on a pale yellow.
    for (p, sec) in [("#999999", "#ffffff"), ("#ffe680", "#ffffff")] {
        let v = set_branding(&s, &admin, p, sec).await;
        assert_contrast_refused(&v);
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains(p),
            "the message shows the colours: {v}"
        );
    }
    // Nothing was stored: the public API and the stored configuration are as before.
    assert_eq!(s.gql("cieszyn", public, json!({})).await, before);
    let after = s
        .admin("cieszyn", Some(&admin), CONFIG_HASH, json!({}))
        .await;
    assert_eq!(hash(&after), hash(&stored), "{after}");

    // A malformed colour is a malformed field, not a contrast.
    let v = set_branding(&s, &admin, "czerwony", "#ffffff").await;
    assert_eq!(code_of(&v), "VALIDATION_FAILED", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["field"],
        "branding.primary_color"
    );

    // Dark enough (#767676 on white is 4.54:1): stored.
    let v = set_branding(&s, &admin, "#767676", "#ffffff").await;
    assert!(v["errors"].is_null(), "{v}");
    let v = s.gql("cieszyn", public, json!({})).await;
    assert_eq!(v["data"]["tenant"]["branding"]["primaryColor"], "#767676");
}

#[tokio::test]
async fn create_tenant_refuses_low_contrast() {
    let s = Server::start().await;
    let op = s.operator_token().await;
    let toml = cieszyn_toml()
        .replacen("slug = \"cieszyn\"", "slug = \"blade-miasto\"", 1)
        .replacen("name = \"", "name = \"Blade Miasto — ", 1);
    let pale = toml.replacen(
        "primary_color = \"#a6192e\"",
        "primary_color = \"#aaaaaa\"",
        1,
    );
    assert_ne!(pale, toml);
    let line = pale
        .lines()
        .position(|l| l.starts_with("secondary_color"))
        .unwrap()
        + 1;
    let create = "mutation($s: String!, $t: String!) { createTenant(slug: $s, tenantToml: $t) { slug status } }";
    let v = s
        .platform(Some(&op), create, json!({ "s": "blade-miasto", "t": pale }))
        .await;
    assert_contrast_refused(&v);
    assert_eq!(v["errors"][0]["extensions"]["line"], line, "{v}");
    let v = s
        .platform(Some(&op), "{ tenants { slug } }", json!({}))
        .await;
    let slugs: Vec<&str> = v["data"]["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert!(
        slugs.contains(&"cieszyn") && !slugs.contains(&"blade-miasto"),
        "not created: {v}"
    );

    let v = s
        .platform(Some(&op), create, json!({ "s": "blade-miasto", "t": toml }))
        .await;
    assert_eq!(v["data"]["createTenant"]["status"], "ACTIVE", "{v}");
}

#[test]
fn file_import_refuses_low_contrast() {
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("cieszyn");
    std::fs::create_dir_all(&city).unwrap();
    let okienko = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_okienko"))
            .args(args)
            .env("OKIENKO_DATA_DIR", data.path())
            .env_remove("DATABASE_URL")
            .env_remove("OKIENKO_NOW")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = okienko(&["migrate"]);
    assert!(ok, "{text}");
    let pale = cieszyn_toml().replacen(
        "secondary_color = \"#ffffff\"",
        "secondary_color = \"#e07080\"",
        1,
    );
    std::fs::write(city.join("tenant.toml"), &pale).unwrap();
    let path = dir.path().to_str().unwrap();
    let (ok, text) = okienko(&["tenants", "import", path]);
    assert!(!ok, "{text}");
    let line = pale
        .lines()
        .position(|l| l.starts_with("secondary_color"))
        .unwrap()
        + 1;
    assert!(
        text.contains(&format!(
            "tenant.toml:{line}: pole `branding.secondary_color`: kontrast kolorów"
        )),
        "{text}"
    );
    std::fs::write(city.join("tenant.toml"), cieszyn_toml()).unwrap();
    let (ok, text) = okienko(&["tenants", "import", path]);
    assert!(ok && text.contains(": Created"), "{text}");
}

/// W-2: a city's `logo.svg` beside its `tenant.toml` is imported with it and served at the
/// address the API announces, under a CSP that allows no script; a logo with a script or an
/// outside reference is refused with the field named; a city without one gets the neutral mark.
#[tokio::test]
async fn a_citys_logo_file_is_served_and_a_hostile_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("cieszyn");
    std::fs::create_dir_all(&city).unwrap();
    std::fs::write(city.join("tenant.toml"), cieszyn_toml()).unwrap();
    let cli = |data: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_okienko"))
            .args(["tenants", "import", dir.path().to_str().unwrap()])
            .env("OKIENKO_DATA_DIR", data)
            .env_remove("DATABASE_URL")
            .env_remove("OKIENKO_NOW")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        (out.status.success(), text)
    };
    for hostile in [
        r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><image href="https://tracker.example/x.png"/></svg>"#,
        "<p>not an image</p>",
    ] {
        std::fs::write(city.join("logo.svg"), hostile).unwrap();
        let data = tempfile::tempdir().unwrap();
        let (ok, text) = cli(data.path());
        assert!(!ok, "{hostile}: {text}");
        assert!(text.contains("branding.logo_svg"), "{text}");
    }
    let own = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><title>Herb</title><circle cx="24" cy="24" r="20" fill="#b30000"/></svg>"##;
    std::fs::write(city.join("logo.svg"), own).unwrap();
    let s = Server::builder()
        .env("OKIENKO_POLICIES", dir.path().to_str().unwrap())
        .start()
        .await;
    let r = reqwest::get(format!("{}/static/cieszyn/logo.svg", s.base))
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert_eq!(r.text().await.unwrap(), own);
    // A city of the shipped set has no logo file: the neutral mark.
    let plain = Server::start().await;
    let (status, neutral) = plain.get("/static/gdynia/logo.svg").await;
    assert_eq!(status, 200);
    assert!(
        neutral.contains("<svg") && !neutral.contains("Herb"),
        "{neutral}"
    );
}
