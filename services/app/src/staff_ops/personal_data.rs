//! The client's rights over their data (P-5): export of everything held about them within the
//! tenant, correction, erasure on request, and the retention worker that erases personal data
//! on each tenant's schedule (GD-14: phone bookings after the visit day).
//!
//! Audit rows name the client by a keyed hash, never by e-mail or phone, so they need no
//! erasure; they record counts and which fields changed, not the values.

use chrono::{DateTime, Utc};
use okienko_domain::calendar::to_local;
use okienko_domain::config::TenantConfig;
use okienko_domain::{validate, DomainError};
use okienko_store::{
    self as store, ClientMatch, ComplaintRow, NewAudit, NewEvent, OutboxRow, Scope,
    StaffBookingRow, TenantId,
};
use serde_json::{json, Value};

use super::complaints::complaint_json;
use super::{check_text, cutoff, staff_actor};
use crate::auth::StaffRef;
use crate::booking;
use crate::catalog::TenantCtx;
use crate::error::ApiResult;
use crate::history;
use crate::policy_host;
use crate::App;

/// Bookings erased per transaction by the retention worker.
const RETENTION_BATCH: i64 = 200;

/// Whose data a request is about, as staff typed it.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub booking_id: Option<i64>,
}

/// Normalises a selector as the bookings store it (e-mail domain in lower case, phone as
/// 48xxxxxxxxx). VALIDATION_FAILED when nothing or something malformed is given.
pub fn client_match(s: &Selector) -> Result<ClientMatch, DomainError> {
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
    };
    let m = ClientMatch {
        email: opt(&s.email)
            .map(|e| validate::email("client.email", &e))
            .transpose()?,
        phone: opt(&s.phone)
            .map(|p| validate::phone("client.phone", &p))
            .transpose()?,
        booking_id: s.booking_id,
    };
    if m.is_empty() {
        return Err(DomainError::invalid(
            "client",
            "podaj adres e-mail, numer telefonu albo rezerwację",
        ));
    }
    Ok(m)
}

/// How the audit log names a client: a keyed hash of what identified them.
fn pseudonym(app: &App, tenant: TenantId, m: &ClientMatch) -> String {
    let key = format!(
        "{}|{}|{}",
        m.email.as_deref().unwrap_or_default().to_lowercase(),
        m.phone.as_deref().unwrap_or_default(),
        m.booking_id.unwrap_or_default()
    );
    let h = policy_host::identity_hash(&app.secret, tenant, "client", &key);
    format!("client:{}", &h[..16.min(h.len())])
}

fn ts(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339()
}

fn opt_ts(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(ts(t)))
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::String(text.to_string()))
}

fn booking_json(tenant: &TenantCtx, b: &StaffBookingRow, events: Vec<Value>) -> Value {
    let r = &b.booking;
    let service = tenant.service(r.service_id);
    let start = DateTime::<Utc>::from_timestamp(r.slot_start, 0).unwrap_or_default();
    json!({
        "code": r.code,
        "status": r.status,
        "source": r.source,
        "quota": r.quota,
        "service": service.map(|s| json!({ "key": s.cfg.key, "name": s.cfg.name })),
        "start": ts(r.slot_start),
        "end": ts(r.slot_end),
        "localStart": to_local(start).format("%Y-%m-%d %H:%M").to_string(),
        "client": { "name": r.client_name, "email": r.client_email, "phone": r.client_phone },
        "fields": parsed(&r.fields_json),
        "termsVersion": r.terms_version,
        "consents": parsed(&r.consents_json),
        "acceptedAt": ts(r.accepted_at),
        "createdAt": ts(r.created_at),
        "confirmedAt": opt_ts(r.confirmed_at),
        "cancelledAt": opt_ts(r.cancelled_at),
        "cancelReason": r.cancel_reason,
        "outcome": b.outcome,
        "outcomeNote": b.outcome_note,
        "personalDataExpiresAt": opt_ts(b.personal_data_expires_at),
        "erasedAt": opt_ts(b.erased_at),
        "history": events,
    })
}

fn message_json(m: &OutboxRow, codes: &[(i64, String)]) -> Value {
    let payload: Value = serde_json::from_str(&m.payload_json).unwrap_or(Value::Null);
    json!({
        "channel": m.channel,
        "recipient": m.recipient,
        "status": m.status,
        "booking": m.booking_id.and_then(|id| codes.iter().find(|(i, _)| *i == id).map(|(_, c)| c.clone())),
        "subject": payload.get("subject"),
        "text": payload.get("text"),
    })
}

