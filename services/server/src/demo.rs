//! `okienko demo` (issue 14): for each city of the policies directory on the configured
//! database, an administrator and a clerk with generated passwords, and one-time pairing codes
//! for a kiosk, a hall display and a door display of the city's first office — printed as the
//! addresses to open and the logins to type, so a newcomer sees the whole office on one machine
//! in a minute. Re-running makes new accounts (the old ones stay) and fresh codes.

use std::path::Path;

use anyhow::Context;
use okienko_app::auth::{self, DeviceKind, Role, StaffRef, UserRef};
use okienko_app::devices::{self, PairingRequest, PAIRING_MINUTES};
use okienko_app::records::{self, NewUser, Scope, StoreError};
use okienko_app::{ApiError, App, TenantCtx};
use serde_json::{json, Value};

use crate::import;

/// A staff account made for the demo.
struct Account {
    login: String,
    password: String,
}

/// Creates a staff member of `t` with a generated password; `{role}@{slug}.demo.pl`, or with a
/// number when an earlier run took that login.
async fn account(
    app: &App,
    t: &TenantCtx,
    role: Role,
    who: &str,
    name: &str,
) -> anyhow::Result<(Account, StaffRef)> {
    let password = auth::generate_password();
    let hash = auth::hash_password(&password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = app.clock.now().timestamp();
    for n in 1..100 {
        let login = if n == 1 {
            format!("{who}@{}.demo.pl", t.slug)
        } else {
            format!("{who}{n}@{}.demo.pl", t.slug)
        };
        let u = NewUser {
            login: login.clone(),
            display_name: name.to_string(),
            password_hash: hash.clone(),
            role: role.as_str(),
        };
        let audit = records::NewAudit::new("cli", "user.create", "")
            .after(json!({ "login": login, "role": role.as_str(), "via": "demo" }).to_string());
        match records::create_user(app, Scope::Tenant(t.id), &u, Some(&audit), now).await {
            Ok(row) => {
                let staff = StaffRef {
                    tenant: t.id,
                    user: UserRef::from(&row),
                    role,
                };
                return Ok((Account { login, password }, staff));
            }
            Err(ApiError::Store(StoreError::Unique(_))) => continue,
            Err(e) => return Err(anyhow::anyhow!("{}", e.domain())),
        }
    }
    anyhow::bail!("{}: no free demo login for {who}", t.slug)
}

/// A pairing code for a device of `t`'s first office, as `{ kind, name, code, url, … }`.
async fn device(
    app: &App,
    t: &TenantCtx,
    admin: &StaffRef,
    base: &str,
    (label, kind, desk, name): (&str, DeviceKind, Option<i64>, &str),
) -> anyhow::Result<Value> {
    let office = t.offices.first().context("a city without offices")?;
    let r = PairingRequest {
        kind,
        office_id: office.id,
        desk,
        name: name.to_string(),
    };
    let c = devices::create_pairing_code(app, t, admin, &r)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", t.slug, e.domain()))?;
    let screen = match (kind, desk) {
        (DeviceKind::Kiosk, _) => format!("/t/{}/kiosk", t.slug),
        (DeviceKind::Display, None) => format!("/t/{}/tablica", t.slug),
        (DeviceKind::Display, Some(n)) => format!("/t/{}/tablica/stanowisko/{n}", t.slug),
    };
    Ok(json!({
        "device": label,
        "name": name,
        "office": office.cfg.name,
        "desk": desk,
        "code": c.code,
        "expiresAt": c.expires_at.to_rfc3339(),
        "pairUrl": format!("{base}/t/{}/urzadzenie?kod={}", t.slug, c.code),
        "screenUrl": format!("{base}{screen}"),
    }))
}

/// What one city gets.
async fn city(app: &App, t: &TenantCtx, base: &str) -> anyhow::Result<Value> {
    let (admin, admin_ref) = account(app, t, Role::Admin, "admin", "Administrator (demo)").await?;
    let (clerk, _) = account(app, t, Role::Clerk, "urzednik", "Urzędnik (demo)").await?;
    let office = t.offices.first().context("a city without offices")?;
    let first_desk = t
        .cfg
        .desks
        .iter()
        .filter(|d| d.office == office.cfg.key)
        .map(|d| i64::from(d.number))
        .min();
    let mut screens = vec![
        device(
            app,
            t,
            &admin_ref,
            base,
            ("kiosk", DeviceKind::Kiosk, None, "Biletomat (demo)"),
        )
        .await?,
        device(
            app,
            t,
            &admin_ref,
            base,
            (
                "hall display",
                DeviceKind::Display,
                None,
                "Tablica w holu (demo)",
            ),
        )
        .await?,
    ];
    if let Some(n) = first_desk {
        let name = format!("Tablica przy stanowisku {n} (demo)");
        screens.push(
            device(
                app,
                t,
                &admin_ref,
                base,
                ("door display", DeviceKind::Display, Some(n), &name),
            )
            .await?,
        );
    }
    let slug = &t.slug;
    Ok(json!({
        "slug": slug,
        "name": t.cfg.name,
        "loginUrl": format!("{base}/t/{slug}/personel/logowanie"),
        "admin": { "login": admin.login, "password": admin.password },
        "clerk": { "login": clerk.login, "password": clerk.password },
        "staffUrl": format!("{base}/t/{slug}/personel"),
        "deskUrl": format!("{base}/t/{slug}/stanowisko"),
        "desk": first_desk,
        "admissionUrl": format!("{base}/t/{slug}/staff/przyjecia"),
        "citizenUrl": format!("{base}/t/{slug}/"),
        "devices": screens,
    }))
}

/// Runs the demo set-up for the cities of `policies` (all of the catalog's when that directory
/// has none) and returns what to print.
pub async fn run(app: &App, policies: &Path, base: &str) -> anyhow::Result<Value> {
    let mut slugs: Vec<String> = if policies.is_dir() {
        import::parse_all(&import::tenant_files(policies)?)?
            .into_iter()
            .map(|t| t.slug)
            .collect()
    } else {
        Vec::new()
    };
    if slugs.is_empty() {
        slugs = app.catalog.slugs().to_vec();
    }
    let mut cities = Vec::new();
    for slug in slugs {
        let Some(t) = app.catalog.get(&slug) else {
            continue;
        };
        cities.push(city(app, &t, base).await?);
    }
    Ok(json!({ "baseUrl": base, "pairingMinutes": PAIRING_MINUTES, "cities": cities }))
}

/// The set-up as a person reads it.
pub fn text(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut out = String::new();
    let base = s(&v["baseUrl"]);
    out += &format!(
        "okienko demo: open these on {base} (start the server with `okienko serve`).\n\
         Each screen keeps its device in a cookie: open each device in a browser profile of its\n\
         own, e.g. `chromium --user-data-dir=/tmp/okienko-kiosk --app=<pair URL>`.\n\
         Pairing links work once, for {} minutes; run `okienko demo` again for fresh ones.\n",
        v["pairingMinutes"]
    );
    for c in v["cities"].as_array().into_iter().flatten() {
        out += &format!("\n{} ({})\n", s(&c["name"]), s(&c["slug"]));
        out += &format!("  staff login    {}\n", s(&c["loginUrl"]));
        out += &format!(
            "    administrator  {}  password: {}\n",
            s(&c["admin"]["login"]),
            s(&c["admin"]["password"])
        );
        out += &format!(
            "    clerk          {}  password: {}\n",
            s(&c["clerk"]["login"]),
            s(&c["clerk"]["password"])
        );
        out += &format!("  desk screen    {} (as the clerk)\n", s(&c["deskUrl"]));
        for d in c["devices"].as_array().into_iter().flatten() {
            out += &format!(
                "  {:<14} {}  (code {}, then {})\n",
                s(&d["device"]),
                s(&d["pairUrl"]),
                s(&d["code"]),
                s(&d["screenUrl"])
            );
        }
        out += &format!("  citizens       {}\n", s(&c["citizenUrl"]));
    }
    out
}
