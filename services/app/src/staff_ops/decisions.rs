//! The office's decisions on a booking: rejection with a reason (ZG-13) and the visit's
//! outcome recorded at the desk (ZG-14, OP-14).

use chrono::NaiveTime;
use okienko_domain::booking::BookingStatus;
use okienko_domain::calendar::{local_date, local_to_utc};
use okienko_domain::DomainError;
use okienko_store::{self as store, NewAudit, NewEvent, StaffBookingRow, StoreError};
use serde_json::json;

use super::phone::{booking_ref, fetch};
use super::{check_text, staff_actor};
use crate::auth::StaffRef;
use crate::booking;
use crate::catalog::TenantCtx;
use crate::error::ApiResult;
use crate::history;
use crate::App;

/// The longest reason or note staff may write.
pub const MAX_NOTE: usize = 1000;

/// Rejects a booking that holds a seat, with a reason the client is e-mailed; the seat is free
/// again at once (ZG-13).
pub async fn reject(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    id: i64,
    reason: &str,
) -> ApiResult<StaffBookingRow> {
    let reason = check_text("reason", reason, 3, MAX_NOTE)?;
    let b = fetch(app, tenant.id, id).await?.booking;
    if !booking::status_of(&b).holds_seat() {
        return Err(booking::refusal_for(&b).into());
    }
    let now = app.clock.now();
    let service = tenant.service(b.service_id);
    let messages = match (&b.client_email, service) {
        (Some(to), Some(s)) => {
            let v = booking::visit(app, tenant, s, &booking::stored(app, tenant, &b));
            vec![booking::email_msg(to, &v.rejected(to, &reason))]
        }
        _ => Vec::new(),
    };
    let row = match store::release_booking(
        &app.db,
        tenant.id,
        b.id,
        BookingStatus::Rejected.as_str(),
        Some(&reason),
        now.timestamp(),
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
    app.metrics.booking_rejected(tenant);
    app.outbox_wake.notify_one();
    let actor = staff_actor(staff);
    let key = service.map(|s| s.cfg.key.clone()).unwrap_or_default();
    let event =
        NewEvent::new(history::REJECTED, &actor).detail(json!({ "reason": reason }).to_string());
    let mut after = booking_ref(&row.code, &key, row.slot_start, &row.status);
    after["reason"] = json!(reason);
    let audit = NewAudit::new(&actor, "booking.reject", &format!("booking:{id}"))
        .before(booking_ref(&b.code, &key, b.slot_start, &b.status).to_string())
        .after(after.to_string());
    store::record_staff_change(&app.db, tenant.id, id, &event, &audit, now.timestamp()).await?;
    fetch(app, tenant.id, id).await
}

/// What happened at the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Attended,
    NoShow,
    /// The clerk refused service, e.g. the vehicle or owner data differ from the booking (ZG-14).
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Attended => "attended",
            Outcome::NoShow => "no_show",
            Outcome::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "attended" => Some(Outcome::Attended),
            "no_show" => Some(Outcome::NoShow),
            "refused" => Some(Outcome::Refused),
            _ => None,
        }
    }
}

/// Records the outcome of a confirmed visit on or after its day (a no-show only once the visit
/// has started). A refusal needs a note (ZG-14). A no-show counts against the client's
/// identities (OP-14), once; correcting it away lifts it.
pub async fn record_outcome(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    id: i64,
    outcome: Outcome,
    note: Option<&str>,
) -> ApiResult<StaffBookingRow> {
    let note = match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => Some(check_text("note", n, 1, MAX_NOTE)?),
        None => None,
    };
    if outcome == Outcome::Refused && note.is_none() {
        return Err(DomainError::invalid("note", "podaj powód odmowy obsługi").into());
    }
    let current = fetch(app, tenant.id, id).await?;
    let b = &current.booking;
    if current.erased_at.is_some() {
        return Err(
            DomainError::ChangeNotAllowed("dane tej rezerwacji zostały usunięte.".into()).into(),
        );
    }
    match booking::status_of(b) {
        BookingStatus::Confirmed => {}
        BookingStatus::Pending => {
            return Err(DomainError::ChangeNotAllowed(
                "rezerwacja nie została potwierdzona.".into(),
            )
            .into())
        }
        _ => return Err(booking::refusal_for(b).into()),
    }
    let now = app.clock.now();
    let start = chrono::DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    let day_start = local_to_utc(local_date(start).and_time(NaiveTime::MIN)).unwrap_or(start);
    if now < day_start {
        return Err(
            DomainError::ChangeNotAllowed("dzień wizyty jeszcze nie nadszedł.".into()).into(),
        );
    }
    if outcome == Outcome::NoShow && now < start {
        return Err(DomainError::ChangeNotAllowed(
            "nieobecność można odnotować dopiero po godzinie wizyty.".into(),
        )
        .into());
    }
    let actor = staff_actor(staff);
    let event = NewEvent::new(history::OUTCOME_RECORDED, &actor)
        .detail(json!({ "outcome": outcome.as_str(), "note": note.is_some() }).to_string());
    let audit = NewAudit::new(&actor, "booking.outcome", &format!("booking:{id}"))
        .before(json!({ "code": b.code, "outcome": current.outcome }).to_string())
        .after(
            json!({ "code": b.code, "outcome": outcome.as_str(), "note": note.is_some() })
                .to_string(),
        );
    let (row, changed) = match store::record_outcome(
        &app.db,
        tenant.id,
        id,
        outcome.as_str(),
        note.as_deref(),
        &actor,
        &event,
        &audit,
        now.timestamp(),
    )
    .await
    {
        Ok(r) => r,
        Err(StoreError::Conflict) => {
            let fresh = fetch(app, tenant.id, id).await?.booking;
            return Err(match booking::status_of(&fresh) {
                BookingStatus::Confirmed => {
                    DomainError::ChangeNotAllowed("dane tej rezerwacji zostały usunięte.".into())
                }
                _ => booking::refusal_for(&fresh),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    if outcome == Outcome::NoShow && changed {
        let department = tenant
            .service(row.booking.service_id)
            .and_then(|s| s.cfg.department.clone());
        store::record_no_show(
            &app.db,
            tenant.id,
            id,
            department.as_deref(),
            now.timestamp(),
        )
        .await?;
    }
    Ok(row)
}
