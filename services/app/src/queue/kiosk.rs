//! The kiosk: queue states, walk-in tickets (CI-3, CI-4, CI-6), checking booked visits in
//! (CI-16, DG-4, DG-8).

use chrono::{DateTime, Utc};
use okienko_domain::booking::normalise_code;
use okienko_domain::calendar::local_date;
use okienko_domain::queue::{
    self as rules, check_in_window, day_bounds, day_key, office_open, CheckInWindow, QueueConfig,
};
use okienko_domain::DomainError;
use okienko_store::{self as store, BookedVisit, NewTicket, StoreError, TicketRow, VisitRow};

use super::lateness::cancel_late_one;
use super::lookup::{office_hours, queue_of, today};
use crate::auth::ts;
use crate::catalog::{OfficeCtx, TenantCtx};
use crate::error::ApiResult;
use crate::App;

// Kiosk

/// A queue as the kiosk shows it.
#[derive(Debug, Clone)]
pub struct QueueState {
    pub cfg: QueueConfig,
    /// Why no ticket can be taken now (CI-4), in Polish; None when open.
    pub closed: Option<String>,
    /// Walk-in tickets left today, when the queue has a daily capacity.
    pub remaining: Option<i64>,
}

pub async fn queue_states(
    app: &App,
    tenant: &TenantCtx,
    office: &OfficeCtx,
) -> ApiResult<Vec<QueueState>> {
    let (now, day) = today(app);
    let open = office_open(&office_hours(office), &tenant.cfg.closures, now);
    let counters = store::queue_counters(&app.db, tenant.id, office.id, &day).await?;
    Ok(tenant
        .cfg
        .queues_of(&office.cfg.key)
        .map(|q| {
            let walk_ins = counters.iter().find(|c| c.0 == q.letter).map_or(0, |c| c.2);
            let remaining = q
                .daily_capacity
                .map(|cap| (i64::from(cap) - walk_ins).max(0));
            let closed = match &open {
                Err(c) => Some(c.message()),
                Ok(()) if remaining == Some(0) && !q.check_in => {
                    Some(DomainError::QueueFull.to_string())
                }
                Ok(()) => None,
            };
            QueueState {
                cfg: q.clone(),
                closed,
                remaining,
            }
        })
        .collect())
}

/// A walk-in ticket in a queue (CI-6): during the office's hours and while the queue's daily
/// capacity lasts (CI-4).
pub async fn issue_walk_in(
    app: &App,
    tenant: &TenantCtx,
    office: &OfficeCtx,
    letter: &str,
) -> ApiResult<TicketRow> {
    let q = queue_of(tenant, office, letter)?;
    if q.check_in {
        return Err(DomainError::CheckInQueueOnly.into());
    }
    let (now, day) = today(app);
    office_open(&office_hours(office), &tenant.cfg.closures, now)
        .map_err(|c| DomainError::QueueClosed(c.message()))?;
    let t = NewTicket {
        tenant: tenant.id,
        office_id: office.id,
        day,
        queue: q.letter.clone(),
        booking: None,
        walk_in_capacity: q.daily_capacity.map(i64::from),
        now: now.timestamp(),
    };
    match store::issue_ticket(&app.db, &t).await {
        Ok(row) => {
            app.metrics
                .ticket_issued(tenant, office.id, &row.queue, &row.kind);
            Ok(row)
        }
        Err(StoreError::SlotFull) => Err(DomainError::QueueFull.into()),
        Err(e) => Err(e.into()),
    }
}

/// Checks in a booked visit by its code (CI-16): a priority ticket in the queue the
/// configuration names (CI-18; DG-8's "U").
pub async fn check_in_by_code(
    app: &App,
    tenant: &TenantCtx,
    office: &OfficeCtx,
    code: &str,
) -> ApiResult<TicketRow> {
    let code = normalise_code(code);
    if code.is_empty() || code.len() > 16 {
        return Err(DomainError::invalid("code", "wpisz kod rezerwacji").into());
    }
    let v = store::visit_by_code(&app.db, tenant.id, &code)
        .await?
        .filter(|v| in_office(tenant, office, v))
        .ok_or(DomainError::CheckInNotFound)?;
    let now = app.clock.now();
    match v.status.as_str() {
        "confirmed" if v.checked_in_at.is_some() => Err(DomainError::AlreadyCheckedIn.into()),
        "confirmed" => check_in(app, tenant, office, &v, now).await,
        "cancelled" if v.cancel_reason.as_deref() == Some(store::LATE_REASON) => {
            Err(DomainError::CheckInTooLate {
                start: ts(v.slot_start),
            }
            .into())
        }
        "cancelled" | "expired" | "rejected" => Err(DomainError::AlreadyCancelled.into()),
        _ => Err(DomainError::CheckInNotFound.into()),
    }
}

