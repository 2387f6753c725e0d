//! Changes a client makes to a booking: another slot, corrected contact data.

use chrono::{DateTime, Utc};
use okienko_domain::booking::Quota;
use okienko_domain::calendar::check_slot;
use okienko_domain::DomainError;
use okienko_notify::Visit;
use okienko_store::{self as store, BookingRow, StoreError};
use serde_json::Value;

use super::manage::{by_token, cancellable_until, refusal_for};
use super::messages::mail_to_client;
use super::types::status_of;
use super::validate::validate_client;
use crate::catalog::{ServiceCtx, TenantCtx};
use crate::client::ClientData;
use crate::error::{ApiError, ApiResult};
use crate::history;
use crate::policy_host;
use crate::App;

pub(crate) fn change_side(
    tenant: &TenantCtx,
    service: &ServiceCtx,
    client: &ClientData,
    start: DateTime<Utc>,
) -> Value {
    serde_json::json!({
        "client": policy_host::client_json(client),
        "slot": policy_host::slot_json(start),
        "service": policy_host::service_json(service),
        "tenant": tenant.slug,
    })
}

pub(crate) fn client_of(b: &BookingRow) -> ClientData {
    ClientData {
        name: b.client_name.clone(),
        email: b.client_email.clone(),
        phone: b.client_phone.clone(),
    }
}

/// Asks the city's `validate_change` hook whether a change is allowed.
pub(crate) async fn check_change(
    app: &App,
    tenant: &TenantCtx,
    kind: &str,
    before: Value,
    after: Value,
) -> ApiResult<()> {
    let ctx = serde_json::json!({ "kind": kind, "before": before, "after": after, "settings": policy_host::settings_json(tenant) });
    app.policies.call(tenant.id, "validate_change", ctx).await?;
    Ok(())
}

/// Moves a booking to another slot of its service (until the cancellation cutoff).
pub async fn reschedule(
    app: &App,
    tenant: &TenantCtx,
    token: &str,
    start: DateTime<Utc>,
) -> ApiResult<BookingRow> {
    let b = by_token(app, tenant, token).await?;
    let now = app.clock.now();
    if !status_of(&b).holds_seat() {
        return Err(refusal_for(&b).into());
    }
    if now >= cancellable_until(tenant, &b) {
        return Err(DomainError::ChangeNotAllowed("termin jest zbyt bliski.".into()).into());
    }
    let service = tenant.service(b.service_id).ok_or(DomainError::NotFound)?;
    let slot = check_slot(&tenant.cfg.booking, &tenant.calendar(service), now, start)?;
    let client = client_of(&b);
    let old_start = DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    check_change(
        app,
        tenant,
        "reschedule",
        change_side(tenant, service, &client, old_start),
        change_side(tenant, service, &client, slot.start),
    )
    .await?;
    let capacity = if b.quota == Quota::Staff.as_str() {
        service.cfg.capacity_staff
    } else {
        service.cfg.capacity_online
    };
    let mut moved = b.clone();
    moved.slot_start = slot.start.timestamp();
    moved.slot_end = slot.end.timestamp();
    let messages = mail_to_client(app, tenant, &moved, Visit::confirmed);
    let row = store::reschedule_booking(
        &app.db,
        tenant.id,
        b.id,
        slot.start.timestamp(),
        slot.end.timestamp(),
        i64::from(capacity),
        now.timestamp(),
        &messages,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict => ApiError::Domain(DomainError::AlreadyCancelled),
        other => other.into(),
    })?;
    app.outbox_wake.notify_one();
    let detail = history::moved(b.slot_start, row.slot_start);
    history::note(
        app,
        tenant.id,
        row.id,
        history::RESCHEDULED,
        history::CLIENT,
        Some(detail),
    )
    .await;
    Ok(row)
}

/// Corrects the client's contact data of a booking that holds a seat.
pub async fn update_client(
    app: &App,
    tenant: &TenantCtx,
    token: &str,
    data: ClientData,
) -> ApiResult<BookingRow> {
    let b = by_token(app, tenant, token).await?;
    if !status_of(&b).holds_seat() {
        return Err(refusal_for(&b).into());
    }
    let service = tenant.service(b.service_id).ok_or(DomainError::NotFound)?;
    let client = validate_client(tenant, &data)?;
    let start = DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    check_change(
        app,
        tenant,
        "update_client",
        change_side(tenant, service, &client_of(&b), start),
        change_side(tenant, service, &client, start),
    )
    .await?;
    let now = app.clock.now().timestamp();
    let row = store::update_booking_client(
        &app.db,
        tenant.id,
        b.id,
        client.name.as_deref(),
        client.email.as_deref(),
        client.phone.as_deref(),
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict => ApiError::Domain(DomainError::AlreadyCancelled),
        other => other.into(),
    })?;
    let detail = history::changed_fields(&b, &row);
    history::note(
        app,
        tenant.id,
        row.id,
        history::CLIENT_UPDATED,
        history::CLIENT,
        Some(detail),
    )
    .await;
    Ok(row)
}
