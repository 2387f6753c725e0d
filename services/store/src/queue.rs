//! The electronic queue: tickets, their numbering, check-in of booked visits, the desks'
//! calls and the anonymous statistics facts (issue 4).
//!
//! Every state change is one conditional UPDATE on the ticket's row, so two desks never get
//! the same ticket and a ticket moves on exactly once: a desk claims a waiting ticket with
//! `… WHERE state = 'waiting'` (on PostgreSQL through `FOR UPDATE SKIP LOCKED`, so desks do not
//! queue behind one another's locks) and tries the next candidate when another desk was faster.
//! Statistics facts are written in the transaction of the change they describe.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, SingleValue, Text};
use diesel_async::RunQueryDsl;

use okienko_domain::queue::ticket_label;

use crate::schema::{bookings, queue_counters, queue_facts, tickets};
use crate::seats::seat_back;
use crate::{
    in_tx, on_conn, on_db, on_read, unique, AnyConn as _, Conn, Db, Result, StoreError, TenantId,
};

diesel::define_sql_function! {
    /// `COALESCE(x, y)`: `x` unless it is NULL.
    fn coalesce<ST: SingleValue>(x: Nullable<ST>, y: ST) -> ST;
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: i64,
    pub tenant_id: i64,
    pub office_id: i64,
    /// The local day it was issued on, YYYY-MM-DD.
    pub day: String,
    /// The queue's letter.
    pub queue: String,
    pub number: i64,
    /// As printed and shown: A001.
    pub label: String,
    /// `walk_in` or `booked`.
    pub kind: String,
    pub booking_id: Option<i64>,
    /// The booked visit's service.
    pub service_id: Option<i64>,
    /// The booked visit's time.
    pub booked_at: Option<i64>,
    /// `waiting`, `called`, `serving`, `done`, `void`, `transferred` or `refused`.
    pub state: String,
    pub issued_at: i64,
    /// When the client first took a ticket for this visit (kept through transfers).
    pub arrived_at: i64,
    pub call_count: i64,
    pub first_called_at: Option<i64>,
    pub last_called_at: Option<i64>,
    pub desk: Option<i64>,
    pub clerk_id: Option<i64>,
    pub service_started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub transferred_from: Option<i64>,
    pub refusal_reason: Option<String>,
    pub updated_at: i64,
}

/// A ticket to issue.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub tenant: TenantId,
    pub office_id: i64,
    /// The local day, YYYY-MM-DD.
    pub day: String,
    /// The queue's letter.
    pub queue: String,
    /// A checked-in booking. None: a walk-in ticket.
    pub booking: Option<BookedVisit>,
    /// Walk-in tickets the queue may issue that day (CI-4); None: no limit.
    pub walk_in_capacity: Option<i64>,
    pub now: i64,
}

/// The booking a ticket is issued for at check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookedVisit {
    pub id: i64,
    pub service_id: i64,
    /// Its time.
    pub at: i64,
}

/// The part of a booking the queue reads: its time, state and check-in.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = bookings)]
pub struct VisitRow {
    pub id: i64,
    pub service_id: i64,
    pub code: String,
    pub status: String,
    pub slot_start: i64,
    pub slot_end: i64,
    pub checked_in_at: Option<i64>,
    pub cancel_reason: Option<String>,
}

/// Why a booking was cancelled by the queue: not checked in by its time plus the tenant's
/// lateness (CI-17, GD-11, DG-8).
pub const LATE_REASON: &str = "no_check_in";

/// Where a statistics fact belongs: office, local day, queue, and whether it was a booked visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactPlace {
    pub office_id: i64,
    pub day: String,
    pub queue: String,
    pub booked: bool,
}

impl FactPlace {
    pub fn of(t: &TicketRow) -> FactPlace {
        FactPlace {
            office_id: t.office_id,
            day: t.day.clone(),
            queue: t.queue.clone(),
            booked: t.kind == "booked",
        }
    }
}

