//! The electronic queue: tickets, their numbering, check-in of booked visits, the desks'
//! calls and the anonymous statistics facts (issue 4).
//!
//! Every state change is one conditional UPDATE on the ticket's row, so two desks never get
//! the same ticket and a ticket moves on exactly once: a desk claims a waiting ticket with
//! `… WHERE state = 'waiting'` (on PostgreSQL through `FOR UPDATE SKIP LOCKED`, so desks do not
//! queue behind one another's locks) and tries the next candidate when another desk was faster.
//! Statistics facts are written in the transaction of the change they describe.

use sqlx::FromRow;

use okienko_domain::queue::ticket_label;

use crate::bookings::seat_back;
use crate::{on_db, on_read, unique, Db, Result, StoreError, TenantId};

pub const TICKET_COLUMNS: &str = "id, tenant_id, office_id, day, queue, number, label, kind, booking_id, \
    service_id, booked_at, state, issued_at, arrived_at, call_count, first_called_at, last_called_at, desk, clerk_id, \
    service_started_at, finished_at, transferred_from, refusal_reason, updated_at";

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
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
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
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

const VISIT_COLUMNS: &str =
    "id, service_id, code, status, slot_start, slot_end, checked_in_at, cancel_reason";

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

async fn insert_fact<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    tenant: TenantId,
    at: &FactPlace,
    kind: &'static str,
    seconds: Option<i64>,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
{
    sqlx::query(
        "INSERT INTO queue_facts (tenant_id, office_id, day, queue, kind, booked, seconds) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant.0)
    .bind(at.office_id)
    .bind(at.day.as_str())
    .bind(at.queue.as_str())
    .bind(kind)
    .bind(i64::from(at.booked))
    .bind(seconds.map(|s| s.max(0)))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A no-show for each identity of a booking (OP-14), as `record_no_show` writes it.
async fn insert_no_shows<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    tenant: TenantId,
    booking_id: i64,
    department: Option<&str>,
    at: i64,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
{
    sqlx::query(
        "INSERT INTO no_shows (tenant_id, booking_id, value_hash, department, at) \
         SELECT tenant_id, booking_id, value_hash, $3, $4 FROM booking_identities WHERE tenant_id = $1 AND booking_id = $2",
    )
    .bind(tenant.0)
    .bind(booking_id)
    .bind(department)
    .bind(at)
    .execute(&mut **tx)
    .await?;
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
    on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        if let Some(id) = booking_id {
            let n = sqlx::query(
                "UPDATE bookings SET checked_in_at = $3, updated_at = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND status = 'confirmed' AND checked_in_at IS NULL",
            )
            .bind(t.tenant.0)
            .bind(id)
            .bind(t.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict);
            }
        }
        let number: Option<i64> = sqlx::query_scalar(
            "INSERT INTO queue_counters (tenant_id, office_id, day, queue, last_number, walk_ins) \
             VALUES ($1, $2, $3, $4, 1, $5) \
             ON CONFLICT (tenant_id, office_id, day, queue) DO UPDATE \
             SET last_number = queue_counters.last_number + 1, walk_ins = queue_counters.walk_ins + $5 \
             WHERE queue_counters.walk_ins + $5 <= $6 \
             RETURNING last_number",
        )
        .bind(t.tenant.0)
        .bind(t.office_id)
        .bind(&t.day)
        .bind(&t.queue)
        .bind(walk_in)
        .bind(cap)
        .fetch_optional(&mut *tx)
        .await?;
        let number = number.ok_or(StoreError::SlotFull)?;
        let row = sqlx::query_as::<_, TicketRow>(&format!(
            "INSERT INTO tickets (tenant_id, office_id, day, queue, number, label, kind, booking_id, service_id, \
             booked_at, state, issued_at, arrived_at, call_count, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'waiting', $11, $11, 0, $11) RETURNING {TICKET_COLUMNS}"
        ))
        .bind(t.tenant.0)
        .bind(t.office_id)
        .bind(&t.day)
        .bind(&t.queue)
        .bind(number)
        .bind(ticket_label(&t.queue, number))
        .bind(kind)
        .bind(booking_id)
        .bind(service_id)
        .bind(booked_at)
        .bind(t.now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique(e, &["booking"]))?;
        tx.commit().await?;
        Ok(row)
    }.await)
}

