//! The electronic queue's use cases (issue 4), shared by the kiosk, desk and display APIs and
//! the lateness worker: issuing tickets (CI-3, CI-4, CI-6), checking booked visits in (CI-16,
//! DG-4, DG-8), calling (CI-7, CI-8, CI-18 … CI-20, DG-3), serving, transfers, refusals
//! (ZG-14), cancelling late bookings (CI-17, GD-11, DG-8), the admission list (OP-9) and the
//! anonymous statistics (P-5).
//!
//! Calls reach the office's displays through [`Bus`], a fan-out per office. On PostgreSQL a
//! call made on one server reaches displays connected to the others: the server hands what is
//! published here to `NOTIFY okienko_display` ([`Bus::replicate`]) and what other servers
//! published to [`Bus::deliver`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};
use okienko_domain::booking::normalise_code;
use okienko_domain::calendar::{local_date, to_local, WeeklyHours};
use okienko_domain::queue::{
    self as rules, call_order, check_in_window, day_bounds, day_key, office_open, reorder,
    voice_text, Candidate, CheckInWindow, QueueConfig, Recall,
};
use okienko_domain::{validate, DomainError};
use okienko_store::{
    self as store, BookedVisit, FactPlace, NewTicket, StoreError, TicketRow, VisitRow,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::auth::ts;
use crate::catalog::{OfficeCtx, ServiceCtx, TenantCtx};
use crate::error::ApiResult;
use crate::App;

/// How far back the lateness worker looks for unchecked bookings: a server down for longer
/// leaves older ones as they are rather than cancelling history.
const LATENESS_LOOKBACK_SECS: i64 = 24 * 3600;
/// How often a desk's call is retried when other desks took every candidate it tried.
const CLAIM_ATTEMPTS: usize = 8;
/// Events kept per office for a display that is slow to read.
const BUS_CAPACITY: usize = 256;

// ---------------------------------------------------------------------------------------------
// Displays' events

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The subscription is live; what happened before is in the board query.
    Connected,
    Called,
    Recalled,
    /// The ticket left the display (served, void, transferred, refused).
    Cleared,
}

/// What a call display of an office is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardEvent {
    pub kind: EventKind,
    pub ticket: Option<BoardTicket>,
    pub queue_name: Option<String>,
    pub at: DateTime<Utc>,
}

/// What a display shows of a ticket (nothing of the client's or the booking's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardTicket {
    /// As printed and shown: A001.
    pub label: String,
    /// The queue's letter.
    pub queue: String,
    pub desk: Option<i64>,
    pub call_count: i64,
}

impl From<&TicketRow> for BoardTicket {
    fn from(t: &TicketRow) -> Self {
        BoardTicket {
            label: t.label.clone(),
            queue: t.queue.clone(),
            desk: t.desk,
            call_count: t.call_count,
        }
    }
}

impl BoardEvent {
    pub fn voice_text(&self) -> Option<String> {
        match (self.kind, &self.ticket) {
            (EventKind::Called | EventKind::Recalled, Some(t)) => {
                Some(voice_text(&t.label, t.desk.unwrap_or_default()))
            }
            _ => None,
        }
    }
}

/// A board event with the office it is for: what goes from one server to the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeEvent {
    pub tenant: i64,
    pub office: i64,
    pub event: BoardEvent,
}

/// Fan-out of board events to this process's displays, one channel per (tenant, office).
#[derive(Default)]
pub struct Bus {
    channels: Mutex<HashMap<(i64, i64), broadcast::Sender<BoardEvent>>>,
    /// Where events published here also go, for the other servers (see `replicate`).
    outbound: OnceLock<mpsc::UnboundedSender<OfficeEvent>>,
}

impl Bus {
    /// An event of this process: to its displays of the office and, when replicated, to the
    /// other servers' displays.
    pub fn publish(&self, tenant: &TenantCtx, office_id: i64, event: BoardEvent) {
        if let Some(tx) = self.outbound.get() {
            // The receiver lives as long as the server; after it stops nothing is sent.
            let _ = tx.send(OfficeEvent {
                tenant: tenant.id.0,
                office: office_id,
                event: event.clone(),
            });
        }
        self.deliver(tenant.id.0, office_id, event);
    }

