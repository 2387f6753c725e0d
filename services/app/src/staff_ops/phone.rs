//! Bookings made by staff for a caller (ZG-10, GD-2, GD-4, OP-3, CI-22): drawn on the staff
//! quota, confirmed at once, the code read out on the phone and, with an e-mail address, sent
//! with desk, date and time. Also the staff's cancellation of a booking for its client.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use okienko_domain::booking::{BookingStatus, Quota};
use okienko_domain::calendar::check_slot;
use okienko_domain::config::CancellationCutoff;
use okienko_domain::{validate, DomainError};
use okienko_notify::Visit;
use okienko_store::{
    self as store, NewAudit, NewBooking, NewEvent, StaffBookingRow, StoreError, TenantId,
};
use serde_json::{json, Value};

use super::{expiry_after, staff_actor};
use crate::auth::StaffRef;
use crate::booking::{self, BookingLike, ClientData};
use crate::catalog::TenantCtx;
use crate::error::{ApiError, ApiResult};
use crate::history;
use crate::policy_host;
use crate::tokens;
use crate::App;

/// The source recorded on bookings made by phone; city policies see it as `ctx.source`.
pub const PHONE: &str = "phone";

#[derive(Debug, Clone)]
pub struct PhoneRequest {
    pub service_id: String,
    pub start: DateTime<Utc>,
    pub client: ClientData,
    pub fields: Vec<(String, String)>,
    /// Keys of the consents the caller gave on the phone.
    pub consents: Vec<String>,
    /// A retried request with the same key returns the first booking.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PhoneBooked {
    pub booking: StaffBookingRow,
    pub replayed: bool,
}

/// A caller's data: the name is required; e-mail and phone are optional (GD-2).
pub(crate) fn phone_client(c: &ClientData) -> Result<ClientData, DomainError> {
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name =
        opt(&c.name).ok_or_else(|| DomainError::invalid("client.name", "pole jest wymagane"))?;
    Ok(ClientData {
        name: Some(validate::name("client.name", &name)?),
        email: opt(&c.email)
            .map(|e| validate::email("client.email", &e))
            .transpose()?,
        phone: opt(&c.phone)
            .map(|p| validate::phone("client.phone", &p))
            .transpose()?,
    })
}

/// The consents the caller gave (P-4): each must be one the city asks for. Required ones are
/// not enforced here: on the phone the operator reads the information clause and records what
/// the caller agreed to.
fn phone_consents(
    tenant: &TenantCtx,
    given: &[String],
) -> Result<Vec<(String, String)>, DomainError> {
    let mut out = Vec::new();
    for key in given {
        let c = tenant
            .cfg
            .consents
            .iter()
            .find(|c| &c.key == key)
            .ok_or_else(|| DomainError::invalid("consents", "nieznana zgoda"))?;
        if !out.iter().any(|(k, _)| k == &c.key) {
            out.push((c.key.clone(), c.version.clone()));
        }
    }
    Ok(out)
}

/// Applies what the city's `validate_booking` returned, validated again as a caller's data.
fn apply_changes(
    specs: &[okienko_domain::config::FieldSpec],
    client: ClientData,
    fields: Vec<(String, String)>,
    changes: &serde_json::Map<String, Value>,
) -> Result<(ClientData, Vec<(String, String)>), DomainError> {
    let mut client = client;
    if let Some(Value::Object(c)) = changes.get("client") {
        let pick = |k: &str, old: Option<String>| match c.get(k) {
            Some(Value::String(v)) => Some(v.clone()),
            Some(Value::Null) => None,
            _ => old,
        };
        client = phone_client(&ClientData {
            name: pick("name", client.name),
            email: pick("email", client.email),
            phone: pick("phone", client.phone),
        })?;
    }
    let mut fields = fields;
    if let Some(Value::Object(f)) = changes.get("fields") {
        let mut given = fields.clone();
        for (k, v) in f {
            if let Some(v) = v.as_str() {
                given.retain(|(key, _)| key != k);
                given.push((k.clone(), v.to_string()));
            }
        }
        fields = booking::validate_fields(specs, &given)?;
    }
    Ok((client, fields))
}