/// Walk-in tickets issued and the last number per queue of an office on a day:
/// (queue, last number, walk-ins).
pub async fn queue_counters(
    db: &Db,
    tenant: TenantId,
    office_id: i64,
    day: &str,
) -> Result<Vec<(String, i64, i64)>> {
    on_read!(db, pool => Ok(sqlx::query_as(
        "SELECT queue, last_number, walk_ins FROM queue_counters \
         WHERE tenant_id = $1 AND office_id = $2 AND day = $3 ORDER BY queue",
    )
    .bind(tenant.0)
    .bind(office_id)
    .bind(day)
    .fetch_all(pool)
    .await?))
}

// ---------------------------------------------------------------------------------------------
// Reading

pub async fn ticket_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE tenant_id = $1 AND id = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, TicketRow>(&sql)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// Tickets of an office on a day in these states (all states when empty), in issue order.
pub async fn tickets_of_day(
    db: &Db,
    tenant: TenantId,
    office_id: i64,
    day: &str,
    states: &[&str],
) -> Result<Vec<TicketRow>> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE tenant_id = $1 AND office_id = $2 AND day = $3 ORDER BY id"
    );
    let rows: Vec<TicketRow> = on_read!(db, pool => sqlx::query_as::<_, TicketRow>(&sql)
        .bind(tenant.0)
        .bind(office_id)
        .bind(day)
        .fetch_all(pool)
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
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets \
         WHERE tenant_id = $1 AND office_id = $2 AND day = $3 AND state = 'waiting' ORDER BY id"
    );
    let rows: Vec<TicketRow> = on_db!(db, pool => sqlx::query_as::<_, TicketRow>(&sql)
        .bind(tenant.0)
        .bind(office_id)
        .bind(day)
        .fetch_all(pool)
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
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets \
         WHERE tenant_id = $1 AND office_id = $2 AND day = $3 AND state IN ('called', 'serving') \
         ORDER BY last_called_at DESC, id DESC LIMIT $4"
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, TicketRow>(&sql)
        .bind(tenant.0)
        .bind(office_id)
        .bind(day)
        .bind(limit)
        .fetch_all(pool)
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
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE tenant_id = $1 AND office_id = $2 AND day = $3 \
         AND desk = $4 AND state IN ('called', 'serving')"
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, TicketRow>(&sql)
        .bind(tenant.0)
        .bind(office)
        .bind(day)
        .bind(desk)
        .fetch_optional(pool)
        .await?))
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
    const SET: &str = "state = 'called', call_count = call_count + 1, \
        first_called_at = COALESCE(first_called_at, $3), last_called_at = $3, desk = $4, clerk_id = $5, updated_at = $3";
    let sql = match db {
        Db::Pg(_) => format!(
            "UPDATE tickets SET {SET} WHERE tenant_id = $1 AND state = 'waiting' AND id = \
             (SELECT id FROM tickets WHERE tenant_id = $1 AND id = $2 AND state = 'waiting' FOR UPDATE SKIP LOCKED) \
             RETURNING {TICKET_COLUMNS}"
        ),
        Db::Sqlite { .. } => format!(
            "UPDATE tickets SET {SET} WHERE tenant_id = $1 AND id = $2 AND state = 'waiting' \
             RETURNING {TICKET_COLUMNS}"
        ),
    };
    for &id in candidates {
        let claimed: Option<TicketRow> = on_db!(db, pool => async {
            let mut tx = pool.begin().await?;
            let row = sqlx::query_as::<_, TicketRow>(&sql)
                .bind(tenant.0)
                .bind(id)
                .bind(now)
                .bind(desk)
                .bind(clerk)
                .fetch_optional(&mut *tx)
                .await;
            let row = match row {
                Ok(row) => row,
                Err(e) => {
                    // A busy desk is an expected refusal, and on PostgreSQL the failed
                    // statement's transaction still holds the candidate's row lock. A dropped
                    // sqlx transaction only queues its ROLLBACK for the connection's next use,
                    // so without this the next claim (on another pooled connection) would skip
                    // the still-locked ticket and find nothing to call.
                    tx.rollback().await?;
                    return Err(unique(e, &["desk"]));
                }
            };
            if let Some(t) = &row {
                if t.call_count == 1 && t.transferred_from.is_none() {
                    insert_fact(&mut tx, tenant, &FactPlace::of(t), "wait", Some(now - t.arrived_at)).await?;
                }
            }
            tx.commit().await?;
            Ok::<_, StoreError>(row)
        }.await)?;
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
    let sql = format!(
        "UPDATE tickets SET call_count = call_count + 1, last_called_at = $3, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND state = 'called' AND call_count = $4 RETURNING {TICKET_COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as::<_, TicketRow>(&sql)
        .bind(tenant.0)
        .bind(id)
        .bind(now)
        .bind(calls)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::Conflict))
}

