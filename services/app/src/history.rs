//! Each booking's history as staff read it: the events written by the booking use cases and
//! by staff operations. An event written after a change its store function committed on its
//! own is best effort: the change stands even if its event cannot be written (it is logged).
//! Details never carry personal data (erasure leaves the history as it is).

use chrono::DateTime;
use okienko_store::{self as store, BookingRow, NewEvent, TenantId};
use serde_json::{json, Value};

use crate::App;

pub const CREATED: &str = "created";
pub const CONFIRMED: &str = "confirmed";
pub const CANCELLED: &str = "cancelled";
pub const EXPIRED: &str = "expired";
pub const REJECTED: &str = "rejected";
pub const RESCHEDULED: &str = "rescheduled";
pub const CLIENT_UPDATED: &str = "client_updated";
pub const OUTCOME_RECORDED: &str = "outcome_recorded";
pub const ERASED: &str = "erased";

/// The client acting through the public API or the e-mailed links.
pub const CLIENT: &str = "client";
/// The server itself (expiry, retention).
pub const SYSTEM: &str = "system";

/// What follows a change the store made to a booking: the outbox is woken for the messages
/// queued with it, and the booking's history notes the change.
pub async fn changed(
    app: &App,
    tenant: TenantId,
    id: i64,
    kind: &str,
    actor: &str,
    detail: Option<Value>,
) {
    app.outbox_wake.notify_one();
    note(app, tenant, id, kind, actor, detail).await;
}

/// Records an event of a booking, logging (not failing) when it cannot be written.
pub async fn note(
    app: &App,
    tenant: TenantId,
    booking_id: i64,
    kind: &str,
    actor: &str,
    detail: Option<Value>,
) {
    let mut e = NewEvent::new(kind, actor);
    if let Some(d) = detail {
        e = e.detail(d.to_string());
    }
    if let Err(err) =
        store::record_booking_event(&app.db, tenant, booking_id, &e, app.clock.now().timestamp())
            .await
    {
        tracing::error!(booking = booking_id, kind, error = %err, "booking event not recorded");
    }
}

/// What the `created` event of a booking says.
pub fn created_event(b: &BookingRow, actor: &str) -> NewEvent {
    created_event_of(&b.code, &b.source, &b.quota, &b.status, actor)
}

/// The `created` event of a booking about to be stored with these values, written in its
/// transaction (`store::create_booking_with_events`): the same as [`created_event`] of the
/// row it becomes.
pub fn created_event_of(
    code: &str,
    source: &str,
    quota: &str,
    status: &str,
    actor: &str,
) -> NewEvent {
    NewEvent::new(CREATED, actor).detail(
        json!({ "source": source, "quota": quota, "status": status, "code": code }).to_string(),
    )
}

fn instant(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339()
}

/// The detail of a `rescheduled` event.
pub fn moved(from: i64, to: i64) -> Value {
    json!({ "from": instant(from), "to": instant(to) })
}

/// The detail of a `client_updated` event: which client fields changed (not their values).
pub fn changed_fields(before: &BookingRow, after: &BookingRow) -> Value {
    let mut fields = Vec::new();
    if before.client_name != after.client_name {
        fields.push("name");
    }
    if before.client_email != after.client_email {
        fields.push("email");
    }
    if before.client_phone != after.client_phone {
        fields.push("phone");
    }
    json!({ "fields": fields })
}
