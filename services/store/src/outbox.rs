//! The transactional outbox: messages are rows written with the change they announce;
//! a worker claims due rows, delivers them and records the outcome.

use sqlx::FromRow;

use crate::{on_db, Db, Result, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// "email" or "sms".
    pub channel: &'static str,
    pub recipient: String,
    /// The rendered message (the notify crate's `Message` as JSON).
    pub payload_json: String,
}

#[derive(Debug, Clone, FromRow)]
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

const OUTBOX_COLUMNS: &str =
    "id, tenant_id, booking_id, channel, recipient, payload_json, status, attempts, next_attempt_at, last_error";

pub(crate) async fn insert_outbox<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    tenant: TenantId,
    booking_id: Option<i64>,
    m: &NewOutbox,
    now: i64,
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
        "INSERT INTO outbox (tenant_id, booking_id, channel, recipient, payload_json, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
    )
    .bind(tenant.0)
    .bind(booking_id)
    .bind(m.channel)
    .bind(m.recipient.as_str())
    .bind(m.payload_json.as_str())
    .bind(now)
    .execute(&mut **tx)
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
    const DUE: &str = "status = 'pending' AND next_attempt_at <= $1 \
                       AND (claimed_until IS NULL OR claimed_until <= $1)";
    match db {
        Db::Pg(pool) => Ok(sqlx::query_as::<_, OutboxRow>(&format!(
            "UPDATE outbox SET claimed_until = $2, claimed_by = $4 WHERE id IN ( \
               SELECT id FROM outbox WHERE {DUE} \
               ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(now)
        .bind(now + lease)
        .bind(limit)
        .bind(worker)
        .fetch_all(pool)
        .await?),
        // One writer at a time: the statement itself is the lock.
        Db::Sqlite { write, .. } => Ok(sqlx::query_as::<_, OutboxRow>(&format!(
            "UPDATE outbox SET claimed_until = $2, claimed_by = $4 WHERE id IN ( \
               SELECT id FROM outbox WHERE {DUE} \
               ORDER BY next_attempt_at, id LIMIT $3) \
             RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(now)
        .bind(now + lease)
        .bind(limit)
        .bind(worker)
        .fetch_all(write)
        .await?),
    }
}

/// Extends the claims `worker` still holds to `until`; returns how many.
pub async fn renew_claims(db: &Db, worker: &str, until: i64) -> Result<u64> {
    on_db!(db, pool => Ok(sqlx::query(
        "UPDATE outbox SET claimed_until = $2 \
         WHERE claimed_by = $1 AND status = 'pending' AND claimed_until IS NOT NULL",
    )
    .bind(worker)
    .bind(until)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// Gives back the claims `worker` still holds (rows it claimed but did not get to, as at
/// shutdown), so another worker takes them at once rather than when the lease lapses.
pub async fn release_claims_of(db: &Db, worker: &str) -> Result<u64> {
    on_db!(db, pool => Ok(sqlx::query(
        "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL \
         WHERE claimed_by = $1 AND status = 'pending' AND claimed_until IS NOT NULL",
    )
    .bind(worker)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// Takes back every claim: for a restart of the only process using the database (SQLite),
/// whose claims nobody else can be delivering. Returns how many there were.
pub async fn release_all_claims(db: &Db) -> Result<u64> {
    on_db!(db, pool => Ok(sqlx::query(
        "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL \
         WHERE status = 'pending' AND claimed_until IS NOT NULL",
    )
    .execute(pool)
    .await?
    .rows_affected()))
}

pub async fn mark_sent(db: &Db, id: i64, now: i64) -> Result<()> {
    on_db!(db, pool => sqlx::query(
        "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL, \
         claimed_until = NULL, claimed_by = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or given up (`failed`) when `None`.
pub async fn mark_failed(db: &Db, id: i64, error: &str, retry_at: Option<i64>) -> Result<()> {
    let status = if retry_at.is_some() {
        "pending"
    } else {
        "failed"
    };
    on_db!(db, pool => sqlx::query(
        "UPDATE outbox SET status = $2, attempts = attempts + 1, last_error = $3, \
         next_attempt_at = COALESCE($4, next_attempt_at), claimed_until = NULL, claimed_by = NULL \
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(retry_at)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// A tenant's messages for one booking, oldest first.
pub async fn outbox_for_booking(
    db: &Db,
    tenant: TenantId,
    booking_id: i64,
) -> Result<Vec<OutboxRow>> {
    on_db!(db, pool => Ok(sqlx::query_as::<_, OutboxRow>(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE tenant_id = $1 AND booking_id = $2 ORDER BY id"
    ))
    .bind(tenant.0)
    .bind(booking_id)
    .fetch_all(pool)
    .await?))
}
