//! Bookings and seats. A booking and its seat are taken, and given back, in one transaction,
//! together with the messages that tell the client (the outbox).

use sqlx::FromRow;

use crate::outbox::{insert_outbox, NewOutbox};
use crate::{on_db, on_read, unique, Db, Result, StoreError, TenantId};

pub const BOOKING_COLUMNS: &str = "id, tenant_id, service_id, code, status, quota, source, slot_start, slot_end, \
    client_name, client_email, client_phone, fields_json, terms_version, consents_json, accepted_at, \
    confirmation_mode, confirm_channel, confirm_secret_hash, confirm_attempts, confirm_expires_at, \
    confirmed_at, manage_token_hash, idempotency_key, request_hash, cancelled_at, cancel_reason, \
    created_at, updated_at, manage_nonce";

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct BookingRow {
    pub id: i64,
    pub tenant_id: i64,
    pub service_id: i64,
    pub code: String,
    pub status: String,
    pub quota: String,
    pub source: String,
    pub slot_start: i64,
    pub slot_end: i64,
    pub client_name: Option<String>,
    pub client_email: Option<String>,
    pub client_phone: Option<String>,
    pub fields_json: String,
    pub terms_version: String,
    pub consents_json: String,
    pub accepted_at: i64,
    pub confirmation_mode: String,
    pub confirm_channel: Option<String>,
    pub confirm_secret_hash: Option<String>,
    pub confirm_attempts: i64,
    pub confirm_expires_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub manage_token_hash: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub cancelled_at: Option<i64>,
    pub cancel_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The random value the management token is re-derived from (see the api's `tokens`);
    /// none for bookings made before it was stored.
    pub manage_nonce: Option<String>,
}

/// What a new booking stores.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub tenant: TenantId,
    pub service_id: i64,
    pub code: String,
    pub status: &'static str,
    pub quota: &'static str,
    pub source: &'static str,
    pub slot_start: i64,
    pub slot_end: i64,
    pub client_name: Option<String>,
    pub client_email: Option<String>,
    pub client_phone: Option<String>,
    pub fields_json: String,
    pub terms_version: String,
    pub consents_json: String,
    pub confirmation_mode: &'static str,
    pub confirm_channel: Option<&'static str>,
    pub confirm_secret_hash: Option<String>,
    pub confirm_expires_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub manage_token_hash: String,
    /// The value the management token is derived from (stored; the token is not).
    pub manage_nonce: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    /// (kind, salted hash of the value) the booking counts against.
    pub identities: Vec<(String, String)>,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub booking: BookingRow,
    /// The idempotency key had been used: this is the first request's booking.
    pub replayed: bool,
}

