//! The desk: calling (CI-7, CI-8, CI-18 … CI-20, DG-3), recalls, serving, transfers and
//! refusals (ZG-14).

use chrono::{DateTime, Utc};
use okienko_domain::queue::{self as rules, call_order, reorder, Candidate, Recall};
use okienko_domain::{validate, DomainError};
use okienko_store::{self as store, StoreError, TicketRow};
use serde_json::{json, Value};

use super::bus::{event, Bus, EventKind};
use super::lookup::{office, queue_of, state_conflict, ticket, today};
use crate::auth::ts;
use crate::catalog::{OfficeCtx, TenantCtx};
use crate::error::ApiResult;
use crate::App;

/// How often a desk's call is retried when other desks took every candidate it tried.
const CLAIM_ATTEMPTS: usize = 8;

// Desk

pub(crate) fn rfc(t: i64) -> Value {
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
            if t.call_count <= 1 {
                let waited = t.first_called_at.unwrap_or(now.timestamp()) - t.arrived_at;
                app.metrics
                    .ticket_first_called(tenant, office.id, &t.queue, &t.kind, waited);
            }
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
pub(crate) async fn desk_free(
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
            let recalled =
                store::recall_ticket(&app.db, tenant.id, id, t.call_count, now.timestamp()).await;
            let row = changed(app, tenant, id, recalled).await?;
            announce(bus, tenant, EventKind::Recalled, &row, now);
            Ok(row)
        }
        Recall::Void => {
            let voided = store::void_ticket(&app.db, tenant.id, id, now.timestamp()).await;
            let row = changed(app, tenant, id, voided).await?;
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
            announce(bus, tenant, EventKind::Cleared, &row, now);
            Ok(row)
        }
    }
}

/// The store's answer to a change of ticket `id`: a conflict (the ticket is no longer in the
/// state the change needs) is refused with what its state is now; other errors pass.
async fn changed<T>(
    app: &App,
    tenant: &TenantCtx,
    id: i64,
    answer: Result<T, StoreError>,
) -> ApiResult<T> {
    match answer {
        Ok(t) => Ok(t),
        Err(StoreError::Conflict) => Err(state_conflict(app, tenant, id).await?.into()),
        Err(e) => Err(e.into()),
    }
}

/// Tells the displays of the ticket's office what happened to it.
fn announce(bus: &Bus, tenant: &TenantCtx, kind: EventKind, t: &TicketRow, now: DateTime<Utc>) {
    bus.publish(tenant, t.office_id, event(kind, tenant, t, now));
}

pub async fn start_service(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<TicketRow> {
    let now = app.clock.now().timestamp();
    changed(
        app,
        tenant,
        id,
        store::start_service(&app.db, tenant.id, id, now).await,
    )
    .await
}

pub async fn finish_service(
    app: &App,
    bus: &Bus,
    tenant: &TenantCtx,
    id: i64,
) -> ApiResult<TicketRow> {
    let now = app.clock.now();
    let finished = store::finish_service(&app.db, tenant.id, id, now.timestamp()).await;
    let t = changed(app, tenant, id, finished).await?;
    announce(bus, tenant, EventKind::Cleared, &t, now);
    Ok(t)
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
    let moved = store::transfer_ticket(&app.db, tenant.id, id, &q.letter, now.timestamp()).await;
    let (old, new) = changed(app, tenant, id, moved).await?;
    announce(bus, tenant, EventKind::Cleared, &old, now);
    Ok(new)
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
    let refused = store::refuse_service(&app.db, tenant.id, id, &reason, now.timestamp()).await;
    let t = changed(app, tenant, id, refused).await?;
    if t.booking_id.is_some() {
        // ZG-14: the booked visit became rejected.
        app.metrics.booking_rejected(tenant);
    }
    announce(bus, tenant, EventKind::Cleared, &t, now);
    Ok(t)
}

// ---------------------------------------------------------------------------------------------