/// Checks in the earliest of the day's booked visits with this phone number that is not
/// checked in yet (DG-4, DG-8): one ticket per check-in.
pub async fn check_in_by_phone(
    app: &App,
    tenant: &TenantCtx,
    office: &OfficeCtx,
    phone: &str,
) -> ApiResult<TicketRow> {
    let p = rules::normalize_phone_48(phone).ok_or_else(|| {
        DomainError::invalid("phone", "wpisz numer telefonu w postaci 48xxxxxxxxx")
    })?;
    let nine = p[2..].to_string();
    let variants = vec![
        p.clone(),
        nine.clone(),
        format!("+{p}"),
        format!("+48 {nine}"),
    ];
    let now = app.clock.now();
    let (from, to) = day_bounds(local_date(now));
    let visits: Vec<VisitRow> = store::visits_by_phone(&app.db, tenant.id, &variants, from, to)
        .await?
        .into_iter()
        .filter(|v| in_office(tenant, office, v))
        .collect();
    let mut late: Option<i64> = visits
        .iter()
        .filter(|v| v.cancel_reason.as_deref() == Some(store::LATE_REASON))
        .map(|v| v.slot_start)
        .max();
    let mut any_checked_in = false;
    for v in &visits {
        if v.status != "confirmed" {
            continue;
        }
        if v.checked_in_at.is_some() {
            any_checked_in = true;
            continue;
        }
        match check_in(app, tenant, office, v, now).await {
            Ok(t) => return Ok(t),
            Err(e) => match e.domain() {
                DomainError::CheckInTooLate { .. } => late = Some(v.slot_start),
                // The rest of the day's visits are later still.
                DomainError::CheckInTooEarly { .. } => return Err(e),
                DomainError::AlreadyCheckedIn => any_checked_in = true,
                _ => return Err(e),
            },
        }
    }
    if let Some(start) = late {
        return Err(DomainError::CheckInTooLate { start: ts(start) }.into());
    }
    if any_checked_in {
        return Err(DomainError::AlreadyCheckedIn.into());
    }
    Err(DomainError::CheckInNotFound.into())
}

pub(crate) fn in_office(tenant: &TenantCtx, office: &OfficeCtx, v: &VisitRow) -> bool {
    tenant
        .service(v.service_id)
        .is_some_and(|s| s.office_id == office.id)
}

pub(crate) async fn check_in(
    app: &App,
    tenant: &TenantCtx,
    office: &OfficeCtx,
    v: &VisitRow,
    now: DateTime<Utc>,
) -> ApiResult<TicketRow> {
    let service = tenant
        .service(v.service_id)
        .ok_or(DomainError::CheckInNotFound)?;
    let r = &tenant.cfg.queue;
    match check_in_window(r, v.slot_start, now.timestamp()) {
        CheckInWindow::TooEarly { from } => {
            return Err(DomainError::CheckInTooEarly {
                from: ts(from),
                minutes: r.check_in_before_minutes,
            }
            .into())
        }
        CheckInWindow::TooLate => {
            cancel_late_one(app, tenant, v).await?;
            return Err(DomainError::CheckInTooLate {
                start: ts(v.slot_start),
            }
            .into());
        }
        CheckInWindow::InTime => {}
    }
    if local_date(ts(v.slot_start)) != local_date(now) {
        // A window longer than the time since midnight would reach another day.
        return Err(DomainError::CheckInNotFound.into());
    }
    let q = tenant
        .cfg
        .booked_queue(&office.cfg.key, &service.cfg.key)
        .ok_or(DomainError::NoQueue)?;
    let t = NewTicket {
        tenant: tenant.id,
        office_id: office.id,
        day: day_key(now),
        queue: q.letter.clone(),
        booking: Some(BookedVisit {
            id: v.id,
            service_id: v.service_id,
            at: v.slot_start,
        }),
        walk_in_capacity: None,
        now: now.timestamp(),
    };
    match store::issue_ticket(&app.db, &t).await {
        Ok(row) => {
            app.metrics
                .ticket_issued(tenant, office.id, &row.queue, &row.kind);
            Ok(row)
        }
        Err(StoreError::Conflict | StoreError::Unique(_)) => {
            let fresh = store::visit_by_id(&app.db, tenant.id, v.id)
                .await?
                .ok_or(DomainError::CheckInNotFound)?;
            Err(match (fresh.status.as_str(), fresh.checked_in_at) {
                ("confirmed", Some(_)) => DomainError::AlreadyCheckedIn,
                (_, _) if fresh.cancel_reason.as_deref() == Some(store::LATE_REASON) => {
                    DomainError::CheckInTooLate {
                        start: ts(fresh.slot_start),
                    }
                }
                _ => DomainError::AlreadyCancelled,
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