/// Writes a statistics fact inside the transaction of the change it describes.
async fn insert_fact(
    conn: Conn<'_>,
    tenant: TenantId,
    at: &FactPlace,
    kind: &'static str,
    seconds: Option<i64>,
) -> Result<()> {
    let insert = diesel::insert_into(queue_facts::table).values((
        queue_facts::tenant_id.eq(tenant.0),
        queue_facts::office_id.eq(at.office_id),
        queue_facts::day.eq(at.day.as_str()),
        queue_facts::queue.eq(at.queue.as_str()),
        queue_facts::kind.eq(kind),
        queue_facts::booked.eq(i64::from(at.booked)),
        queue_facts::seconds.eq(seconds.map(|s| s.max(0))),
    ));
    on_conn!(conn, c => insert.execute(c).await)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Issuing

/// Issues the next ticket of a queue for the day: the counter row is raised in the same
/// transaction that stores the ticket, so numbers are never handed out twice.
///
/// A walk-in ticket counts against `walk_in_capacity` (`SlotFull` when it is used up, CI-4).
/// A booked visit's ticket first marks the booking checked in, conditionally on it being
/// confirmed and not checked in yet (`Conflict` otherwise), so check-in and the lateness
/// worker never both win.
#[tracing::instrument(name = "store.issue_ticket", skip_all)]
pub async fn issue_ticket(db: &Db, t: &NewTicket) -> Result<TicketRow> {
    let walk_in = i64::from(t.booking.is_none());
    let cap = t.walk_in_capacity.unwrap_or(i64::MAX);
    if walk_in > cap {
        return Err(StoreError::SlotFull);
    }
    let (kind, booking_id, service_id, booked_at) = match t.booking {
        Some(b) => ("booked", Some(b.id), Some(b.service_id), Some(b.at)),
        None => ("walk_in", None, None, None),
    };
    in_tx!(db, c => {
        if let Some(id) = booking_id {
            let n = diesel::update(bookings::table)
                .filter(bookings::tenant_id.eq(t.tenant.0))
                .filter(bookings::id.eq(id))
                .filter(bookings::status.eq("confirmed"))
                .filter(bookings::checked_in_at.is_null())
                .set((
                    bookings::checked_in_at.eq(t.now),
                    bookings::updated_at.eq(t.now),
                ))
                .execute(c)
                .await?;
            if n != 1 {
                return Err(StoreError::Conflict);
            }
        }
        // The number is taken by one upsert of the counter row, in this transaction: a
        // walk-in one only while the day's walk-ins stay within the capacity.
        let upsert = diesel::insert_into(queue_counters::table)
            .values((
                queue_counters::tenant_id.eq(t.tenant.0),
                queue_counters::office_id.eq(t.office_id),
                queue_counters::day.eq(&t.day),
                queue_counters::queue.eq(&t.queue),
                queue_counters::last_number.eq(1),
                queue_counters::walk_ins.eq(walk_in),
            ))
            .on_conflict((
                queue_counters::tenant_id,
                queue_counters::office_id,
                queue_counters::day,
                queue_counters::queue,
            ))
            .do_update()
            .set((
                queue_counters::last_number.eq(queue_counters::last_number + 1),
                queue_counters::walk_ins.eq(queue_counters::walk_ins + walk_in),
            ));
        // The upsert's WHERE (`QueryDsl::filter` is for queries only).
        let number: Option<i64> = diesel::query_dsl::methods::FilterDsl::filter(upsert, (queue_counters::walk_ins + walk_in).le(cap))
            .returning(queue_counters::last_number)
            .get_result(c)
            .await
            .optional()?;
        let number = number.ok_or(StoreError::SlotFull)?;
        let row = diesel::insert_into(tickets::table)
            .values((
                tickets::tenant_id.eq(t.tenant.0),
                tickets::office_id.eq(t.office_id),
                tickets::day.eq(&t.day),
                tickets::queue.eq(&t.queue),
                tickets::number.eq(number),
                tickets::label.eq(ticket_label(&t.queue, number)),
                tickets::kind.eq(kind),
                tickets::booking_id.eq(booking_id),
                tickets::service_id.eq(service_id),
                tickets::booked_at.eq(booked_at),
                tickets::state.eq("waiting"),
                tickets::issued_at.eq(t.now),
                tickets::arrived_at.eq(t.now),
                tickets::call_count.eq(0),
                tickets::updated_at.eq(t.now),
            ))
            .returning(TicketRow::as_returning())
            .get_result(c)
            .await
            .map_err(|e| unique(e, &["booking"]))?;
        Ok(row)
    })
}

/// Walk-in tickets issued and the last number per queue of an office on a day:
/// (queue, last number, walk-ins).
pub async fn queue_counters(
    db: &Db,
    tenant: TenantId,
    office_id: i64,
    day: &str,
) -> Result<Vec<(String, i64, i64)>> {
    on_read!(db, c => Ok(queue_counters::table
        .filter(queue_counters::tenant_id.eq(tenant.0))
        .filter(queue_counters::office_id.eq(office_id))
        .filter(queue_counters::day.eq(day))
        .order(queue_counters::queue)
        .select((
            queue_counters::queue,
            queue_counters::last_number,
            queue_counters::walk_ins,
        ))
        .load(c)
        .await?))
}

// ---------------------------------------------------------------------------------------------
// Reading

pub async fn ticket_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<TicketRow>> {
    on_db!(db, c => Ok(tickets::table
        .filter(tickets::tenant_id.eq(tenant.0))
        .filter(tickets::id.eq(id))
        .select(TicketRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Tickets of an office on a day in these states (all states when empty), in issue order.
pub async fn tickets_of_day(
    db: &Db,
    tenant: TenantId,
    office_id: i64,
    day: &str,
    states: &[&str],
) -> Result<Vec<TicketRow>> {
    let rows: Vec<TicketRow> = on_read!(db, c => tickets::table
        .filter(tickets::tenant_id.eq(tenant.0))
        .filter(tickets::office_id.eq(office_id))
        .filter(tickets::day.eq(day))
        .order(tickets::id)
        .select(TicketRow::as_select())
        .load(c)
        .await?);
    Ok(rows
        .into_iter()
        .filter(|t| states.is_empty() || states.contains(&t.state.as_str()))
        .collect())
}

/// The waiting tickets of an office's queues on a day (the candidates of a desk's call).
pub async fn waiting_tickets(
    db: &Db,
    tenant: TenantId,
    office_id: i64,
    day: &str,
    queues: &[String],
) -> Result<Vec<TicketRow>> {
    let rows: Vec<TicketRow> = on_db!(db, c => tickets::table
        .filter(tickets::tenant_id.eq(tenant.0))
        .filter(tickets::office_id.eq(office_id))
        .filter(tickets::day.eq(day))
        .filter(tickets::state.eq("waiting"))
        .order(tickets::id)
        .select(TicketRow::as_select())
        .load(c)
        .await?);
    Ok(rows
        .into_iter()
        .filter(|t| queues.contains(&t.queue))
        .collect())
}

/// The tickets on an office's call display: called or being served, latest call first.
pub async fn board_tickets(
    db: &Db,
    tenant: TenantId,
    office_id: i64,
    day: &str,
    limit: i64,
) -> Result<Vec<TicketRow>> {
    on_read!(db, c => Ok(tickets::table
        .filter(tickets::tenant_id.eq(tenant.0))
        .filter(tickets::office_id.eq(office_id))
        .filter(tickets::day.eq(day))
        .filter(tickets::state.eq_any(["called", "serving"]))
        .order((tickets::last_called_at.desc(), tickets::id.desc()))
        .limit(limit)
        .select(TicketRow::as_select())
        .load(c)
        .await?))
}

// ---------------------------------------------------------------------------------------------
// Calling

/// The ticket a desk has called or is serving on `day`, if any (there is at most one: the
/// `tickets_one_per_desk` index).
pub async fn desk_ticket(
    db: &Db,
    tenant: TenantId,
    office: i64,
    day: &str,
    desk: i64,
) -> Result<Option<TicketRow>> {
    on_read!(db, c => Ok(tickets::table
        .filter(tickets::tenant_id.eq(tenant.0))
        .filter(tickets::office_id.eq(office))
        .filter(tickets::day.eq(day))
        .filter(tickets::desk.eq(desk))
        .filter(tickets::state.eq_any(["called", "serving"]))
        .select(TicketRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Claims the first of `candidates` (ticket ids, in calling order) that is still waiting, for
/// `desk`: it becomes called, with its first call counted. Another desk may have claimed a
/// candidate meanwhile; that one is skipped. None when none of them is waiting any more.
/// The first call of a ticket records its waiting time (not again after a transfer).
/// `Unique("desk")` when the desk already has a called or serving ticket that day: the
/// database refuses a second one (`tickets_one_per_desk`), whatever the concurrency.
#[tracing::instrument(name = "store.claim_ticket", skip_all)]
pub async fn claim_ticket(
    db: &Db,
    tenant: TenantId,
    candidates: &[i64],
    desk: i64,
    clerk: Option<i64>,
    now: i64,
) -> Result<Option<TicketRow>> {
    for &id in candidates {
        // One transaction per candidate. Returning Err from it rolls it back before the claim
        // answers: on PostgreSQL the failed statement's transaction still holds the candidate's
        // row lock, and a claim that answered with the lock still held would make the next
        // claim (on another pooled connection) skip that ticket and find nothing to call.
        let claimed: Option<TicketRow> = in_tx!(db, c => {
            let called = (
                tickets::state.eq("called"),
                tickets::call_count.eq(tickets::call_count + 1),
                tickets::first_called_at.eq(coalesce(tickets::first_called_at, now).nullable()),
                tickets::last_called_at.eq(now),
                tickets::desk.eq(desk),
                tickets::clerk_id.eq(clerk),
                tickets::updated_at.eq(now),
            );
            let waiting = tickets::table
                .filter(tickets::tenant_id.eq(tenant.0))
                .filter(tickets::state.eq("waiting"));
            let row = match c.conn() {
                // Desks claim side by side: a candidate another desk is claiming is skipped,
                // not waited for. The candidate is locked in a subquery on the same table, so
                // it reads an alias.
                Conn::Pg(c) => {
                    let cand = diesel::alias!(tickets as cand);
                    let locked = cand
                        .filter(cand.field(tickets::tenant_id).eq(tenant.0))
                        .filter(cand.field(tickets::id).eq(id))
                        .filter(cand.field(tickets::state).eq("waiting"))
                        .select(cand.field(tickets::id))
                        .for_update()
                        .skip_locked();
                    diesel::update(waiting.filter(tickets::id.eq_any(locked)))
                        .set(called)
                        .returning(TicketRow::as_returning())
                        .get_result(c)
                        .await
                }
                // One writer at a time: the statement itself is the lock.
                Conn::Sqlite(c) => {
                    diesel::update(waiting.filter(tickets::id.eq(id)))
                        .set(called)
                        .returning(TicketRow::as_returning())
                        .get_result(c)
                        .await
                }
            };
            // A busy desk (`tickets_one_per_desk`) is an expected refusal.
            let row = row.optional().map_err(|e| unique(e, &["desk"]))?;
            if let Some(t) = &row {
                if t.call_count == 1 && t.transferred_from.is_none() {
                    insert_fact(c.conn(), tenant, &FactPlace::of(t), "wait", Some(now - t.arrived_at)).await?;
                }
            }
            Ok(row)
        })?;
        if claimed.is_some() {
            return Ok(claimed);
        }
    }
    Ok(None)
}

/// Calls a called ticket again (CI-8), if it has been called `calls` times so far: two recalls
/// at once count once. `Conflict` otherwise.
pub async fn recall_ticket(
    db: &Db,
    tenant: TenantId,
    id: i64,
    calls: i64,
    now: i64,
) -> Result<TicketRow> {
    on_db!(db, c => diesel::update(tickets::table)
        .filter(tickets::tenant_id.eq(tenant.0))
        .filter(tickets::id.eq(id))
        .filter(tickets::state.eq("called"))
        .filter(tickets::call_count.eq(calls))
        .set((
            tickets::call_count.eq(tickets::call_count + 1),
            tickets::last_called_at.eq(now),
            tickets::updated_at.eq(now),
        ))
        .returning(TicketRow::as_returning())
        .get_result(c)
        .await
        .optional()?
        .ok_or(StoreError::Conflict))
}

/// The instant a transition stamps besides `updated_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    ServiceStarted,
    Finished,
}

/// Moves a ticket from one of `from` to `to`, stamping `stamp` with now, and writes a fact in
/// the same transaction. `Conflict` when the ticket is in none of `from`.
#[allow(clippy::too_many_arguments)]
async fn transition(
    db: &Db,
    tenant: TenantId,
    id: i64,
    from: &[&'static str],
    to: &'static str,
    stamp: Stamp,
    now: i64,
    fact: impl Fn(&TicketRow) -> Option<(&'static str, Option<i64>)> + Sync,
) -> Result<TicketRow> {
    in_tx!(db, c => {
        let before = tickets::table
            .filter(tickets::tenant_id.eq(tenant.0))
            .filter(tickets::id.eq(id))
            .select(TicketRow::as_select())
            .first(c)
            .await
            .optional()?
            .ok_or(StoreError::NotFound)?;
        let row = diesel::update(tickets::table)
            .filter(tickets::tenant_id.eq(tenant.0))
            .filter(tickets::id.eq(id))
            .filter(tickets::state.eq_any(from))
            .set((
                tickets::state.eq(to),
                tickets::updated_at.eq(now),
                // None leaves the column as it is.
                (stamp == Stamp::ServiceStarted).then_some(tickets::service_started_at.eq(now)),
                (stamp == Stamp::Finished).then_some(tickets::finished_at.eq(now)),
            ))
            .returning(TicketRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        if let Some((kind, seconds)) = fact(&before) {
            insert_fact(c.conn(), tenant, &FactPlace::of(&row), kind, seconds).await?;
        }
        Ok(row)
    })
}

/// The client came to the desk: called → serving.
pub async fn start_service(db: &Db, tenant: TenantId, id: i64, now: i64) -> Result<TicketRow> {
    transition(
        db,
        tenant,
        id,
        &["called"],
        "serving",
        Stamp::ServiceStarted,
        now,
        |_| None,
    )
    .await
}

/// The matter is dealt with: serving → done, with the service time as a fact.
pub async fn finish_service(db: &Db, tenant: TenantId, id: i64, now: i64) -> Result<TicketRow> {
    transition(
        db,
        tenant,
        id,
        &["serving"],
        "done",
        Stamp::Finished,
        now,
        |t| Some(("service", t.service_started_at.map(|s| now - s))),
    )
    .await
}

/// Nobody answered the calls (CI-8): called → void, with a no-show fact. For a booked visit the
/// caller records the booking's no-show with `record_no_show` (OP-14).
pub async fn void_ticket(db: &Db, tenant: TenantId, id: i64, now: i64) -> Result<TicketRow> {
    transition(
        db,
        tenant,
        id,
        &["called"],
        "void",
        Stamp::Finished,
        now,
        |_| Some(("no_show", None)),
    )
    .await
}

/// The clerk refuses service because the client's data do not match the booking (ZG-14): the
/// ticket is refused with the reason; a booked visit becomes `rejected` with that reason and
/// gives its seat back, in the same transaction.
pub async fn refuse_service(
    db: &Db,
    tenant: TenantId,
    id: i64,
    reason: &str,
    now: i64,
) -> Result<TicketRow> {
    let row = in_tx!(db, c => {
        let before = tickets::table
            .filter(tickets::tenant_id.eq(tenant.0))
            .filter(tickets::id.eq(id))
            .select(TicketRow::as_select())
            .first(c)
            .await
            .optional()?
            .ok_or(StoreError::NotFound)?;
        let row = diesel::update(tickets::table)
            .filter(tickets::tenant_id.eq(tenant.0))
            .filter(tickets::id.eq(id))
            .filter(tickets::state.eq_any(["called", "serving"]))
            .set((
                tickets::state.eq("refused"),
                tickets::refusal_reason.eq(reason),
                tickets::finished_at.eq(now),
                tickets::updated_at.eq(now),
            ))
            .returning(TicketRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        if let Some(started) = before.service_started_at {
            insert_fact(c.conn(), tenant, &FactPlace::of(&row), "service", Some(now - started)).await?;
        }
        if let Some(booking) = row.booking_id {
            let rejected: Option<(i64, i64, String)> = diesel::update(bookings::table)
                .filter(bookings::tenant_id.eq(tenant.0))
                .filter(bookings::id.eq(booking))
                .filter(bookings::status.eq("confirmed"))
                .set((
                    bookings::status.eq("rejected"),
                    bookings::cancelled_at.eq(now),
                    bookings::cancel_reason.eq(reason),
                    bookings::updated_at.eq(now),
                ))
                .returning((bookings::service_id, bookings::slot_start, bookings::quota))
                .get_result(c)
                .await
                .optional()?;
            if let Some((service, start, quota)) = rejected {
                seat_back(c.conn(), tenant, service, start, &quota).await?;
            }
        }
        Ok(row)
    })?;
    crate::usage_events::tenant_usage_changed(db, tenant).await;
    Ok(row)
}

/// Sends the client to another queue of the office (called or serving → transferred): a new
/// waiting ticket in `queue` continues the visit with the same number, kind, booking and the
/// original arrival time, so the client does not start again at the back. Returns (old, new).
pub async fn transfer_ticket(
    db: &Db,
    tenant: TenantId,
    id: i64,
    queue: &str,
    now: i64,
) -> Result<(TicketRow, TicketRow)> {
    in_tx!(db, c => {
        let old = diesel::update(tickets::table)
            .filter(tickets::tenant_id.eq(tenant.0))
            .filter(tickets::id.eq(id))
            .filter(tickets::state.eq_any(["called", "serving"]))
            .set((
                tickets::state.eq("transferred"),
                tickets::finished_at.eq(now),
                tickets::updated_at.eq(now),
            ))
            .returning(TicketRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        if let Some(started) = old.service_started_at {
            insert_fact(c.conn(), tenant, &FactPlace::of(&old), "service", Some(now - started)).await?;
        }
        // INSERT … SELECT: the new ticket continues the old one's visit in `queue`.
        let continued = tickets::table
            .filter(tickets::tenant_id.eq(tenant.0))
            .filter(tickets::id.eq(id))
            .select((
                tickets::tenant_id,
                tickets::office_id,
                tickets::day,
                queue.into_sql::<Text>(),
                tickets::number,
                tickets::label,
                tickets::kind,
                tickets::booking_id,
                tickets::service_id,
                tickets::booked_at,
                "waiting".into_sql::<Text>(),
                now.into_sql::<BigInt>(),
                tickets::arrived_at,
                0_i64.into_sql::<BigInt>(),
                tickets::id.nullable(),
                now.into_sql::<BigInt>(),
            ));
        let new = diesel::insert_into(tickets::table)
            .values(continued)
            .into_columns((
                tickets::tenant_id,
                tickets::office_id,
                tickets::day,
                tickets::queue,
                tickets::number,
                tickets::label,
                tickets::kind,
                tickets::booking_id,
                tickets::service_id,
                tickets::booked_at,
                tickets::state,
                tickets::issued_at,
                tickets::arrived_at,
                tickets::call_count,
                tickets::transferred_from,
                tickets::updated_at,
            ))
            .returning(TicketRow::as_returning())
            .get_result(c)
            .await?;
        Ok((old, new))
    })
}

// ---------------------------------------------------------------------------------------------
// Booked visits: check-in, lateness, the admission list

pub async fn visit_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<VisitRow>> {
    on_db!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0))
        .filter(bookings::id.eq(id))
        .select(VisitRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn visit_by_code(db: &Db, tenant: TenantId, code: &str) -> Result<Option<VisitRow>> {
    on_db!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0))
        .filter(bookings::code.eq(code))
        .select(VisitRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// The tenant's bookings starting in `[from, to)` whose phone is one of `phones` (the ways one
/// number may have been stored), earliest first (DG-8).
pub async fn visits_by_phone(
    db: &Db,
    tenant: TenantId,
    phones: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<VisitRow>> {
    let mut out: Vec<VisitRow> = Vec::new();
    for p in phones {
        let rows: Vec<VisitRow> = on_db!(db, c => bookings::table
            .filter(bookings::tenant_id.eq(tenant.0))
            .filter(bookings::slot_start.ge(from))
            .filter(bookings::slot_start.lt(to))
            .filter(bookings::client_phone.eq(p))
            .order((bookings::slot_start, bookings::id))
            .select(VisitRow::as_select())
            .load(c)
            .await?);
        out.extend(rows);
    }
    out.sort_by_key(|v| (v.slot_start, v.id));
    out.dedup_by_key(|v| v.id);
    Ok(out)
}

/// The tenant's bookings starting in `[from, to)` that still hold their seat (confirmed), with
/// their check-in: the day's admission list (OP-9).
pub async fn visits_between(
    db: &Db,
    tenant: TenantId,
    from: i64,
    to: i64,
) -> Result<Vec<VisitRow>> {
    on_read!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0))
        .filter(bookings::slot_start.ge(from))
        .filter(bookings::slot_start.lt(to))
        .filter(bookings::status.eq("confirmed"))
        .order((bookings::slot_start, bookings::code))
        .select(VisitRow::as_select())
        .load(c)
        .await?))
}

/// Confirmed bookings of the tenant not checked in, starting in `[from, to)`, earliest first:
/// the lateness worker's work (CI-17, GD-11, DG-8).
pub async fn unchecked_between(
    db: &Db,
    tenant: TenantId,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<VisitRow>> {
    on_db!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0))
        .filter(bookings::slot_start.ge(from))
        .filter(bookings::slot_start.lt(to))
        .filter(bookings::status.eq("confirmed"))
        .filter(bookings::checked_in_at.is_null())
        .order((bookings::slot_start, bookings::id))
        .limit(limit)
        .select(VisitRow::as_select())
        .load(c)
        .await?))
}

/// Cancels a booking that was not checked in in time (CI-17, GD-11, DG-8), in one transaction:
/// conditionally on it being confirmed and not checked in (`Conflict` otherwise), its seat
/// given back as `release_booking` does, a no-show recorded for its identities in `department`
/// (OP-14) and, when it has a queue, an anonymous no-show fact.
pub async fn cancel_unchecked(
    db: &Db,
    tenant: TenantId,
    id: i64,
    department: Option<&str>,
    fact: Option<&FactPlace>,
    now: i64,
) -> Result<VisitRow> {
    let row = in_tx!(db, c => {
        let row = diesel::update(bookings::table)
            .filter(bookings::tenant_id.eq(tenant.0))
            .filter(bookings::id.eq(id))
            .filter(bookings::status.eq("confirmed"))
            .filter(bookings::checked_in_at.is_null())
            .set((
                bookings::status.eq("cancelled"),
                bookings::cancelled_at.eq(now),
                bookings::cancel_reason.eq(LATE_REASON),
                bookings::updated_at.eq(now),
            ))
            .returning(VisitRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        let quota: String = bookings::table
            .filter(bookings::tenant_id.eq(tenant.0))
            .filter(bookings::id.eq(id))
            .select(bookings::quota)
            .first(c)
            .await?;
        seat_back(c.conn(), tenant, row.service_id, row.slot_start, &quota).await?;
        crate::bookings::insert_no_shows(c.conn(), tenant, id, department, now).await?;
        if let Some(at) = fact {
            insert_fact(c.conn(), tenant, at, "no_show", None).await?;
        }
        Ok(row)
    })?;
    crate::usage_events::usage_changed(db, tenant, row.service_id).await;
    Ok(row)
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// One group of statistics facts.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct FactGroup {
    pub office_id: i64,
    pub day: String,
    pub queue: String,
    /// `wait`, `service` or `no_show`.
    pub kind: String,
    pub booked: i64,
    pub count: i64,
    /// Sum of the seconds (0 for no-shows).
    pub total_seconds: i64,
    pub max_seconds: Option<i64>,
}

/// The facts of the tenant's days `from..=to` (YYYY-MM-DD), grouped per office, day, queue,
/// kind and booked/walk-in.
pub async fn queue_facts(
    db: &Db,
    tenant: TenantId,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<FactGroup>> {
    use diesel::dsl::{count_star, max, sql};
    on_read!(db, c => Ok(queue_facts::table
        .filter(queue_facts::tenant_id.eq(tenant.0))
        .filter(queue_facts::day.ge(from_day))
        .filter(queue_facts::day.le(to_day))
        .group_by((
            queue_facts::office_id,
            queue_facts::day,
            queue_facts::queue,
            queue_facts::kind,
            queue_facts::booked,
        ))
        .order((
            queue_facts::day,
            queue_facts::office_id,
            queue_facts::queue,
            queue_facts::kind,
            queue_facts::booked,
        ))
        .select((
            queue_facts::office_id,
            queue_facts::day,
            queue_facts::queue,
            queue_facts::kind,
            queue_facts::booked,
            count_star(),
            // diesel types SUM of a BIGINT as NUMERIC, and casts NUMERIC to nothing: the
            // sum is cast back to BIGINT in SQL, as before (a fragment without values).
            sql::<BigInt>("CAST(COALESCE(SUM(queue_facts.seconds), 0) AS BIGINT)"),
            max(queue_facts::seconds),
        ))
        .load(c)
        .await?))
}

/// Tickets issued per office, day and queue in `from..=to`: (office, day, queue, last number,
/// walk-ins).
pub async fn counters_between(
    db: &Db,
    tenant: TenantId,
    from_day: &str,
    to_day: &str,
) -> Result<Vec<(i64, String, String, i64, i64)>> {
    on_read!(db, c => Ok(queue_counters::table
        .filter(queue_counters::tenant_id.eq(tenant.0))
        .filter(queue_counters::day.ge(from_day))
        .filter(queue_counters::day.le(to_day))
        .order((
            queue_counters::day,
            queue_counters::office_id,
            queue_counters::queue,
        ))
        .select((
            queue_counters::office_id,
            queue_counters::day,
            queue_counters::queue,
            queue_counters::last_number,
            queue_counters::walk_ins,
        ))
        .load(c)
        .await?))
}