/// Takes a seat and stores the booking and its messages, or nothing.
///
/// Capacity is one conditional upsert on the slot's usage row: it either raises `used`
/// below `capacity` or changes no row, whatever the concurrency (P-3).
/// Errors: `SlotFull`; `Unique("code")` when the human code is taken (retry with another).
#[tracing::instrument(name = "store.create_booking", skip_all)]
pub async fn create_booking(
    db: &Db,
    b: &NewBooking,
    capacity: i64,
    messages: &[NewOutbox],
) -> Result<Created> {
    if let Some(key) = &b.idempotency_key {
        if let Some(existing) = booking_by_idempotency_key(db, b.tenant, key).await? {
            return Ok(Created {
                booking: existing,
                replayed: true,
            });
        }
    }
    let result: Result<BookingRow> = on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let taken = sqlx::query(
            "INSERT INTO slot_usage (tenant_id, service_id, slot_start, quota, used) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (tenant_id, service_id, quota, slot_start) \
             DO UPDATE SET used = slot_usage.used + 1 WHERE slot_usage.used < $5",
        )
        .bind(b.tenant.0)
        .bind(b.service_id)
        .bind(b.slot_start)
        .bind(b.quota)
        .bind(capacity)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken != 1 || capacity < 1 {
            return Err(StoreError::SlotFull);
        }
        let row = sqlx::query_as::<_, BookingRow>(&format!(
            "INSERT INTO bookings (tenant_id, service_id, code, status, quota, source, slot_start, slot_end, \
             client_name, client_email, client_phone, fields_json, terms_version, consents_json, accepted_at, \
             confirmation_mode, confirm_channel, confirm_secret_hash, confirm_attempts, confirm_expires_at, \
             confirmed_at, manage_token_hash, idempotency_key, request_hash, created_at, updated_at, manage_nonce) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, $19, \
             $20, $21, $22, $23, $15, $15, $24) RETURNING {BOOKING_COLUMNS}"
        ))
        .bind(b.tenant.0)
        .bind(b.service_id)
        .bind(&b.code)
        .bind(b.status)
        .bind(b.quota)
        .bind(b.source)
        .bind(b.slot_start)
        .bind(b.slot_end)
        .bind(&b.client_name)
        .bind(&b.client_email)
        .bind(&b.client_phone)
        .bind(&b.fields_json)
        .bind(&b.terms_version)
        .bind(&b.consents_json)
        .bind(b.now)
        .bind(b.confirmation_mode)
        .bind(b.confirm_channel)
        .bind(&b.confirm_secret_hash)
        .bind(b.confirm_expires_at)
        .bind(b.confirmed_at)
        .bind(&b.manage_token_hash)
        .bind(&b.idempotency_key)
        .bind(&b.request_hash)
        .bind(&b.manage_nonce)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique(e, &["idempotency", "code"]))?;
        for (kind, hash) in &b.identities {
            sqlx::query(
                "INSERT INTO booking_identities (tenant_id, booking_id, kind, value_hash) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(b.tenant.0)
            .bind(row.id)
            .bind(kind)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        for m in messages {
            insert_outbox(&mut tx, b.tenant, Some(row.id), m, b.now).await?;
        }
        tx.commit().await?;
        Ok(row)
    }.await);
    match result {
        Ok(booking) => {
            crate::usage_events::usage_changed(db, b.tenant, b.service_id).await;
            Ok(Created {
                booking,
                replayed: false,
            })
        }
        // A retry raced the first request for the slot's last seat: that request's booking
        // took it, so the retry replays it rather than reporting a full slot.
        Err(StoreError::SlotFull) => match &b.idempotency_key {
            Some(key) => match booking_by_idempotency_key(db, b.tenant, key).await? {
                Some(existing) => Ok(Created {
                    booking: existing,
                    replayed: true,
                }),
                None => Err(StoreError::SlotFull),
            },
            None => Err(StoreError::SlotFull),
        },
        // Two requests with one key raced: the other one stored its booking first.
        Err(StoreError::Unique("idempotency")) => {
            let key = b.idempotency_key.as_deref().unwrap_or_default();
            let existing = booking_by_idempotency_key(db, b.tenant, key)
                .await?
                .ok_or(StoreError::Conflict)?;
            Ok(Created {
                booking: existing,
                replayed: true,
            })
        }
        Err(e) => Err(e),
    }
}

async fn booking_by(
    db: &Db,
    tenant: TenantId,
    column: &str,
    value: &str,
) -> Result<Option<BookingRow>> {
    // `column` is one of this module's constants, never input.
    let sql =
        format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND {column} = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, BookingRow>(&sql)
        .bind(tenant.0)
        .bind(value)
        .fetch_optional(pool)
        .await?))
}

pub async fn booking_by_idempotency_key(
    db: &Db,
    tenant: TenantId,
    key: &str,
) -> Result<Option<BookingRow>> {
    booking_by(db, tenant, "idempotency_key", key).await
}

pub async fn booking_by_manage_hash(
    db: &Db,
    tenant: TenantId,
    hash: &str,
) -> Result<Option<BookingRow>> {
    booking_by(db, tenant, "manage_token_hash", hash).await
}

pub async fn booking_by_confirm_hash(
    db: &Db,
    tenant: TenantId,
    hash: &str,
) -> Result<Option<BookingRow>> {
    booking_by(db, tenant, "confirm_secret_hash", hash).await
}

pub async fn booking_by_code(db: &Db, tenant: TenantId, code: &str) -> Result<Option<BookingRow>> {
    booking_by(db, tenant, "code", code).await
}