/// Everything the tenant holds about a client, as JSON (P-5): their bookings with fields,
/// consents and history, the messages sent to them, their complaints.
pub async fn export(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    sel: &Selector,
) -> ApiResult<Value> {
    let m = client_match(sel)?;
    let bookings = store::bookings_of_client(&app.db, tenant.id, &m).await?;
    let ids: Vec<i64> = bookings.iter().map(|b| b.booking.id).collect();
    let codes: Vec<(i64, String)> = bookings
        .iter()
        .map(|b| (b.booking.id, b.booking.code.clone()))
        .collect();
    let mut booking_items = Vec::new();
    for b in &bookings {
        let events = store::booking_events(&app.db, tenant.id, b.booking.id)
            .await?
            .into_iter()
            .map(|e| {
                json!({
                    "kind": e.kind,
                    "actor": e.actor,
                    "at": ts(e.at),
                    "detail": e.detail_json.as_deref().map(parsed),
                })
            })
            .collect();
        booking_items.push(booking_json(tenant, b, events));
    }
    let messages: Vec<Value> = store::outbox_of_client(
        &app.db,
        tenant.id,
        &ids,
        m.email.as_deref(),
        m.phone.as_deref(),
    )
    .await?
    .iter()
    .map(|o| message_json(o, &codes))
    .collect();
    let complaints: Vec<Value> =
        store::complaints_of_client(&app.db, tenant.id, m.email.as_deref(), &ids)
            .await?
            .iter()
            .map(|c| complaint_json(app, c))
            .collect();
    let now = app.clock.now();
    let after = json!({ "bookings": booking_items.len(), "messages": messages.len(), "complaints": complaints.len() });
    let audit = NewAudit::new(
        &staff_actor(staff),
        "personal_data.export",
        &pseudonym(app, tenant.id, &m),
    )
    .after(after.to_string());
    store::record_audit(&app.db, Scope::Tenant(tenant.id), &audit, now.timestamp()).await?;
    Ok(json!({
        "tenant": tenant.slug,
        "city": tenant.cfg.name,
        "generatedAt": now.to_rfc3339(),
        "query": { "email": m.email, "phone": m.phone, "bookingId": m.booking_id },
        "bookings": booking_items,
        "messages": messages,
        "complaints": complaints,
    }))
}

/// Corrects the client data of every not yet erased booking of the client: each given value
/// replaces the stored one.
pub async fn correct(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    sel: &Selector,
    data: booking::ClientData,
) -> ApiResult<Vec<StaffBookingRow>> {
    let m = client_match(sel)?;
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
    };
    let name = given(&data.name)
        .map(|n| validate::name("name", &n))
        .transpose()?;
    let email = given(&data.email)
        .map(|e| validate::email("email", &e))
        .transpose()?;
    let phone = given(&data.phone)
        .map(|p| validate::phone("phone", &p))
        .transpose()?;
    if name.is_none() && email.is_none() && phone.is_none() {
        return Err(DomainError::invalid("name", "podaj co najmniej jedną poprawioną daną").into());
    }
    let ids: Vec<i64> = store::bookings_of_client(&app.db, tenant.id, &m)
        .await?
        .into_iter()
        .filter(|b| b.erased_at.is_none())
        .map(|b| b.booking.id)
        .collect();
    if ids.is_empty() {
        return Err(DomainError::NotFound.into());
    }
    let mut fields = Vec::new();
    for (f, v) in [("name", &name), ("email", &email), ("phone", &phone)] {
        if v.is_some() {
            fields.push(f);
        }
    }
    let actor = staff_actor(staff);
    let event = NewEvent::new(history::CLIENT_UPDATED, &actor)
        .detail(json!({ "fields": fields, "by": "staff" }).to_string());
    let audit = NewAudit::new(
        &actor,
        "personal_data.correct",
        &pseudonym(app, tenant.id, &m),
    )
    .after(json!({ "fields": fields, "bookings": ids.len() }).to_string());
    let rows = store::correct_client(
        &app.db,
        tenant.id,
        &ids,
        name.as_deref(),
        email.as_deref(),
        phone.as_deref(),
        &event,
        &audit,
        app.clock.now().timestamp(),
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(super::phone::fetch(app, tenant.id, r.id).await?);
    }
    Ok(out)
}

/// What an erasure reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub bookings: usize,
    pub complaints: usize,
    pub messages: u64,
}