/// Moves a ticket from one of `from` to `to`, setting `extra` (SQL assignments that may use
/// `$3` = now), and writes a fact in the same transaction. `Conflict` when the ticket is in
/// none of `from`.
#[allow(clippy::too_many_arguments)]
async fn transition(
    db: &Db,
    tenant: TenantId,
    id: i64,
    from: &[&str],
    to: &str,
    extra: &str,
    now: i64,
    fact: impl Fn(&TicketRow) -> Option<(&'static str, Option<i64>)>,
) -> Result<TicketRow> {
    // `from`, `to` and `extra` are this module's constants, never input.
    let states: Vec<String> = from.iter().map(|s| format!("'{s}'")).collect();
    let sql = format!(
        "UPDATE tickets SET state = '{to}', updated_at = $3{extra} \
         WHERE tenant_id = $1 AND id = $2 AND state IN ({}) RETURNING {TICKET_COLUMNS}",
        states.join(", ")
    );
    let before_sql =
        format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE tenant_id = $1 AND id = $2");
    on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let before = sqlx::query_as::<_, TicketRow>(&before_sql)
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let row = sqlx::query_as::<_, TicketRow>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        if let Some((kind, seconds)) = fact(&before) {
            insert_fact(&mut tx, tenant, &FactPlace::of(&row), kind, seconds).await?;
        }
        tx.commit().await?;
        Ok(row)
    }.await)
}

/// The client came to the desk: called → serving.
pub async fn start_service(db: &Db, tenant: TenantId, id: i64, now: i64) -> Result<TicketRow> {
    transition(
        db,
        tenant,
        id,
        &["called"],
        "serving",
        ", service_started_at = $3",
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
        ", finished_at = $3",
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
        ", finished_at = $3",
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
    let sql = format!(
        "UPDATE tickets SET state = 'refused', refusal_reason = $4, finished_at = $3, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND state IN ('called', 'serving') RETURNING {TICKET_COLUMNS}"
    );
    let before_sql =
        format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE tenant_id = $1 AND id = $2");
    let row = on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let before = sqlx::query_as::<_, TicketRow>(&before_sql)
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let row = sqlx::query_as::<_, TicketRow>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .bind(reason)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        if let Some(started) = before.service_started_at {
            insert_fact(&mut tx, tenant, &FactPlace::of(&row), "service", Some(now - started)).await?;
        }
        if let Some(booking) = row.booking_id {
            let rejected: Option<(i64, i64, String)> = sqlx::query_as(
                "UPDATE bookings SET status = 'rejected', cancelled_at = $3, cancel_reason = $4, updated_at = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND status = 'confirmed' RETURNING service_id, slot_start, quota",
            )
            .bind(tenant.0)
            .bind(booking)
            .bind(now)
            .bind(reason)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((service, start, quota)) = rejected {
                seat_back(&mut tx, tenant, service, start, &quota).await?;
            }
        }
        tx.commit().await?;
        Ok::<_, StoreError>(row)
    }.await)?;
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
    let sql = format!(
        "UPDATE tickets SET state = 'transferred', finished_at = $3, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND state IN ('called', 'serving') RETURNING {TICKET_COLUMNS}"
    );
    let insert = format!(
        "INSERT INTO tickets (tenant_id, office_id, day, queue, number, label, kind, booking_id, service_id, \
         booked_at, state, issued_at, arrived_at, call_count, transferred_from, updated_at) \
         SELECT tenant_id, office_id, day, $3, number, label, kind, booking_id, service_id, booked_at, \
         'waiting', $4, arrived_at, 0, id, $4 FROM tickets WHERE tenant_id = $1 AND id = $2 \
         RETURNING {TICKET_COLUMNS}"
    );
    on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let old = sqlx::query_as::<_, TicketRow>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        if let Some(started) = old.service_started_at {
            insert_fact(&mut tx, tenant, &FactPlace::of(&old), "service", Some(now - started)).await?;
        }
        let new = sqlx::query_as::<_, TicketRow>(&insert)
            .bind(tenant.0)
            .bind(id)
            .bind(queue)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((old, new))
    }.await)
}