pub async fn booking_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<BookingRow>> {
    let sql = format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND id = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, BookingRow>(&sql)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// pending → confirmed, if still pending and within its limit. `Conflict` otherwise.
#[tracing::instrument(name = "store.confirm_booking", skip_all)]
pub async fn confirm_booking(
    db: &Db,
    tenant: TenantId,
    id: i64,
    now: i64,
    messages: &[NewOutbox],
) -> Result<BookingRow> {
    let sql = format!(
        "UPDATE bookings SET status = 'confirmed', confirmed_at = $3, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'pending' AND confirm_expires_at > $3 \
         RETURNING {BOOKING_COLUMNS}"
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, BookingRow>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        for m in messages {
            insert_outbox(&mut tx, tenant, Some(id), m, now).await?;
        }
        tx.commit().await?;
        Ok(row)
    })
}

/// Counts a wrong confirmation code; returns the attempts so far.
pub async fn count_failed_code(db: &Db, tenant: TenantId, id: i64, now: i64) -> Result<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(
        "UPDATE bookings SET confirm_attempts = confirm_attempts + 1, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 RETURNING confirm_attempts",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(now)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)?))
}

/// Ends a booking that holds a seat (cancelled, expired, rejected) and gives the seat back,
/// exactly once: the state change is conditional, the seat follows it in the same transaction.
/// `Conflict` when the booking no longer holds a seat.
#[tracing::instrument(name = "store.release_booking", skip_all)]
pub async fn release_booking(
    db: &Db,
    tenant: TenantId,
    id: i64,
    new_status: &'static str,
    reason: Option<&str>,
    now: i64,
    messages: &[NewOutbox],
) -> Result<BookingRow> {
    release_booking_at(db, tenant, id, new_status, reason, now, None, messages).await
}

/// Like `release_booking`, but with `seat_back_at` the seat is given back only then, by
/// `release_due_seats` (so a cancelled slot cannot be handed straight to a buyer).
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(name = "store.release_booking_at", skip_all)]
pub async fn release_booking_at(
    db: &Db,
    tenant: TenantId,
    id: i64,
    new_status: &'static str,
    reason: Option<&str>,
    now: i64,
    seat_back_at: Option<i64>,
    messages: &[NewOutbox],
) -> Result<BookingRow> {
    let sql = format!(
        "UPDATE bookings SET status = $3, cancelled_at = $4, cancel_reason = $5, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'confirmed') \
         RETURNING {BOOKING_COLUMNS}"
    );
    let row = on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, BookingRow>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(new_status)
            .bind(now)
            .bind(reason)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        match seat_back_at {
            Some(due) if due > now => {
                sqlx::query(
                    "INSERT INTO seat_releases (tenant_id, service_id, slot_start, quota, due_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(tenant.0)
                .bind(row.service_id)
                .bind(row.slot_start)
                .bind(&row.quota)
                .bind(due)
                .execute(&mut *tx)
                .await?;
            }
            _ => seat_back(&mut tx, tenant, row.service_id, row.slot_start, &row.quota).await?,
        }
        for m in messages {
            insert_outbox(&mut tx, tenant, Some(id), m, now).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(row)
    })?;
    if seat_back_at.is_none_or(|due| due <= now) {
        crate::usage_events::usage_changed(db, tenant, row.service_id).await;
    }
    Ok(row)
}

/// Pending bookings whose confirmation time has run out, oldest first (all tenants: the
/// expiry worker ends each one through `release_booking`, scoped by its tenant).
pub async fn due_for_expiry(db: &Db, now: i64, limit: i64) -> Result<Vec<(TenantId, i64)>> {
    let rows: Vec<(i64, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT tenant_id, id FROM bookings WHERE status = 'pending' AND confirm_expires_at <= $1 \
         ORDER BY confirm_expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?);
    Ok(rows.into_iter().map(|(t, id)| (TenantId(t), id)).collect())
}