    /// An event to this process's displays of the office only: one another server published.
    pub fn deliver(&self, tenant_id: i64, office_id: i64, event: BoardEvent) {
        let Ok(mut map) = self.channels.lock() else {
            return;
        };
        let key = (tenant_id, office_id);
        if let Some(tx) = map.get(&key) {
            if tx.send(event).is_err() {
                // Nobody listens any more.
                map.remove(&key);
            }
        }
    }

    /// From now on every event published here is also handed, in order, to the returned
    /// receiver (for the other servers). None when it was asked for before: there is one.
    pub fn replicate(&self) -> Option<mpsc::UnboundedReceiver<OfficeEvent>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.outbound.set(tx).ok()?;
        Some(rx)
    }

    pub fn subscribe(&self, tenant: &TenantCtx, office_id: i64) -> broadcast::Receiver<BoardEvent> {
        let mut map = match self.channels.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry((tenant.id.0, office_id))
            .or_insert_with(|| broadcast::channel(BUS_CAPACITY).0)
            .subscribe()
    }
}

fn event(kind: EventKind, tenant: &TenantCtx, t: &TicketRow, now: DateTime<Utc>) -> BoardEvent {
    BoardEvent {
        kind,
        queue_name: queue_name(tenant, t.office_id, &t.queue),
        ticket: Some(t.into()),
        at: now,
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups

pub fn office(tenant: &TenantCtx, id: i64) -> Result<&OfficeCtx, DomainError> {
    tenant.office(id).ok_or(DomainError::NotFound)
}

pub fn queue_name(tenant: &TenantCtx, office_id: i64, letter: &str) -> Option<String> {
    let o = tenant.office(office_id)?;
    tenant
        .cfg
        .queue_of(&o.cfg.key, letter)
        .map(|q| q.name.clone())
}

fn queue_of<'a>(
    tenant: &'a TenantCtx,
    office: &OfficeCtx,
    letter: &str,
) -> Result<&'a QueueConfig, DomainError> {
    let letter = letter.trim().to_uppercase();
    tenant
        .cfg
        .queue_of(&office.cfg.key, &letter)
        .ok_or_else(|| DomainError::invalid("queue", "nie ma takiej kolejki w tym urzędzie"))
}

fn office_hours(office: &OfficeCtx) -> WeeklyHours {
    WeeklyHours::from_config(&office.cfg.hours).unwrap_or_default()
}

fn today(app: &App) -> (DateTime<Utc>, String) {
    let now = app.clock.now();
    (now, day_key(now))
}

/// A store conflict on a ticket: what state it is in now, in Polish.
async fn state_conflict(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<DomainError> {
    let t = store::ticket_by_id(&app.db, tenant.id, id)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(DomainError::TicketState {
        label: t.label.clone(),
        state: state_pl(&t.state).into(),
    })
}

pub fn state_pl(state: &str) -> &'static str {
    match state {
        "waiting" => "oczekujący",
        "called" => "wywołany",
        "serving" => "w obsłudze",
        "done" => "obsłużony",
        "void" => "nieważny",
        "transferred" => "przekazany do innej kolejki",
        "refused" => "z odmową obsługi",
        _ => "nieznany",
    }
}

