//! Pairing kiosks and displays without typing tokens (issue 14): an administrator asks for a
//! short one-time code for a device still to come — its kind, office, for a door display its
//! desk, a name —, the device's browser types it on the city's pairing page within
//! [`PAIRING_MINUTES`] and gets the device's token (for its cookie). The device made is the one
//! the admin API's `createDevice` makes (same row, same audit), revocable the same way.
//!
//! The code is [`CODE_LEN`] characters from an alphabet without look-alikes (no 0/O, 1/I),
//! typed in any case, with or without the dash it is shown with; only its SHA-256 is stored,
//! keyed by tenant, and it is redeemed once by one conditional update (`store::pairing`).

use chrono::{DateTime, Duration, Utc};
use okienko_domain::{validate, DomainError};
use okienko_store::{self as store, DeviceRow, NewAudit, NewPairing, Redeemed, StoreError};
use rand::Rng;
use serde_json::json;

use crate::auth::{self, DeviceKind, Permission, StaffRef};
use crate::error::{ApiError, ApiResult};
use crate::{tokens, App, TenantCtx};

/// How long a pairing code can be redeemed.
pub const PAIRING_MINUTES: i64 = 10;
/// Characters of a code.
pub const CODE_LEN: usize = 8;
/// 32 letters and digits without 0, O, 1 and I: 40 bits a code.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const MAX_NAME: usize = 100;

/// What an administrator asks a code for.
#[derive(Debug, Clone)]
pub struct PairingRequest {
    pub kind: DeviceKind,
    pub office_id: i64,
    /// A door display's desk number; none for a hall display or a kiosk.
    pub desk: Option<i64>,
    pub name: String,
}

/// A code to hand to the device, shown grouped (`ABCD-EFGH`), and when it runs out.
#[derive(Debug, Clone)]
pub struct PairingCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// A device made by a redeemed code, with its token (shown to nobody: it goes into the
/// device's cookie).
#[derive(Debug, Clone)]
pub struct Paired {
    pub device: DeviceRow,
    pub token: String,
}

fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// `ABCDEFGH` → `ABCD-EFGH`.
pub fn grouped(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(CODE_LEN / 2));
    if b.is_empty() {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

/// A typed code in its stored form: upper case, without spaces and dashes; `None` when it
/// cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn code_hash(code: &str) -> String {
    tokens::hash(&format!("pairing:{code}"))
}