// ---------------------------------------------------------------------------------------------
// Booked visits: check-in, lateness, the admission list

pub async fn visit_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM bookings WHERE tenant_id = $1 AND id = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, VisitRow>(&sql)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

pub async fn visit_by_code(db: &Db, tenant: TenantId, code: &str) -> Result<Option<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM bookings WHERE tenant_id = $1 AND code = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, VisitRow>(&sql)
        .bind(tenant.0)
        .bind(code)
        .fetch_optional(pool)
        .await?))
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
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM bookings WHERE tenant_id = $1 AND slot_start >= $2 AND slot_start < $3 \
         AND client_phone = $4 ORDER BY slot_start, id"
    );
    let mut out: Vec<VisitRow> = Vec::new();
    for p in phones {
        let rows: Vec<VisitRow> = on_db!(db, pool => sqlx::query_as::<_, VisitRow>(&sql)
            .bind(tenant.0)
            .bind(from)
            .bind(to)
            .bind(p)
            .fetch_all(pool)
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
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM bookings WHERE tenant_id = $1 AND slot_start >= $2 AND slot_start < $3 \
         AND status = 'confirmed' ORDER BY slot_start, code"
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, VisitRow>(&sql)
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
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
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM bookings WHERE tenant_id = $1 AND slot_start >= $2 AND slot_start < $3 \
         AND status = 'confirmed' AND checked_in_at IS NULL ORDER BY slot_start, id LIMIT $4"
    );
    on_db!(db, pool => Ok(sqlx::query_as::<_, VisitRow>(&sql)
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(pool)
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
    let sql = format!(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = $3, cancel_reason = $4, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'confirmed' AND checked_in_at IS NULL \
         RETURNING {VISIT_COLUMNS}"
    );
    let row = on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, VisitRow>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .bind(LATE_REASON)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        let quota: String = sqlx::query_scalar("SELECT quota FROM bookings WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        seat_back(&mut tx, tenant, row.service_id, row.slot_start, &quota).await?;
        insert_no_shows(&mut tx, tenant, id, department, now).await?;
        if let Some(at) = fact {
            insert_fact(&mut tx, tenant, at, "no_show", None).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(row)
    }.await)?;
    crate::usage_events::usage_changed(db, tenant, row.service_id).await;
    Ok(row)
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// One group of statistics facts.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
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
    on_read!(db, pool => Ok(sqlx::query_as::<_, FactGroup>(
        "SELECT office_id, day, queue, kind, booked, COUNT(*) AS count, \
         CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS total_seconds, MAX(seconds) AS max_seconds \
         FROM queue_facts WHERE tenant_id = $1 AND day >= $2 AND day <= $3 \
         GROUP BY office_id, day, queue, kind, booked ORDER BY day, office_id, queue, kind, booked",
    )
    .bind(tenant.0)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(pool)
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
    on_read!(db, pool => Ok(sqlx::query_as(
        "SELECT office_id, day, queue, last_number, walk_ins FROM queue_counters \
         WHERE tenant_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, office_id, queue",
    )
    .bind(tenant.0)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(pool)
    .await?))
}