/// Erases the client's personal data on request, with the reason (P-5). Refused while one of
/// their bookings still holds a seat for a visit to come: cancel or reject it first.
pub async fn erase(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    sel: &Selector,
    reason: &str,
) -> ApiResult<Erased> {
    let reason = check_text("reason", reason, 3, super::decisions::MAX_NOTE)?;
    let m = client_match(sel)?;
    let now = app.clock.now();
    let bookings = store::bookings_of_client(&app.db, tenant.id, &m).await?;
    let active: Vec<&str> = bookings
        .iter()
        .filter(|b| {
            booking::status_of(&b.booking).holds_seat() && b.booking.slot_end > now.timestamp()
        })
        .map(|b| b.booking.code.as_str())
        .collect();
    if !active.is_empty() {
        return Err(DomainError::ChangeNotAllowed(format!(
            "klient ma aktywne rezerwacje ({}); najpierw je odwołaj lub odrzuć.",
            active.join(", ")
        ))
        .into());
    }
    let ids: Vec<i64> = bookings
        .iter()
        .filter(|b| b.erased_at.is_none())
        .map(|b| b.booking.id)
        .collect();
    let complaints: Vec<ComplaintRow> =
        store::complaints_of_client(&app.db, tenant.id, m.email.as_deref(), &ids).await?;
    let complaint_ids: Vec<i64> = complaints
        .iter()
        .filter(|c| c.erased_at.is_none())
        .map(|c| c.id)
        .collect();
    if ids.is_empty() && complaint_ids.is_empty() {
        return Err(DomainError::NotFound.into());
    }
    let actor = staff_actor(staff);
    let event = NewEvent::new(history::ERASED, &actor)
        .detail(json!({ "reason": reason, "on": "request" }).to_string());
    let audit = NewAudit::new(
        &actor,
        "personal_data.erase",
        &pseudonym(app, tenant.id, &m),
    )
    .after(
        json!({ "bookings": ids.len(), "complaints": complaint_ids.len(), "reason": reason })
            .to_string(),
    );
    let erased = store::erase_bookings(
        &app.db,
        tenant.id,
        &ids,
        &event,
        Some(&audit),
        now.timestamp(),
    )
    .await?;
    let complaints =
        store::erase_complaints(&app.db, tenant.id, &complaint_ids, now.timestamp()).await?;
    let messages =
        store::erase_messages_to(&app.db, tenant.id, m.email.as_deref(), m.phone.as_deref())
            .await?;
    Ok(Erased {
        bookings: erased.len(),
        complaints,
        messages,
    })
}

/// Erases the personal data that each tenant's retention schedule no longer allows to keep
/// (P-5, GD-14), tenants suspended included; anonymous facts (status, service, slot) stay.
/// Returns how many bookings were erased.
pub async fn run_retention(app: &App) -> ApiResult<usize> {
    let now = app.clock.now();
    let mut total = 0;
    for t in store::list_tenants(&app.db).await? {
        let cfg: TenantConfig = match serde_json::from_str(&t.config_json) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(tenant = %t.slug, error = %e, "stored configuration unreadable; retention skipped");
                continue;
            }
        };
        let tenant = TenantId(t.id);
        let rules = cfg.retention;
        let general = cutoff(now, rules.days_after_visit);
        let phone = cutoff(now, rules.days_for(super::phone::PHONE));
        let event = NewEvent::new(history::ERASED, history::SYSTEM).detail(
            json!({ "reason": "harmonogram przechowywania danych", "on": "retention" }).to_string(),
        );
        let mut erased = 0;
        loop {
            let due = store::due_for_erasure(
                &app.db,
                tenant,
                general,
                phone,
                now.timestamp(),
                RETENTION_BATCH,
            )
            .await?;
            if due.is_empty() {
                break;
            }
            let done =
                store::erase_bookings(&app.db, tenant, &due, &event, None, now.timestamp()).await?;
            if done.is_empty() {
                break;
            }
            erased += done.len();
        }
        if erased > 0 {
            let audit = NewAudit::new(history::SYSTEM, "retention.erase", "bookings").after(
                json!({
                    "bookings": erased,
                    "days_after_visit": rules.days_after_visit,
                    "phone_days_after_visit": rules.phone_days_after_visit,
                })
                .to_string(),
            );
            store::record_audit(&app.db, Scope::Tenant(tenant), &audit, now.timestamp()).await?;
            tracing::info!(tenant = %t.slug, erased, "personal data erased on the retention schedule");
        }
        total += erased;
    }
    Ok(total)
}