/// The request checked against the city's configuration: the office, the door display's desk
/// (one of the office's desks), a name.
fn check(t: &TenantCtx, r: &PairingRequest) -> Result<String, DomainError> {
    let office = t
        .office(r.office_id)
        .ok_or_else(|| DomainError::invalid("officeId", "nie ma takiego urzędu"))?;
    match (r.kind, r.desk) {
        (DeviceKind::Kiosk, Some(_)) => {
            return Err(DomainError::invalid(
                "desk",
                "biletomat nie ma stanowiska; numer stanowiska podaje się tylko dla tablicy przy drzwiach",
            ))
        }
        (DeviceKind::Display, Some(n)) => {
            let known = t
                .cfg
                .desks
                .iter()
                .any(|d| d.office == office.cfg.key && i64::from(d.number) == n);
            if !known {
                return Err(DomainError::invalid(
                    "desk",
                    format!("w urzędzie „{}” nie ma stanowiska {n}", office.cfg.name),
                ));
            }
        }
        _ => {}
    }
    let name = validate::text("name", &r.name)?;
    if name.is_empty() {
        return Err(DomainError::invalid("name", "podaj nazwę urządzenia"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(DomainError::invalid(
            "name",
            format!("nazwa może mieć najwyżej {MAX_NAME} znaków"),
        ));
    }
    Ok(name)
}

/// Makes a one-time pairing code for a device of `t` (administrators: `ManageDevices`).
pub async fn create_pairing_code(
    app: &App,
    t: &TenantCtx,
    by: &StaffRef,
    r: &PairingRequest,
) -> ApiResult<PairingCode> {
    if by.tenant != t.id || !by.role.allows(Permission::ManageDevices) {
        return Err(DomainError::Forbidden(format!(
            "rola „{}” nie pozwala na: zarządzanie urządzeniami.",
            by.role.label()
        ))
        .into());
    }
    let name = check(t, r)?;
    let now = app.clock.now();
    // Whole seconds, as stored.
    let expires = auth::ts((now + Duration::minutes(PAIRING_MINUTES)).timestamp());
    let actor = format!(
        "user:{} {} ({})",
        by.user.id,
        by.user.login,
        by.role.as_str()
    );
    let p = NewPairing {
        office_id: r.office_id,
        kind: r.kind.as_str(),
        desk: r.desk,
        name: name.clone(),
        created_by: actor.clone(),
        expires_at: expires.timestamp(),
    };
    let after = json!({ "office_id": r.office_id, "kind": r.kind.as_str(), "desk": r.desk,
        "name": name, "expires_at": expires.timestamp() });
    let audit = NewAudit::new(
        &actor,
        "device.pairing_code",
        &format!("office:{}", r.office_id),
    )
    .after(after.to_string());
    // A draw that hits a live code of the tenant (one in 2^40 a pair) draws again.
    for _ in 0..3 {
        let code = new_code();
        match store::create_pairing_code(
            &app.db,
            t.id,
            &p,
            &code_hash(&code),
            Some(&audit),
            now.timestamp(),
        )
        .await
        {
            Ok(()) => {
                return Ok(PairingCode {
                    code: grouped(&code),
                    expires_at: expires,
                })
            }
            Err(StoreError::Unique(_)) => continue,
            Err(StoreError::NotFound) => {
                return Err(DomainError::invalid("officeId", "nie ma takiego urzędu").into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Domain(DomainError::Internal))
}

/// Redeems a typed code at `t`: the device it was made for, with a fresh token. A code that is
/// malformed, unknown here (another city's too), expired or used is refused at the field
/// `code` in Polish.
pub async fn redeem(app: &App, t: &TenantCtx, typed: &str) -> ApiResult<Paired> {
    let refuse = |why: &str| Err(DomainError::invalid("code", why).into());
    let Some(code) = normalize(typed) else {
        return refuse(
            "kod parowania ma 8 znaków, np. ABCD-EFGH; sprawdź, czy został przepisany dokładnie",
        );
    };
    let token = auth::new_device_token();
    let audit = NewAudit::new("pairing", "device.create", "")
        .after(json!({ "via": "pairing_code" }).to_string());
    let now = app.clock.now().timestamp();
    match store::redeem_pairing_code(
        &app.db,
        t.id,
        &code_hash(&code),
        &tokens::hash(&token),
        Some(&audit),
        now,
    )
    .await
    {
        Ok(Redeemed::Device(device)) => Ok(Paired { device, token }),
        Ok(Redeemed::Used) => refuse("ten kod został już użyty; poproś administratora o nowy kod"),
        Ok(Redeemed::Expired) => refuse(&format!(
            "ten kod wygasł (kod jest ważny {PAIRING_MINUTES} minut); poproś administratora o nowy kod"
        )),
        Ok(Redeemed::Unknown) => {
            refuse("nie ma takiego kodu; sprawdź, czy został przepisany dokładnie")
        }
        Err(StoreError::NotFound) => {
            refuse("urząd tego urządzenia jest nieczynny; poproś administratora o nowy kod")
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a paired device's browser goes: the kiosk, the hall display, or a door display.
pub fn screen_path(t: &TenantCtx, d: &DeviceRow) -> String {
    match (DeviceKind::parse(&d.kind), d.desk) {
        (Some(DeviceKind::Kiosk), _) | (None, _) => format!("/t/{}/kiosk", t.slug),
        (Some(DeviceKind::Display), None) => format!("/t/{}/tablica", t.slug),
        (Some(DeviceKind::Display), Some(n)) => {
            format!("/t/{}/tablica/stanowisko/{n}", t.slug)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_in_any_case_with_or_without_the_dash() {
        let c = new_code();
        assert_eq!(c.len(), CODE_LEN);
        assert_eq!(normalize(&grouped(&c)).as_deref(), Some(c.as_str()));
        assert_eq!(
            normalize(&grouped(&c).to_lowercase()).as_deref(),
            Some(c.as_str())
        );
        assert_eq!(normalize(" abcd efgh ").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalize("ABCD-EFG"), None, "too short");
        assert_eq!(normalize("ABCD-EFG0"), None, "0 is not in the alphabet");
        assert_eq!(normalize("ABCD-EFGĘ"), None);
        assert_eq!(grouped("ABCDEFGH"), "ABCD-EFGH");
    }
}
