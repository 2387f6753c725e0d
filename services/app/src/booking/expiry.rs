//! Expiry (GD-9, OP-8): pending bookings past their limit, and cancelled seats offered again.

use chrono::{DateTime, Utc};
use okienko_domain::booking::BookingStatus;
use okienko_notify::{Message, Visit};
use okienko_store::{self as store, BookingRow, StoreError};

use super::messages::mail_to_client;
use crate::catalog::TenantCtx;
use crate::error::ApiResult;
use crate::history;
use crate::App;

// Expiry (GD-9, OP-8)

pub(crate) async fn expire_one(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<bool> {
    let Some(b) = store::booking_by_id(&app.db, tenant.id, id).await? else {
        return Ok(false);
    };
    release(
        app,
        tenant,
        &b,
        Visit::expired,
        (BookingStatus::Expired, "not confirmed in time"),
        history::EXPIRED,
        None,
    )
    .await
}

/// Gives a booking's seat back with `status` and its reason (a conditional change), the client
/// told by the e-mail `render` makes, and notes it in the history as `kind` by the system:
/// true when released, false when the booking had changed meanwhile.
pub(crate) async fn release(
    app: &App,
    tenant: &TenantCtx,
    b: &BookingRow,
    render: fn(&Visit, &str) -> Message,
    (status, reason): (BookingStatus, &str),
    kind: &str,
    detail: Option<serde_json::Value>,
) -> ApiResult<bool> {
    let messages = mail_to_client(app, tenant, b, render);
    let now = app.clock.now().timestamp();
    match store::release_booking(
        &app.db,
        tenant.id,
        b.id,
        status.as_str(),
        Some(reason),
        now,
        &messages,
    )
    .await
    {
        Ok(_) => {
            match status {
                BookingStatus::Expired => app.metrics.bookings_expired(&tenant.slug, 1),
                // A code that can no longer be typed: the client's own doing.
                _ => app.metrics.booking_cancelled(&tenant.slug, "client"),
            }
            history::changed(app, tenant.id, b.id, kind, history::SYSTEM, detail).await;
            Ok(true)
        }
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Expires every pending booking past its limit; returns how many were expired.
pub async fn expire_due(app: &App) -> ApiResult<usize> {
    let mut n = 0;
    loop {
        let due = store::due_for_expiry(&app.db, app.clock.now().timestamp(), 200).await?;
        if due.is_empty() {
            return Ok(n);
        }
        let mut progressed = false;
        for (tenant_id, id) in due {
            let Some(tenant) = app.catalog.by_id(tenant_id) else {
                continue;
            };
            if expire_one(app, &tenant, id).await? {
                n += 1;
                progressed = true;
            }
        }
        if !progressed {
            return Ok(n);
        }
    }
}

/// When a cancelled seat is offered again: after the city's delay plus a random part of it,
/// so whoever agreed with the canceller on a moment cannot count on it (ZG-12, OP-11, GD-12).
pub(crate) fn seat_back_at(tenant: &TenantCtx, now: DateTime<Utc>) -> Option<i64> {
    let delay = i64::from(tenant.cfg.cancel_release_delay_minutes()) * 60;
    (delay > 0).then(|| now.timestamp() + delay + rand::random::<u32>() as i64 % (delay + 1))
}

/// Gives back the cancelled seats whose delay has passed.
pub async fn release_due(app: &App) -> ApiResult<usize> {
    Ok(store::release_due_seats(&app.db, app.clock.now().timestamp()).await?)
}