pub async fn ticket(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<TicketRow> {
    Ok(store::ticket_by_id(&app.db, tenant.id, id)
        .await?
        .ok_or(DomainError::NotFound)?)
}

// ---------------------------------------------------------------------------------------------
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
        Ok(row) => Ok(row),
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

fn in_office(tenant: &TenantCtx, office: &OfficeCtx, v: &VisitRow) -> bool {
    tenant
        .service(v.service_id)
        .is_some_and(|s| s.office_id == office.id)
}

async fn check_in(
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
        Ok(row) => Ok(row),
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
// Lateness (CI-17, GD-11, DG-8)

fn no_show_place(tenant: &TenantCtx, s: &ServiceCtx, slot_start: i64) -> Option<FactPlace> {
    let office = tenant.office(s.office_id)?;
    let q = tenant.cfg.booked_queue(&office.cfg.key, &s.cfg.key)?;
    Some(FactPlace {
        office_id: office.id,
        day: local_date(ts(slot_start)).to_string(),
        queue: q.letter.clone(),
        booked: true,
    })
}

/// Cancels one booking not checked in in time, with its no-show (OP-14). False when it was
/// checked in or ended meanwhile.
async fn cancel_late_one(app: &App, tenant: &TenantCtx, v: &VisitRow) -> ApiResult<bool> {
    let service = tenant.service(v.service_id);
    let department = service.and_then(|s| s.cfg.department.as_deref());
    let place = service.and_then(|s| no_show_place(tenant, s, v.slot_start));
    let now = app.clock.now().timestamp();
    match store::cancel_unchecked(&app.db, tenant.id, v.id, department, place.as_ref(), now).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Cancels the bookings that were not checked in by their time plus the tenant's lateness,
/// in every tenant that sets one, for services with a queue (elsewhere nobody could check in).
/// Returns how many were cancelled.
pub async fn cancel_late(app: &App) -> ApiResult<usize> {
    let now = app.clock.now().timestamp();
    let mut n = 0;
    for slug in app.catalog.slugs() {
        let Some(tenant) = app.catalog.get(&slug) else {
            continue;
        };
        let Some(minutes) = tenant.cfg.queue.cancel_unchecked_after_minutes else {
            continue;
        };
        let cutoff = now - i64::from(minutes) * 60;
        loop {
            let due = store::unchecked_between(
                &app.db,
                tenant.id,
                cutoff - LATENESS_LOOKBACK_SECS,
                cutoff,
                200,
            )
            .await?;
            let mut progressed = false;
            for v in &due {
                let queued = tenant.service(v.service_id).is_some_and(|s| {
                    tenant
                        .office(s.office_id)
                        .is_some_and(|o| tenant.cfg.booked_queue(&o.cfg.key, &s.cfg.key).is_some())
                });
                if queued && cancel_late_one(app, &tenant, v).await? {
                    n += 1;
                    progressed = true;
                }
            }
            if !progressed || due.len() < 200 {
                break;
            }
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Desk

fn rfc(t: i64) -> Value {
    json!(ts(t).to_rfc3339())
}

/// The waiting tickets a desk may call now, in calling order: the rules of CI-18 … CI-20 and
/// DG-3, then the city's `queue_order` hook when its policy has one (it can only reorder).
pub async fn call_candidates(
    app: &App,
    tenant: &TenantCtx,
    waiting: &[TicketRow],
    now: DateTime<Utc>,
) -> Vec<i64> {
    let candidates: Vec<Candidate> = waiting
        .iter()
        .map(|t| Candidate {
            id: t.id,
            queue: t.queue.clone(),
            number: t.number,
            booked_at: if t.kind == "booked" {
                t.booked_at
            } else {
                None
            },
            arrived_at: t.arrived_at,
        })
        .collect();
    let order = call_order(&candidates, now.timestamp());
    if order.len() < 2 {
        return order;
    }
    let tickets: Vec<Value> = order
        .iter()
        .filter_map(|id| waiting.iter().find(|t| t.id == *id))
        .map(|t| {
            let booked = t.kind == "booked";
            json!({
                "id": t.id.to_string(),
                "number": t.number,
                "queue": t.queue,
                "kind": if booked { "booked" } else { "walk_in" },
                "booked_at": t.booked_at.map_or(Value::Null, rfc),
                "issued_at": rfc(t.arrived_at),
                "checked_in_at": if booked { rfc(t.issued_at) } else { Value::Null },
            })
        })
        .collect();
    let ctx = json!({ "tickets": tickets, "now": now.to_rfc3339() });
    match app.policies.call(tenant.id, "queue_order", ctx).await {
        Ok(Some(Value::Array(ids))) => {
            let ids: Vec<i64> = ids
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => s.parse().ok(),
                    v => v.as_i64(),
                })
                .collect();
            reorder(&order, &ids)
        }
        Ok(_) => order,
        Err(e) => {
            tracing::warn!(tenant = %tenant.slug, error = %e, "queue_order failed; the default order applies");
            order
        }
    }
}

/// The desk calls its next client (CI-7): the first candidate no other desk took first. None
/// when nobody waits in the desk's queues.
pub async fn call_next(
    app: &App,
    bus: &Bus,
    tenant: &TenantCtx,
    office: &OfficeCtx,
    desk: u32,
    clerk: Option<i64>,
) -> ApiResult<Option<TicketRow>> {
    let d = tenant
        .cfg
        .desk_of(&office.cfg.key, desk)
        .ok_or_else(|| DomainError::invalid("desk", "nie ma takiego stanowiska w tym urzędzie"))?;
    for _ in 0..CLAIM_ATTEMPTS {
        let (now, day) = today(app);
        desk_free(app, tenant, office, desk, &day).await?;
        let waiting: Vec<TicketRow> =
            store::waiting_tickets(&app.db, tenant.id, office.id, &day, &d.queues)
                .await?
                .into_iter()
                .filter(|t| {
                    let service = t
                        .service_id
                        .and_then(|s| tenant.service(s))
                        .map(|s| s.cfg.key.as_str());
                    tenant.cfg.desk_takes(d, &t.queue, service)
                })
                .collect();
        let order = call_candidates(app, tenant, &waiting, now).await;
        if order.is_empty() {
            return Ok(None);
        }
        let claimed = match store::claim_ticket(
            &app.db,
            tenant.id,
            &order,
            i64::from(desk),
            clerk,
            now.timestamp(),
        )
        .await
        {
            // Another call at this desk was first (the database holds one a desk).
            Err(StoreError::Unique("desk")) => {
                desk_free(app, tenant, office, desk, &day).await?;
                return Err(DomainError::DeskBusy {
                    desk,
                    label: String::new(),
                }
                .into());
            }
            other => other?,
        };
        if let Some(t) = claimed {
            bus.publish(tenant, office.id, event(EventKind::Called, tenant, &t, now));
            return Ok(Some(t));
        }
    }
    // Every candidate went to other desks each time: as if nobody waited.
    Ok(None)
}

/// A desk calls the next number only when it has no called or serving ticket: the clerk
/// finishes, recalls, transfers or refuses the current one first (`DESK_BUSY`). The database
/// holds this under concurrency too (`tickets_one_per_desk`).
async fn desk_free(
    app: &App,
    tenant: &TenantCtx,
    office: &OfficeCtx,
    desk: u32,
    day: &str,
) -> ApiResult<()> {
    match store::desk_ticket(&app.db, tenant.id, office.id, day, i64::from(desk)).await? {
        Some(t) => Err(DomainError::DeskBusy {
            desk,
            label: t.label,
        }
        .into()),
        None => Ok(()),
    }
}

/// Calls a called ticket again, at least the tenant's interval after the last call (CI-8).
/// After the last allowed call without an answer the ticket is void, and a booked visit's
/// no-show is recorded (OP-14).
pub async fn recall(app: &App, bus: &Bus, tenant: &TenantCtx, id: i64) -> ApiResult<TicketRow> {
    let t = ticket(app, tenant, id).await?;
    if t.state != "called" {
        return Err(state_conflict(app, tenant, id).await?.into());
    }
    let r = &tenant.cfg.queue;
    let now = app.clock.now();
    let last = t.last_called_at.unwrap_or(t.issued_at);
    match rules::recall(r, t.call_count, last, now.timestamp()) {
        Recall::TooSoon { from } => Err(DomainError::RecallTooSoon {
            from: ts(from),
            minutes: r.recall_interval_minutes,
        }
        .into()),
        Recall::Call => {
            match store::recall_ticket(&app.db, tenant.id, id, t.call_count, now.timestamp()).await
            {
                Ok(row) => {
                    bus.publish(
                        tenant,
                        row.office_id,
                        event(EventKind::Recalled, tenant, &row, now),
                    );
                    Ok(row)
                }
                Err(StoreError::Conflict) => Err(state_conflict(app, tenant, id).await?.into()),
                Err(e) => Err(e.into()),
            }
        }
        Recall::Void => {
            let row = match store::void_ticket(&app.db, tenant.id, id, now.timestamp()).await {
                Ok(row) => row,
                Err(StoreError::Conflict) => {
                    return Err(state_conflict(app, tenant, id).await?.into())
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(booking) = row.booking_id {
                let department = store::visit_by_id(&app.db, tenant.id, booking)
                    .await?
                    .and_then(|v| tenant.service(v.service_id))
                    .and_then(|s| s.cfg.department.clone());
                store::record_no_show(
                    &app.db,
                    tenant.id,
                    booking,
                    department.as_deref(),
                    now.timestamp(),
                )
                .await?;
            }
            bus.publish(
                tenant,
                row.office_id,
                event(EventKind::Cleared, tenant, &row, now),
            );
            Ok(row)
        }
    }
}

pub async fn start_service(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<TicketRow> {
    let now = app.clock.now().timestamp();
    match store::start_service(&app.db, tenant.id, id, now).await {
        Ok(t) => Ok(t),
        Err(StoreError::Conflict) => Err(state_conflict(app, tenant, id).await?.into()),
        Err(e) => Err(e.into()),
    }
}

pub async fn finish_service(
    app: &App,
    bus: &Bus,
    tenant: &TenantCtx,
    id: i64,
) -> ApiResult<TicketRow> {
    let now = app.clock.now();
    match store::finish_service(&app.db, tenant.id, id, now.timestamp()).await {
        Ok(t) => {
            bus.publish(
                tenant,
                t.office_id,
                event(EventKind::Cleared, tenant, &t, now),
            );
            Ok(t)
        }
        Err(StoreError::Conflict) => Err(state_conflict(app, tenant, id).await?.into()),
        Err(e) => Err(e.into()),
    }
}

/// Sends a called or served client to another queue of the office, keeping the original
/// arrival time. Returns the new waiting ticket.
pub async fn transfer(
    app: &App,
    bus: &Bus,
    tenant: &TenantCtx,
    id: i64,
    letter: &str,
) -> ApiResult<TicketRow> {
    let t = ticket(app, tenant, id).await?;
    let o = office(tenant, t.office_id)?;
    let q = queue_of(tenant, o, letter)?;
    if q.letter == t.queue {
        return Err(DomainError::invalid("queue", "bilet już jest w tej kolejce").into());
    }
    let now = app.clock.now();
    match store::transfer_ticket(&app.db, tenant.id, id, &q.letter, now.timestamp()).await {
        Ok((old, new)) => {
            bus.publish(
                tenant,
                old.office_id,
                event(EventKind::Cleared, tenant, &old, now),
            );
            Ok(new)
        }
        Err(StoreError::Conflict) => Err(state_conflict(app, tenant, id).await?.into()),
        Err(e) => Err(e.into()),
    }
}

/// Refuses service because the client's data do not match the booking (ZG-14); the reason is
/// recorded on the ticket and, for a booked visit, on the booking, which becomes rejected.
pub async fn refuse(
    app: &App,
    bus: &Bus,
    tenant: &TenantCtx,
    id: i64,
    reason: &str,
) -> ApiResult<TicketRow> {
    let reason = validate::text("reason", reason)?;
    if reason.is_empty() {
        return Err(DomainError::invalid("reason", "podaj powód odmowy obsługi").into());
    }
    let now = app.clock.now();
    match store::refuse_service(&app.db, tenant.id, id, &reason, now.timestamp()).await {
        Ok(t) => {
            bus.publish(
                tenant,
                t.office_id,
                event(EventKind::Cleared, tenant, &t, now),
            );
            Ok(t)
        }
        Err(StoreError::Conflict) => Err(state_conflict(app, tenant, id).await?.into()),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Admission list (OP-9)

#[derive(Debug, Clone)]
pub struct Admission {
    pub code: String,
    pub start: DateTime<Utc>,
    pub service: String,
    pub service_key: String,
    pub department: Option<String>,
    pub office_id: i64,
    pub queue: Option<String>,
    pub checked_in: bool,
}

/// What an admission list covers.
#[derive(Debug, Clone, Default)]
pub struct AdmissionFilter {
    pub office_id: Option<i64>,
    /// A desk of that office: the bookings of the services its queues serve.
    pub desk: Option<u32>,
    /// A department key: the bookings of its services.
    pub department: Option<String>,
}

/// The day's booked visits, by time: the identifier given at booking (the booking code) and the
/// time, per desk or department (OP-9). No names: the list is posted at the desk.
pub async fn admission_list(
    app: &App,
    tenant: &TenantCtx,
    day: NaiveDate,
    f: &AdmissionFilter,
) -> ApiResult<Vec<Admission>> {
    if f.desk.is_some() && f.office_id.is_none() && tenant.offices.len() != 1 {
        return Err(DomainError::invalid("officeId", "podaj urząd stanowiska").into());
    }
    let office = match f
        .office_id
        .or_else(|| f.desk.and_then(|_| tenant.offices.first().map(|o| o.id)))
    {
        Some(id) => Some(
            office(tenant, id)
                .map_err(|_| DomainError::invalid("officeId", "nie ma takiego urzędu"))?,
        ),
        None => None,
    };
    let desk = match (f.desk, office) {
        (Some(n), Some(o)) => Some(tenant.cfg.desk_of(&o.cfg.key, n).ok_or_else(|| {
            DomainError::invalid("desk", "nie ma takiego stanowiska w tym urzędzie")
        })?),
        _ => None,
    };
    if let Some(d) = &f.department {
        let known = tenant
            .cfg
            .offices
            .iter()
            .any(|o| o.departments.iter().any(|x| &x.key == d));
        if !known {
            return Err(DomainError::invalid("department", "nie ma takiego wydziału").into());
        }
    }
    let (from, to) = day_bounds(day);
    let visits = store::visits_between(&app.db, tenant.id, from, to).await?;
    let mut out = Vec::new();
    for v in visits {
        let Some(s) = tenant.service(v.service_id) else {
            continue;
        };
        let Some(o) = tenant.office(s.office_id) else {
            continue;
        };
        if office.is_some_and(|x| x.id != o.id) {
            continue;
        }
        if f.department
            .as_ref()
            .is_some_and(|d| s.cfg.department.as_ref() != Some(d))
        {
            continue;
        }
        let queue = tenant.cfg.booked_queue(&o.cfg.key, &s.cfg.key);
        if desk.is_some_and(|d| !tenant.cfg.desk_admits(d, &s.cfg.key)) {
            continue;
        }
        out.push(Admission {
            code: v.code,
            start: ts(v.slot_start),
            service: s.cfg.name.clone(),
            service_key: s.cfg.key.clone(),
            department: s.cfg.department.clone(),
            office_id: o.id,
            queue: queue.map(|q| q.letter.clone()),
            checked_in: v.checked_in_at.is_some(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Statistics (P-5)

/// The anonymous figures of one queue on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDay {
    pub office_id: i64,
    pub day: String,
    pub queue: String,
    pub tickets_issued: i64,
    pub walk_ins: i64,
    pub calls: i64,
    pub total_wait: i64,
    pub max_wait: Option<i64>,
    pub served: i64,
    pub total_service: i64,
    pub max_service: Option<i64>,
    pub no_shows: i64,
}

/// The longest range one statistics request may cover.
pub const MAX_STATS_DAYS: i64 = 366;

pub async fn statistics(
    app: &App,
    tenant: &TenantCtx,
    from: NaiveDate,
    to: NaiveDate,
    office_id: Option<i64>,
) -> ApiResult<Vec<QueueDay>> {
    if to < from {
        return Err(DomainError::InvalidRange("data końcowa jest przed początkową".into()).into());
    }
    if (to - from).num_days() >= MAX_STATS_DAYS {
        return Err(DomainError::InvalidRange(format!(
            "najwyżej {MAX_STATS_DAYS} dni w jednym zapytaniu"
        ))
        .into());
    }
    let (f, t) = (from.to_string(), to.to_string());
    let mut days: std::collections::BTreeMap<(String, i64, String), QueueDay> =
        std::collections::BTreeMap::new();
    for (office, day, queue, last, walk_ins) in
        store::counters_between(&app.db, tenant.id, &f, &t).await?
    {
        let q = days
            .entry((day.clone(), office, queue.clone()))
            .or_insert_with(|| QueueDay {
                office_id: office,
                day: day.clone(),
                queue: queue.clone(),
                ..QueueDay::default()
            });
        q.tickets_issued = last;
        q.walk_ins = walk_ins;
    }
    for g in store::queue_facts(&app.db, tenant.id, &f, &t).await? {
        let q = days
            .entry((g.day.clone(), g.office_id, g.queue.clone()))
            .or_insert_with(|| QueueDay {
                office_id: g.office_id,
                day: g.day.clone(),
                queue: g.queue.clone(),
                ..QueueDay::default()
            });
        match g.kind.as_str() {
            "wait" => {
                q.calls += g.count;
                q.total_wait += g.total_seconds;
                q.max_wait = q.max_wait.max(g.max_seconds);
            }
            "service" => {
                q.served += g.count;
                q.total_service += g.total_seconds;
                q.max_service = q.max_service.max(g.max_seconds);
            }
            "no_show" => q.no_shows += g.count,
            _ => {}
        }
    }
    Ok(days
        .into_values()
        .filter(|q| office_id.is_none_or(|o| o == q.office_id))
        .collect())
}

/// The local date and time of an instant as a ticket prints them (CI-3).
pub fn printed(t: i64) -> (String, String) {
    let local = to_local(ts(t));
    (
        local.format("%d.%m.%Y").to_string(),
        local.format("%H:%M").to_string(),
    )
}