/// Books a visit for a caller on the staff quota, confirmed at once.
pub async fn create(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    r: PhoneRequest,
) -> ApiResult<PhoneBooked> {
    let service = booking::service_by_id(tenant, &r.service_id)?;
    if !service.cfg.bookable {
        return Err(DomainError::NotBookable.into());
    }
    if let Some(k) = &r.idempotency_key {
        if k.is_empty() || k.len() > 128 {
            return Err(DomainError::invalid("idempotencyKey", "od 1 do 128 znaków").into());
        }
    }
    let now = app.clock.now();
    let client = phone_client(&r.client)?;
    let specs = policy_host::form_fields(&app.policies, tenant, service).await?;
    let fields = booking::validate_fields(&specs, &r.fields)?;
    let consents = phone_consents(tenant, &r.consents)?;
    let slot = check_slot(&tenant.cfg.booking, &tenant.calendar(service), now, r.start)?;

    let request_hash = tokens::hash(
        &json!([
            PHONE,
            service.id,
            slot.start.timestamp(),
            &client,
            &fields,
            &consents
        ])
        .to_string(),
    );
    if let Some(key) = &r.idempotency_key {
        if let Some(existing) = store::booking_by_idempotency_key(&app.db, tenant.id, key).await? {
            if existing.request_hash.as_deref() != Some(request_hash.as_str()) {
                return Err(DomainError::IdempotencyConflict.into());
            }
            return Ok(PhoneBooked {
                booking: fetch(app, tenant.id, existing.id).await?,
                replayed: true,
            });
        }
    }

    // The city's rules (P-6) see the booking as one made by phone.
    let mut ctx =
        policy_host::booking_ctx(tenant, service, PHONE, &client, &fields, slot.start, now);
    let identities = policy_host::identities(&app.policies, &app.secret, tenant, &ctx).await?;
    ctx["history"] = policy_host::history(&app.db, tenant, &identities, now).await?;
    let (client, fields) = match app
        .policies
        .call(tenant.id, "validate_booking", ctx)
        .await?
    {
        Some(Value::Object(changes)) => apply_changes(&specs, client, fields, &changes)?,
        _ => (client, fields),
    };

    let nonce = tokens::manage_nonce();
    let token = tokens::manage_token(&app.secret, tenant.id.0, &nonce);
    let actor = staff_actor(staff);
    let mut last_err = None;
    for _ in 0..5 {
        let code = tokens::human_code();
        let like = BookingLike {
            code: &code,
            slot_start: slot.start.timestamp(),
            slot_end: slot.end.timestamp(),
            client_name: client.name.as_deref(),
            client_phone: client.phone.as_deref(),
            token: Some(token.clone()),
        };
        // GD-4: with an e-mail address, the confirmation carries number, desk, date and time.
        let messages: Vec<_> = client
            .email
            .iter()
            .map(|to| {
                let v = booking::visit(app, tenant, service, &like);
                booking::email_msg(to, &v.confirmed(to))
            })
            .collect();
        let nb = NewBooking {
            tenant: tenant.id,
            service_id: service.id,
            code: code.clone(),
            status: BookingStatus::Confirmed.as_str(),
            quota: Quota::Staff.as_str(),
            source: PHONE,
            slot_start: slot.start.timestamp(),
            slot_end: slot.end.timestamp(),
            client_name: client.name.clone(),
            client_email: client.email.clone(),
            client_phone: client.phone.clone(),
            fields_json: serde_json::to_string(&fields.iter().cloned().collect::<HashMap<_, _>>())
                .unwrap_or_else(|_| "{}".into()),
            terms_version: tenant.cfg.terms.version.clone(),
            consents_json: serde_json::to_string(&consents).unwrap_or_else(|_| "[]".into()),
            confirmation_mode: "immediate",
            confirm_channel: None,
            confirm_secret_hash: None,
            confirm_expires_at: None,
            confirmed_at: Some(now.timestamp()),
            manage_token_hash: tokens::hash(&token),
            manage_nonce: Some(nonce.clone()),
            idempotency_key: r.idempotency_key.clone(),
            request_hash: Some(request_hash.clone()),
            identities: identities
                .iter()
                .map(|i| (i.kind.clone(), i.hash.clone()))
                .collect(),
            now: now.timestamp(),
        };
        match store::create_booking(
            &app.db,
            &nb,
            i64::from(service.cfg.capacity_staff),
            &messages,
        )
        .await
        {
            Ok(created) => {
                let b = created.booking;
                if created.replayed {
                    if b.request_hash.as_deref() != Some(request_hash.as_str()) {
                        return Err(DomainError::IdempotencyConflict.into());
                    }
                    return Ok(PhoneBooked {
                        booking: fetch(app, tenant.id, b.id).await?,
                        replayed: true,
                    });
                }
                app.metrics.booking_created(tenant, "phone");
                app.outbox_wake.notify_one();
                // GD-14: what the caller told us is kept only for the city's phone schedule.
                let expires = tenant
                    .cfg
                    .retention
                    .phone_days_after_visit
                    .map(|_| expiry_after(slot.start, tenant.cfg.retention.days_for(PHONE)));
                let event = history::created_event(&b, &actor);
                let audit =
                    NewAudit::new(&actor, "booking.phone_create", &format!("booking:{}", b.id))
                        .after(
                            booking_ref(&b.code, &service.cfg.key, b.slot_start, &b.status)
                                .to_string(),
                        );
                store::mark_staff_booking(
                    &app.db,
                    tenant.id,
                    b.id,
                    &actor,
                    expires,
                    &event,
                    &audit,
                    now.timestamp(),
                )
                .await?;
                tracing::info!(tenant = %tenant.slug, booking = %b.code, "phone booking created");
                return Ok(PhoneBooked {
                    booking: fetch(app, tenant.id, b.id).await?,
                    replayed: false,
                });
            }
            Err(StoreError::Unique("code")) => {
                last_err = Some(StoreError::Unique("code"));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_err.unwrap_or(StoreError::Conflict).into())
}

/// A booking as the audit log names it: no personal data.
pub(crate) fn booking_ref(code: &str, service_key: &str, slot_start: i64, status: &str) -> Value {
    json!({
        "code": code,
        "service": service_key,
        "start": DateTime::from_timestamp(slot_start, 0).unwrap_or_default().to_rfc3339(),
        "status": status,
    })
}

pub async fn fetch(app: &App, tenant: TenantId, id: i64) -> ApiResult<StaffBookingRow> {
    store::staff_booking(&app.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::Domain(DomainError::NotFound))
}

/// Cancels a booking for its client (a phone call, GD-13), under the same cutoff as the
/// client's own cancellation; the seat comes back after the city's delay (ZG-12).
pub async fn cancel_for_client(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    id: i64,
) -> ApiResult<StaffBookingRow> {
    let b = fetch(app, tenant.id, id).await?.booking;
    let now = app.clock.now();
    if !booking::status_of(&b).holds_seat() {
        return Err(booking::refusal_for(&b).into());
    }
    if now >= booking::cancellable_until(tenant, &b) {
        let why = match tenant.cfg.booking.cancellation_cutoff {
            CancellationCutoff::DayBefore => {
                "wizytę można odwołać najpóźniej w dniu poprzedzającym wizytę."
            }
            CancellationCutoff::SlotStart => "termin wizyty już się rozpoczął.",
        };
        return Err(DomainError::CancellationClosed(why.into()).into());
    }
    let actor = staff_actor(staff);
    let messages = booking::mail_to_client(app, tenant, &b, Visit::cancelled);
    let row = match store::release_booking_at(
        &app.db,
        tenant.id,
        b.id,
        BookingStatus::Cancelled.as_str(),
        Some("staff"),
        now.timestamp(),
        booking::seat_back_at(tenant, now),
        &messages,
    )
    .await
    {
        Ok(row) => row,
        Err(StoreError::Conflict) => {
            let fresh = fetch(app, tenant.id, id).await?.booking;
            return Err(booking::refusal_for(&fresh).into());
        }
        Err(e) => return Err(e.into()),
    };
    app.metrics.booking_cancelled(&tenant.slug, "staff");
    app.outbox_wake.notify_one();
    let key = tenant
        .service(row.service_id)
        .map(|s| s.cfg.key.clone())
        .unwrap_or_default();
    let event =
        NewEvent::new(history::CANCELLED, &actor).detail(json!({ "by": "staff" }).to_string());
    let audit = NewAudit::new(&actor, "booking.cancel", &format!("booking:{id}"))
        .before(booking_ref(&b.code, &key, b.slot_start, &b.status).to_string())
        .after(booking_ref(&row.code, &key, row.slot_start, &row.status).to_string());
    store::record_staff_change(&app.db, tenant.id, id, &event, &audit, now.timestamp()).await?;
    fetch(app, tenant.id, id).await
}
