//! Gdynia's `[oidc]` table (GD-5): read with its defaults, refused with the field named.

use std::path::PathBuf;

use okienko_domain::config::{OidcClaims, OidcConfig, TenantConfig};

fn gdynia() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/gdynia/tenant.toml");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Gdynia's file with its `[oidc]` table's lines replaced by `table`.
fn with_oidc(table: &str) -> String {
    let text = gdynia();
    let start = text.find("[oidc]\n").expect("an [oidc] table");
    let end = start + text[start..].find("\n\n").expect("its end");
    format!("{}{table}{}", &text[..start], &text[end..])
}

fn refused_field(table: &str) -> String {
    match TenantConfig::parse("gdynia/tenant.toml", &with_oidc(table)) {
        Ok(_) => panic!("accepted: {table}"),
        Err(e) => e.field,
    }
}

#[test]
fn gdynia_names_its_provider_and_the_variable_of_its_secret() {
    let cfg =
        TenantConfig::parse("gdynia/tenant.toml", &gdynia()).unwrap_or_else(|e| panic!("{e}"));
    let o = cfg.oidc.expect("Gdynia's [oidc]");
    assert_eq!(o.issuer, "https://konto.gdynia.pl");
    assert_eq!(o.client_secret_env, "OKIENKO_OIDC_SECRET_GDYNIA");
    assert!(o.scopes.iter().any(|s| s == "openid"));
    assert_eq!(o.claims, OidcClaims::default());
}

#[test]
fn scopes_and_claim_names_have_defaults() {
    let cfg = TenantConfig::parse(
        "gdynia/tenant.toml",
        &with_oidc("[oidc]\nissuer = \"https://id.example/\"\nclient_id = \"c\"\nclient_secret_env = \"OKIENKO_OIDC_SECRET_GDYNIA\""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = cfg.oidc.expect("[oidc]");
    assert_eq!(o.scopes, ["openid", "profile", "email", "phone"]);
    assert_eq!(o.claims.name, "name");
    assert_eq!(o.claims.email, "email");
    assert_eq!(o.claims.phone, "phone_number");
    assert_eq!(o.issuer_base(), "https://id.example");
}

#[test]
fn the_secret_variable_is_the_citys_own() {
    assert_eq!(
        OidcConfig::secret_env_for("zielona-gora"),
        "OKIENKO_OIDC_SECRET_ZIELONA_GORA"
    );
}

#[test]
fn a_wrong_table_is_refused_with_the_field_named() {
    let ok = "client_id = \"c\"\nclient_secret_env = \"OKIENKO_OIDC_SECRET_GDYNIA\"";
    for (table, field) in [
        (format!("[oidc]\nissuer = \"http://id.example\"\n{ok}"), "oidc.issuer"),
        (format!("[oidc]\nissuer = \"https://id.example?x=1\"\n{ok}"), "oidc.issuer"),
        ("[oidc]\nissuer = \"https://id.example\"\nclient_id = \" \"\nclient_secret_env = \"OKIENKO_OIDC_SECRET_GDYNIA\"".to_string(), "oidc.client_id"),
        // Another of the server's secrets, or another city's, is not the city's to name.
        ("[oidc]\nissuer = \"https://id.example\"\nclient_id = \"c\"\nclient_secret_env = \"OKIENKO_SECRET\"".to_string(), "oidc.client_secret_env"),
        ("[oidc]\nissuer = \"https://id.example\"\nclient_id = \"c\"\nclient_secret_env = \"OKIENKO_OIDC_SECRET_OPOLE\"".to_string(), "oidc.client_secret_env"),
        (format!("[oidc]\nissuer = \"https://id.example\"\n{ok}\nscopes = [\"email\"]"), "oidc.scopes"),
        (format!("[oidc]\nissuer = \"https://id.example\"\n{ok}\nclaims = {{ name = \"\" }}"), "oidc.claims.name"),
    ] {
        assert_eq!(refused_field(&table), field, "{table}");
    }
    // The secret itself has no place in the file.
    let f = refused_field(&format!(
        "[oidc]\nissuer = \"https://id.example\"\n{ok}\nclient_secret = \"s\""
    ));
    assert!(f.contains("client_secret"), "{f}");
}