/// Seats taken per slot start in `[from, to)` for one service and quota. Reads only the
/// usage rows of that range, so its cost does not grow with the bookings stored.
#[tracing::instrument(name = "store.slot_usage", skip_all)]
pub async fn slot_usage(
    db: &Db,
    tenant: TenantId,
    service_id: i64,
    quota: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64)>> {
    // One row, `start:used,start:used,…`, rather than a row per slot: on SQLite each row
    // crosses from the driver's worker thread on its own, which cost about 1.5 µs a row (a
    // 60-day range holds over a thousand); `string_agg` is in PostgreSQL and SQLite ≥ 3.44.
    let packed: Option<String> = on_read!(db, pool => sqlx::query_scalar(
        "SELECT string_agg(slot_start || ':' || used, ',') FROM slot_usage \
         WHERE tenant_id = $1 AND service_id = $2 AND quota = $3 AND slot_start >= $4 AND slot_start < $5",
    )
    .bind(tenant.0)
    .bind(service_id)
    .bind(quota)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?);
    let mut rows: Vec<(i64, i64)> = packed
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.split_once(':')
                .and_then(|(start, used)| Some((start.parse().ok()?, used.parse().ok()?)))
                .ok_or_else(|| {
                    StoreError::Db(sqlx::Error::Protocol(format!("slot usage item {item:?}")))
                })
        })
        .collect::<Result<_>>()?;
    rows.sort_unstable();
    Ok(rows)
}

/// Gives back the seats whose delayed release is due; each exactly once (the row is
/// deleted in the transaction that frees its seat). Returns how many were freed.
pub async fn release_due_seats(db: &Db, now: i64) -> Result<usize> {
    let due: Vec<i64> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM seat_releases WHERE due_at <= $1 ORDER BY due_at LIMIT 500",
    )
    .bind(now)
    .fetch_all(pool)
    .await?);
    let mut freed = 0;
    for id in due {
        let done: Option<(i64, i64)> = on_db!(db, pool => async {
            let mut tx = pool.begin().await?;
            let row: Option<(i64, i64, i64, String)> = sqlx::query_as(
                "DELETE FROM seat_releases WHERE id = $1 RETURNING tenant_id, service_id, slot_start, quota",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((tenant, service, start, quota)) = row else {
                return Ok::<Option<(i64, i64)>, StoreError>(None);
            };
            seat_back(&mut tx, TenantId(tenant), service, start, &quota).await?;
            tx.commit().await?;
            Ok(Some((tenant, service)))
        }.await)?;
        if let Some((tenant, service)) = done {
            crate::usage_events::usage_changed(db, TenantId(tenant), service).await;
            freed += 1;
        }
    }
    Ok(freed)
}

/// Active bookings (holding a seat, not yet started) per identity hash, in one tenant.
pub async fn active_by_identity(
    db: &Db,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for h in hashes {
        let n: i64 = on_read!(db, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM booking_identities i JOIN bookings b ON b.id = i.booking_id AND b.tenant_id = i.tenant_id \
             WHERE i.tenant_id = $1 AND i.value_hash = $2 AND b.status IN ('pending', 'confirmed') AND b.slot_start > $3",
        )
        .bind(tenant.0)
        .bind(h)
        .bind(now)
        .fetch_one(pool)
        .await?);
        out.push((h.clone(), n));
    }
    Ok(out)
}

