//! The transactional outbox: messages are rows written with the change they announce;
//! a worker claims due rows, delivers them and records the outcome.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::outbox;
use crate::{checkout, on_db, Conn, Db, Result, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// "email" or "sms".
    pub channel: &'static str,
    pub recipient: String,
    /// The rendered message (the notify crate's `Message` as JSON).
    pub payload_json: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub tenant_id: i64,
    pub booking_id: Option<i64>,
    pub channel: String,
    pub recipient: String,
    pub payload_json: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

/// The outbox rows of `messages`, pending and due now.
macro_rules! outbox_rows {
    ($tenant:expr, $booking_id:expr, $messages:expr, $now:expr) => {
        $messages
            .iter()
            .map(|m| {
                (
                    outbox::tenant_id.eq($tenant.0),
                    outbox::booking_id.eq($booking_id),
                    outbox::channel.eq(m.channel),
                    outbox::recipient.eq(m.recipient.as_str()),
                    outbox::payload_json.eq(m.payload_json.as_str()),
                    outbox::status.eq("pending"),
                    outbox::attempts.eq(0),
                    outbox::next_attempt_at.eq($now),
                    outbox::created_at.eq($now),
                )
            })
            .collect::<Vec<_>>()
    };
}

/// Writes `messages` in the transaction of the change they announce (one statement).
pub(crate) async fn insert_outbox(
    conn: Conn<'_>,
    tenant: TenantId,
    booking_id: Option<i64>,
    messages: &[NewOutbox],
    now: i64,
) -> Result<()> {
    match conn {
        Conn::Pg(c) => insert_outbox_pg(c, tenant, booking_id, messages, now).await,
        // diesel writes no multi-row INSERT for SQLite; in-process, a row each costs nothing.
        Conn::Sqlite(c) => {
            for row in &outbox_rows!(tenant, booking_id, messages, now) {
                diesel::insert_into(outbox::table)
                    .values(row)
                    .execute(c)
                    .await?;
            }
            Ok(())
        }
    }
}

/// [`insert_outbox`] on PostgreSQL: one statement for all of them, one round trip. A shared
/// reference is enough, so that a booking's transaction can send it pipelined with others.
pub(crate) async fn insert_outbox_pg(
    mut c: &AsyncPgConnection,
    tenant: TenantId,
    booking_id: Option<i64>,
    messages: &[NewOutbox],
    now: i64,
) -> Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    diesel::insert_into(outbox::table)
        .values(&outbox_rows!(tenant, booking_id, messages, now))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// Claims up to `limit` due messages for `lease` seconds: until then no other worker (or
/// replica) takes them; a worker that dies mid-delivery leaves them to the others after it.
pub async fn claim_due(db: &Db, now: i64, lease: i64, limit: i64) -> Result<Vec<OutboxRow>> {
    claim_due_for(db, "-", now, lease, limit).await
}

/// [`claim_due`] for the worker `worker`, whose claims [`renew_claims`] extends.
#[tracing::instrument(name = "store.claim_due_for", skip_all)]
pub async fn claim_due_for(
    db: &Db,
    worker: &str,
    now: i64,
    lease: i64,
    limit: i64,
) -> Result<Vec<OutboxRow>> {
    // Due, and not held by a live claim.
    // The rows claimed are chosen in a subquery on the same table, so it reads an alias.
    let due = diesel::alias!(outbox as due);
    macro_rules! due_ids {
        () => {
            due.filter(due.field(outbox::status).eq("pending"))
                .filter(due.field(outbox::next_attempt_at).le(now))
                .filter(
                    due.field(outbox::claimed_until)
                        .is_null()
                        .or(due.field(outbox::claimed_until).le(now)),
                )
                .order((due.field(outbox::next_attempt_at), due.field(outbox::id)))
                .limit(limit)
                .select(due.field(outbox::id))
        };
    }
    macro_rules! claim {
        ($ids:expr, $c:expr) => {
            diesel::update(outbox::table.filter(outbox::id.eq_any($ids)))
                .set((
                    outbox::claimed_until.eq(now + lease),
                    outbox::claimed_by.eq(worker),
                ))
                .returning(OutboxRow::as_returning())
                .get_results($c)
                .await
        };
    }
    Ok(match db {
        // Replicas claim side by side: a row another one is claiming is skipped, not waited for.
        Db::Pg(pool) => claim!(
            due_ids!().for_update().skip_locked(),
            &mut *checkout(pool).await?
        )?,
        // One writer at a time: the statement itself is the lock.
        Db::Sqlite { write, .. } => claim!(due_ids!(), &mut *checkout(write).await?)?,
    })
}

/// Extends the claims `worker` still holds to `until`; returns how many.
pub async fn renew_claims(db: &Db, worker: &str, until: i64) -> Result<u64> {
    let held = outbox::claimed_by
        .eq(worker)
        .and(outbox::status.eq("pending"))
        .and(outbox::claimed_until.is_not_null());
    let n = on_db!(db, c => diesel::update(outbox::table.filter(held))
        .set(outbox::claimed_until.eq(until))
        .execute(c)
        .await)?;
    Ok(n as u64)
}

/// Gives back the claims `worker` still holds (rows it claimed but did not get to, as at
/// shutdown), so another worker takes them at once rather than when the lease lapses.
pub async fn release_claims_of(db: &Db, worker: &str) -> Result<u64> {
    let held = outbox::claimed_by
        .eq(worker)
        .and(outbox::status.eq("pending"))
        .and(outbox::claimed_until.is_not_null());
    let n = on_db!(db, c => diesel::update(outbox::table.filter(held))
        .set((outbox::claimed_until.eq(None::<i64>), outbox::claimed_by.eq(None::<String>)))
        .execute(c)
        .await)?;
    Ok(n as u64)
}

/// Takes back every claim: for a restart of the only process using the database (SQLite),
/// whose claims nobody else can be delivering. Returns how many there were.
pub async fn release_all_claims(db: &Db) -> Result<u64> {
    let held = outbox::status
        .eq("pending")
        .and(outbox::claimed_until.is_not_null());
    let n = on_db!(db, c => diesel::update(outbox::table.filter(held))
        .set((outbox::claimed_until.eq(None::<i64>), outbox::claimed_by.eq(None::<String>)))
        .execute(c)
        .await)?;
    Ok(n as u64)
}

pub async fn mark_sent(db: &Db, id: i64, now: i64) -> Result<()> {
    on_db!(db, c => diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("sent"),
            outbox::sent_at.eq(now),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(None::<String>),
            outbox::claimed_until.eq(None::<i64>),
            outbox::claimed_by.eq(None::<String>),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or given up (`failed`) when `None`.
pub async fn mark_failed(db: &Db, id: i64, error: &str, retry_at: Option<i64>) -> Result<()> {
    let status = if retry_at.is_some() {
        "pending"
    } else {
        "failed"
    };
    on_db!(db, c => diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(status),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(error),
            // None leaves the column as it is.
            retry_at.map(|at| outbox::next_attempt_at.eq(at)),
            outbox::claimed_until.eq(None::<i64>),
            outbox::claimed_by.eq(None::<String>),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// A tenant's messages for one booking, oldest first.
pub async fn outbox_for_booking(
    db: &Db,
    tenant: TenantId,
    booking_id: i64,
) -> Result<Vec<OutboxRow>> {
    on_db!(db, c => Ok(outbox::table
        .filter(outbox::tenant_id.eq(tenant.0).and(outbox::booking_id.eq(booking_id)))
        .order(outbox::id)
        .select(OutboxRow::as_select())
        .load(c)
        .await?))
}
