//! Devices, API keys and policy versions as the admin API shows them.

use async_graphql::{Enum, InputObject, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use okienko_app::records::{self};
use okienko_domain::DomainError;
use serde_json::json;

use super::access::ts;
use okienko_app::auth::{self};

// ---------------------------------------------------------------------------------------------
// Users, devices, keys, policies

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DeviceKind {
    /// A ticket kiosk.
    Kiosk,
    /// A call display.
    Display,
}

impl From<DeviceKind> for auth::DeviceKind {
    fn from(k: DeviceKind) -> Self {
        match k {
            DeviceKind::Kiosk => auth::DeviceKind::Kiosk,
            DeviceKind::Display => auth::DeviceKind::Display,
        }
    }
}

#[derive(SimpleObject)]
pub struct Device {
    id: ID,
    office_id: ID,
    kind: DeviceKind,
    name: String,
    /// A door display's desk number; none for a hall display or a kiosk.
    desk: Option<i64>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<records::DeviceRow> for Device {
    fn from(d: records::DeviceRow) -> Self {
        Device {
            id: ID(d.id.to_string()),
            office_id: ID(d.office_id.to_string()),
            kind: if d.kind == "display" {
                DeviceKind::Display
            } else {
                DeviceKind::Kiosk
            },
            name: d.name,
            desk: d.desk,
            created_at: ts(d.created_at),
            revoked_at: d.revoked_at.map(ts),
        }
    }
}

#[derive(SimpleObject)]
pub struct CreatedDevice {
    pub(crate) device: Device,
    /// The device's token, for its `Authorization: Bearer …`. Shown once.
    pub(crate) token: String,
}

/// A one-time code that pairs a device's browser at `/t/{slug}/urzadzenie`.
#[derive(SimpleObject)]
pub struct PairingCode {
    /// Eight characters shown as `ABCD-EFGH`, typed in any case, with or without the dash.
    pub(crate) code: String,
    /// Until when it can be redeemed (once).
    pub(crate) expires_at: DateTime<Utc>,
    /// How many minutes a code is valid.
    pub(crate) valid_minutes: i64,
}

#[derive(SimpleObject)]
pub struct ApiKey {
    id: ID,
    name: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<records::ApiKeyRow> for ApiKey {
    fn from(k: records::ApiKeyRow) -> Self {
        ApiKey {
            id: ID(k.id.to_string()),
            name: k.name,
            scopes: serde_json::from_str(&k.scopes).unwrap_or_default(),
            created_at: ts(k.created_at),
            revoked_at: k.revoked_at.map(ts),
        }
    }
}

#[derive(SimpleObject)]
pub struct CreatedApiKey {
    pub(crate) api_key: ApiKey,
    /// The key itself. Shown once.
    pub(crate) key: String,
}

#[derive(SimpleObject)]
pub struct PolicyVersion {
    version: i64,
    hash: String,
    author: String,
    active: bool,
    created_at: DateTime<Utc>,
    test_report: String,
    source: String,
}

impl From<records::PolicyRow> for PolicyVersion {
    fn from(p: records::PolicyRow) -> Self {
        PolicyVersion {
            version: p.version,
            hash: p.hash,
            author: p.author,
            active: p.active == 1,
            created_at: ts(p.created_at),
            test_report: p.test_report,
            source: p.source,
        }
    }
}

#[derive(InputObject)]
pub struct PolicyTestFileInput {
    /// The file's name, e.g. `vehicle.toml`.
    pub(crate) name: String,
    /// Its TOML text (the format of `policies/<slug>/tests/*.toml`).
    pub(crate) content: String,
}

#[derive(SimpleObject)]
pub struct PolicyActivation {
    pub(crate) policy: PolicyVersion,
    /// The test run's report.
    pub(crate) report: String,
}

pub(crate) const MAX_SCOPES: usize = 20;

pub(crate) fn check_scopes(scopes: &[String]) -> Result<(), DomainError> {
    if scopes.len() > MAX_SCOPES {
        return Err(DomainError::invalid(
            "scopes",
            format!("najwyżej {MAX_SCOPES} zakresów"),
        ));
    }
    for s in scopes {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-.".contains(&b));
        if !ok {
            return Err(DomainError::invalid(
                "scopes",
                format!(
                    "niepoprawny zakres „{}”",
                    s.chars().take(64).collect::<String>()
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn user_json(u: &records::UserRow) -> String {
    json!({ "login": u.login, "display_name": u.display_name, "role": u.role, "status": u.status })
        .to_string()
}