/// The active (seat-holding, not yet started) bookings of these identities, one row per
/// (booking, identity): (booking id, service id, slot start, identity hash).
pub async fn active_for_identities(
    db: &Db,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(i64, i64, i64, String)>> {
    let mut out = Vec::new();
    for h in hashes {
        let rows: Vec<(i64, i64, i64, String)> = on_read!(db, pool => sqlx::query_as(
            "SELECT b.id, b.service_id, b.slot_start, i.value_hash FROM booking_identities i \
             JOIN bookings b ON b.id = i.booking_id AND b.tenant_id = i.tenant_id \
             WHERE i.tenant_id = $1 AND i.value_hash = $2 AND b.status IN ('pending', 'confirmed') \
             AND b.slot_start > $3 ORDER BY b.slot_start LIMIT 200",
        )
        .bind(tenant.0)
        .bind(h)
        .bind(now)
        .fetch_all(pool)
        .await?);
        out.extend(rows);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Records a no-show for each identity of a booking (OP-14).
pub async fn record_no_show(
    db: &Db,
    tenant: TenantId,
    booking_id: i64,
    department: Option<&str>,
    at: i64,
) -> Result<()> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO no_shows (tenant_id, booking_id, value_hash, department, at) \
         SELECT tenant_id, booking_id, value_hash, $3, $4 FROM booking_identities WHERE tenant_id = $1 AND booking_id = $2",
    )
    .bind(tenant.0)
    .bind(booking_id)
    .bind(department)
    .bind(at)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// No-shows of these identities since `since`: (identity hash, department, at).
pub async fn recent_no_shows(
    db: &Db,
    tenant: TenantId,
    hashes: &[String],
    since: i64,
) -> Result<Vec<(String, Option<String>, i64)>> {
    let mut out = Vec::new();
    for h in hashes {
        let rows: Vec<(String, Option<String>, i64)> = on_read!(db, pool => sqlx::query_as(
            "SELECT value_hash, department, at FROM no_shows WHERE tenant_id = $1 AND value_hash = $2 AND at >= $3 ORDER BY at",
        )
        .bind(tenant.0)
        .bind(h)
        .bind(since)
        .fetch_all(pool)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

/// Moves a booking that holds a seat to another slot of its service: the new seat is taken
/// (or `SlotFull`) and the old one given back, in one transaction. `Conflict` when the
/// booking no longer holds a seat.
#[allow(clippy::too_many_arguments)]
pub async fn reschedule_booking(
    db: &Db,
    tenant: TenantId,
    id: i64,
    new_start: i64,
    new_end: i64,
    capacity: i64,
    now: i64,
    messages: &[NewOutbox],
) -> Result<BookingRow> {
    let sql = format!(
        "UPDATE bookings SET slot_start = $3, slot_end = $4, updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'confirmed') RETURNING {BOOKING_COLUMNS}"
    );
    let row = on_db!(db, pool => async {
        let mut tx = pool.begin().await?;
        let old = sqlx::query_as::<_, BookingRow>(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'confirmed')"
        ))
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Conflict)?;
        if old.slot_start == new_start {
            return Ok(old);
        }
        let taken = sqlx::query(
            "INSERT INTO slot_usage (tenant_id, service_id, slot_start, quota, used) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (tenant_id, service_id, quota, slot_start) \
             DO UPDATE SET used = slot_usage.used + 1 WHERE slot_usage.used < $5",
        )
        .bind(tenant.0)
        .bind(old.service_id)
        .bind(new_start)
        .bind(&old.quota)
        .bind(capacity)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken != 1 || capacity < 1 {
            return Err(StoreError::SlotFull);
        }
        // The row is re-checked by its own condition: a concurrent cancellation wins.
        let row = sqlx::query_as::<_, BookingRow>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(new_start)
            .bind(new_end)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        seat_back(&mut tx, tenant, old.service_id, old.slot_start, &old.quota).await?;
        for m in messages {
            insert_outbox(&mut tx, tenant, Some(id), m, now).await?;
        }
        tx.commit().await?;
        Ok::<_, StoreError>(row)
    }.await)?;
    crate::usage_events::usage_changed(db, tenant, row.service_id).await;
    Ok(row)
}

/// Corrects the client's contact data of a booking that holds a seat.
pub async fn update_booking_client(
    db: &Db,
    tenant: TenantId,
    id: i64,
    name: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    now: i64,
) -> Result<BookingRow> {
    let sql = format!(
        "UPDATE bookings SET client_name = $3, client_email = $4, client_phone = $5, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2 AND status IN ('pending', 'confirmed') RETURNING {BOOKING_COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as::<_, BookingRow>(&sql)
        .bind(tenant.0)
        .bind(id)
        .bind(name)
        .bind(email)
        .bind(phone)
        .bind(now)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::Conflict))
}

/// Gives one seat of a slot back (never below zero), inside the caller's transaction.
pub(crate) async fn seat_back<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    tenant: TenantId,
    service_id: i64,
    slot_start: i64,
    quota: &str,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
{
    sqlx::query(
        "UPDATE slot_usage SET used = used - 1 \
         WHERE tenant_id = $1 AND service_id = $2 AND slot_start = $3 AND quota = $4 AND used > 0",
    )
    .bind(tenant.0)
    .bind(service_id)
    .bind(slot_start)
    .bind(quota)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
