//! Bookings and seats. A booking and its seat are taken, and given back, in one transaction,
//! together with the messages that tell the client (the outbox).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::events::{insert_event, insert_event_pg, NewEvent};
use crate::outbox::{insert_outbox, insert_outbox_pg, NewOutbox};
use crate::schema::{booking_identities, bookings, no_shows, seat_releases, slot_usage};
use crate::seats::seat_back;
use crate::AnyConn as _;
use crate::{
    checkout, in_tx, on_conn, on_db, on_read, unique, Conn, Db, Result, SqliteConnection,
    StoreError, TenantId,
};

/// The columns of [`BookingRow`], for the modules that still name them in SQL text
/// (staff_bookings, personal_data); in the DSL, `BookingRow::as_select()`.

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = bookings)]
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

/// The row [`create_booking`] inserts (`None` is stored as NULL).
#[derive(Insertable)]
#[diesel(table_name = bookings, treat_none_as_null = true)]
struct BookingInsert<'a> {
    tenant_id: i64,
    service_id: i64,
    code: &'a str,
    status: &'a str,
    quota: &'a str,
    source: &'a str,
    slot_start: i64,
    slot_end: i64,
    client_name: Option<&'a str>,
    client_email: Option<&'a str>,
    client_phone: Option<&'a str>,
    fields_json: &'a str,
    terms_version: &'a str,
    consents_json: &'a str,
    accepted_at: i64,
    confirmation_mode: &'a str,
    confirm_channel: Option<&'a str>,
    confirm_secret_hash: Option<&'a str>,
    confirm_attempts: i64,
    confirm_expires_at: Option<i64>,
    confirmed_at: Option<i64>,
    manage_token_hash: &'a str,
    idempotency_key: Option<&'a str>,
    request_hash: Option<&'a str>,
    created_at: i64,
    updated_at: i64,
    manage_nonce: Option<&'a str>,
}

impl<'a> BookingInsert<'a> {
    fn of(b: &'a NewBooking) -> Self {
        BookingInsert {
            tenant_id: b.tenant.0,
            service_id: b.service_id,
            code: &b.code,
            status: b.status,
            quota: b.quota,
            source: b.source,
            slot_start: b.slot_start,
            slot_end: b.slot_end,
            client_name: b.client_name.as_deref(),
            client_email: b.client_email.as_deref(),
            client_phone: b.client_phone.as_deref(),
            fields_json: &b.fields_json,
            terms_version: &b.terms_version,
            consents_json: &b.consents_json,
            accepted_at: b.now,
            confirmation_mode: b.confirmation_mode,
            confirm_channel: b.confirm_channel,
            confirm_secret_hash: b.confirm_secret_hash.as_deref(),
            confirm_attempts: 0,
            confirm_expires_at: b.confirm_expires_at,
            confirmed_at: b.confirmed_at,
            manage_token_hash: &b.manage_token_hash,
            idempotency_key: b.idempotency_key.as_deref(),
            request_hash: b.request_hash.as_deref(),
            created_at: b.now,
            updated_at: b.now,
            manage_nonce: b.manage_nonce.as_deref(),
        }
    }
}

/// The seat's conditional upsert: raises `used` below `capacity` or changes no row, whatever
/// the concurrency (P-3).
macro_rules! seat_upsert {
    ($tenant:expr, $service_id:expr, $slot_start:expr, $quota:expr, $capacity:expr) => {{
        let upsert = diesel::insert_into(slot_usage::table)
            .values((
                slot_usage::tenant_id.eq($tenant.0),
                slot_usage::service_id.eq($service_id),
                slot_usage::slot_start.eq($slot_start),
                slot_usage::quota.eq($quota),
                slot_usage::used.eq(1),
            ))
            .on_conflict((
                slot_usage::tenant_id,
                slot_usage::service_id,
                slot_usage::quota,
                slot_usage::slot_start,
            ))
            .do_update()
            .set(slot_usage::used.eq(slot_usage::used + 1));
        // `DO UPDATE ... WHERE`: the upsert's own filter (not `QueryDsl::filter`).
        diesel::query_dsl::methods::FilterDsl::filter(upsert, slot_usage::used.lt($capacity))
    }};
}

/// Takes one seat of a slot inside the caller's transaction: one conditional upsert that
/// raises `used` below `capacity` or changes no row, whatever the concurrency (P-3).
/// Returns the rows it changed (1 when the seat was taken).
async fn take_seat(
    conn: Conn<'_>,
    tenant: TenantId,
    service_id: i64,
    slot_start: i64,
    quota: &str,
    capacity: i64,
) -> Result<usize> {
    let upsert = seat_upsert!(tenant, service_id, slot_start, quota, capacity);
    Ok(on_conn!(conn, c => upsert.execute(c).await)?)
}

/// The rows of the identities a booking counts against.
macro_rules! identity_rows {
    ($tenant:expr, $booking_id:expr, $identities:expr) => {
        $identities
            .iter()
            .map(|(kind, hash)| {
                (
                    booking_identities::tenant_id.eq($tenant.0),
                    booking_identities::booking_id.eq($booking_id),
                    booking_identities::kind.eq(kind.as_str()),
                    booking_identities::value_hash.eq(hash.as_str()),
                )
            })
            .collect::<Vec<_>>()
    };
}

/// Stores the identities a booking counts against, inside its transaction.
async fn insert_identities(
    conn: Conn<'_>,
    tenant: TenantId,
    booking_id: i64,
    identities: &[(String, String)],
) -> Result<()> {
    match conn {
        Conn::Pg(c) => insert_identities_pg(c, tenant, booking_id, identities).await,
        // diesel writes no multi-row INSERT for SQLite; in-process, a row each costs nothing.
        Conn::Sqlite(c) => {
            for row in &identity_rows!(tenant, booking_id, identities) {
                diesel::insert_into(booking_identities::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?;
            }
            Ok(())
        }
    }
}

/// [`insert_identities`] on PostgreSQL: one statement for all of them, on a shared reference
/// (pipelined with the booking's other last statements).
async fn insert_identities_pg(
    mut c: &AsyncPgConnection,
    tenant: TenantId,
    booking_id: i64,
    identities: &[(String, String)],
) -> Result<()> {
    if identities.is_empty() {
        return Ok(());
    }
    diesel::insert_into(booking_identities::table)
        .values(&identity_rows!(tenant, booking_id, identities))
        .on_conflict_do_nothing()
        .execute(&mut c)
        .await?;
    Ok(())
}

/// The booking of one tenant stored with an idempotency key.
macro_rules! with_key {
    ($tenant:expr, $key:expr) => {
        bookings::table
            .filter(bookings::tenant_id.eq($tenant.0))
            .filter(bookings::idempotency_key.eq($key))
    };
}

/// The booking stored with an idempotency key, on a connection the caller holds.
async fn by_idempotency_key(
    conn: Conn<'_>,
    tenant: TenantId,
    key: &str,
) -> Result<Option<BookingRow>> {
    let q = with_key!(tenant, key);
    // `as_select()` names the backend, so it is built in each arm.
    Ok(on_conn!(conn, c => q.select(BookingRow::as_select()).get_result(c).await.optional())?)
}

/// Takes a seat and stores the booking and its messages, or nothing.
///
/// Capacity is one conditional upsert on the slot's usage row: it either raises `used`
/// below `capacity` or changes no row, whatever the concurrency (P-3).
/// Errors: `SlotFull`; `Unique("code")` when the human code is taken (retry with another).
///
/// One transaction on one connection: the idempotency key's lookup, the seat, the booking,
/// its identities, its outbox rows and, on PostgreSQL, the notification of the usage change
/// to the other servers (delivered at the commit, not at all on a rollback).
pub async fn create_booking(
    db: &Db,
    b: &NewBooking,
    capacity: i64,
    messages: &[NewOutbox],
) -> Result<Created> {
    create_booking_with_events(db, b, capacity, messages, &[]).await
}

/// [`create_booking`] with the booking's first history events (its `created` event), written
/// in the same transaction after the booking row: a new booking has them, or nothing was
/// stored. A replayed request (its idempotency key's booking) writes none.
#[tracing::instrument(name = "store.create_booking", skip_all)]
pub async fn create_booking_with_events(
    db: &Db,
    b: &NewBooking,
    capacity: i64,
    messages: &[NewOutbox],
    events: &[NewEvent],
) -> Result<Created> {
    let insert = BookingInsert::of(b);
    // On PostgreSQL, the booking its idempotency key already has (the transaction is rolled
    // back: the seat and the row it took with the lookup are given back).
    let mut first: Option<BookingRow> = None;
    let result: Result<Created> = in_tx!(db, c => {
        match c.conn() {
            Conn::Pg(pg) => store_pg(pg, b, &insert, capacity, messages, events, &mut first).await,
            Conn::Sqlite(lite) => store_sqlite(lite, b, &insert, capacity, messages, events).await,
        }
    });
    let result = match (result, first) {
        (Err(StoreError::Conflict), Some(existing)) => Ok(Created {
            booking: existing,
            replayed: true,
        }),
        (result, _) => result,
    };
    match result {
        Ok(created) => {
            if !created.replayed {
                // The other servers learn of it from the transaction's own notification.
                crate::usage_events::invalidate_service(b.tenant.0, b.service_id);
            }
            Ok(created)
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

/// [`create_booking_with_events`]'s transaction on PostgreSQL, in two round trips between
/// its BEGIN and its COMMIT: first the idempotency key's lookup, the seat's upsert and the
/// booking's insert, pipelined; then, with the booking's id, its identities, its outbox rows,
/// its events and the notification of the usage change, pipelined. Statements run in the
/// order sent and their answers are judged in that order, as if each had waited for the one
/// before: a statement that would not have run has its effect rolled back with the
/// transaction (a seat taken for a replay, a booking row for a full slot).
async fn store_pg(
    c: &mut AsyncPgConnection,
    b: &NewBooking,
    insert: &BookingInsert<'_>,
    capacity: i64,
    messages: &[NewOutbox],
    events: &[NewEvent],
    first: &mut Option<BookingRow>,
) -> Result<Created> {
    let c: &AsyncPgConnection = c;
    let lookup = async {
        let mut c = c;
        match &b.idempotency_key {
            Some(key) => with_key!(b.tenant, key)
                .select(BookingRow::as_select())
                .get_result(&mut c)
                .await
                .optional(),
            None => Ok(None),
        }
    };
    let seat = async {
        let mut c = c;
        seat_upsert!(b.tenant, b.service_id, b.slot_start, b.quota, capacity)
            .execute(&mut c)
            .await
    };
    let row = async {
        let mut c = c;
        diesel::insert_into(bookings::table)
            .values(insert)
            .returning(BookingRow::as_returning())
            .get_result(&mut c)
            .await
    };
    let (existing, taken, row) = futures_util::future::join3(lookup, seat, row).await;
    if let Some(existing) = existing? {
        *first = Some(existing);
        return Err(StoreError::Conflict);
    }
    if taken? != 1 || capacity < 1 {
        return Err(StoreError::SlotFull);
    }
    let row = row.map_err(|e| unique(e, &["idempotency", "code"]))?;
    let (channel, payload) = crate::usage_events::usage_payload(b.tenant, b.service_id);
    let (identities, outbox, written, notified) = futures_util::future::join4(
        insert_identities_pg(c, b.tenant, row.id, &b.identities),
        insert_outbox_pg(c, b.tenant, Some(row.id), messages, b.now),
        futures_util::future::join_all(
            events
                .iter()
                .map(|e| insert_event_pg(c, b.tenant, row.id, e, b.now)),
        ),
        crate::usage_events::notify_on(c, channel, &payload),
    )
    .await;
    identities?;
    outbox?;
    for event in written {
        event?;
    }
    notified?;
    Ok(Created {
        booking: row,
        replayed: false,
    })
}

/// [`create_booking_with_events`]'s transaction on SQLite, a statement after another.
async fn store_sqlite(
    c: &mut SqliteConnection,
    b: &NewBooking,
    insert: &BookingInsert<'_>,
    capacity: i64,
    messages: &[NewOutbox],
    events: &[NewEvent],
) -> Result<Created> {
    if let Some(key) = &b.idempotency_key {
        if let Some(existing) = by_idempotency_key(c.conn(), b.tenant, key).await? {
            return Ok(Created {
                booking: existing,
                replayed: true,
            });
        }
    }
    let taken = take_seat(
        c.conn(),
        b.tenant,
        b.service_id,
        b.slot_start,
        b.quota,
        capacity,
    )
    .await?;
    if taken != 1 || capacity < 1 {
        return Err(StoreError::SlotFull);
    }
    let row = diesel::insert_into(bookings::table)
        .values(insert)
        .returning(BookingRow::as_returning())
        .get_result(c)
        .await
        .map_err(|e| unique(e, &["idempotency", "code"]))?;
    insert_identities(c.conn(), b.tenant, row.id, &b.identities).await?;
    insert_outbox(c.conn(), b.tenant, Some(row.id), messages, b.now).await?;
    for e in events {
        insert_event(c.conn(), b.tenant, row.id, e, b.now).await?;
    }
    Ok(Created {
        booking: row,
        replayed: false,
    })
}

/// The booking of one tenant whose `$column` equals `$value`, on the writer.
macro_rules! booking_where {
    ($db:expr, $tenant:expr, $column:expr, $value:expr) => {{
        let q = bookings::table
            .filter(bookings::tenant_id.eq($tenant.0))
            .filter($column.eq($value));
        Ok(on_db!($db, c => q.select(BookingRow::as_select()).get_result(c).await.optional())?)
    }};
}

pub async fn booking_by_idempotency_key(
    db: &Db,
    tenant: TenantId,
    key: &str,
) -> Result<Option<BookingRow>> {
    on_db!(db, c => by_idempotency_key(c.conn(), tenant, key).await)
}

pub async fn booking_by_manage_hash(
    db: &Db,
    tenant: TenantId,
    hash: &str,
) -> Result<Option<BookingRow>> {
    booking_where!(db, tenant, bookings::manage_token_hash, hash)
}

pub async fn booking_by_confirm_hash(
    db: &Db,
    tenant: TenantId,
    hash: &str,
) -> Result<Option<BookingRow>> {
    booking_where!(db, tenant, bookings::confirm_secret_hash, hash)
}

pub async fn booking_by_code(db: &Db, tenant: TenantId, code: &str) -> Result<Option<BookingRow>> {
    booking_where!(db, tenant, bookings::code, code)
}

pub async fn booking_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<BookingRow>> {
    booking_where!(db, tenant, bookings::id, id)
}

/// The bookings of one tenant that hold a seat (pending or confirmed), by id.
macro_rules! holding_seat {
    ($tenant:expr, $id:expr) => {
        bookings::table
            .filter(bookings::tenant_id.eq($tenant.0))
            .filter(bookings::id.eq($id))
            .filter(bookings::status.eq_any(["pending", "confirmed"]))
    };
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
    in_tx!(db, c => {
        let target = bookings::table
            .filter(bookings::tenant_id.eq(tenant.0))
            .filter(bookings::id.eq(id))
            .filter(bookings::status.eq("pending"))
            .filter(bookings::confirm_expires_at.gt(now));
        let row = diesel::update(target)
            .set((
                bookings::status.eq("confirmed"),
                bookings::confirmed_at.eq(now),
                bookings::updated_at.eq(now),
            ))
            .returning(BookingRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        insert_outbox(c.conn(), tenant, Some(id), messages, now).await?;
        Ok(row)
    })
}

/// Counts a wrong confirmation code; returns the attempts so far.
pub async fn count_failed_code(db: &Db, tenant: TenantId, id: i64, now: i64) -> Result<i64> {
    let target = bookings::table
        .filter(bookings::tenant_id.eq(tenant.0))
        .filter(bookings::id.eq(id));
    let update = diesel::update(target)
        .set((
            bookings::confirm_attempts.eq(bookings::confirm_attempts + 1),
            bookings::updated_at.eq(now),
        ))
        .returning(bookings::confirm_attempts);
    let attempts: Option<i64> = on_db!(db, c => update.get_result(c).await.optional())?;
    attempts.ok_or(StoreError::NotFound)
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
    let row = in_tx!(db, c => {
        let row = diesel::update(holding_seat!(tenant, id))
            .set((
                bookings::status.eq(new_status),
                bookings::cancelled_at.eq(now),
                bookings::cancel_reason.eq(reason),
                bookings::updated_at.eq(now),
            ))
            .returning(BookingRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        match seat_back_at {
            Some(due) if due > now => {
                diesel::insert_into(seat_releases::table)
                    .values((
                        seat_releases::tenant_id.eq(tenant.0),
                        seat_releases::service_id.eq(row.service_id),
                        seat_releases::slot_start.eq(row.slot_start),
                        seat_releases::quota.eq(&row.quota),
                        seat_releases::due_at.eq(due),
                    ))
                    .execute(c)
                    .await?;
            }
            _ => seat_back(c.conn(), tenant, row.service_id, row.slot_start, &row.quota).await?,
        }
        insert_outbox(c.conn(), tenant, Some(id), messages, now).await?;
        Ok(row)
    })?;
    if seat_back_at.is_none_or(|due| due <= now) {
        crate::usage_events::usage_changed(db, tenant, row.service_id).await;
    }
    Ok(row)
}

/// Pending bookings whose confirmation time has run out, oldest first (all tenants: the
/// expiry worker ends each one through `release_booking`, scoped by its tenant).
pub async fn due_for_expiry(db: &Db, now: i64, limit: i64) -> Result<Vec<(TenantId, i64)>> {
    let q = bookings::table
        .filter(bookings::status.eq("pending"))
        .filter(bookings::confirm_expires_at.le(now))
        .order(bookings::confirm_expires_at)
        .limit(limit)
        .select((bookings::tenant_id, bookings::id));
    let rows: Vec<(i64, i64)> = on_db!(db, c => q.load(c).await)?;
    Ok(rows.into_iter().map(|(t, id)| (TenantId(t), id)).collect())
}

/// Seats taken per slot start in `[from, to)` for one service and quota, by slot start.
/// Reads only the usage rows of that range, so its cost does not grow with the bookings stored.
#[tracing::instrument(name = "store.slot_usage", skip_all)]
pub async fn slot_usage(
    db: &Db,
    tenant: TenantId,
    service_id: i64,
    quota: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64)>> {
    // A row per slot: on SQLite diesel's wrapper reads every row on its blocking thread and
    // hands them over at once, so rows no longer cross from the driver's thread one by one
    // (what the `string_agg` packing of the sqlx version avoided).
    let q = slot_usage::table
        .filter(slot_usage::tenant_id.eq(tenant.0))
        .filter(slot_usage::service_id.eq(service_id))
        .filter(slot_usage::quota.eq(quota))
        .filter(slot_usage::slot_start.ge(from))
        .filter(slot_usage::slot_start.lt(to))
        .order(slot_usage::slot_start)
        .select((slot_usage::slot_start, slot_usage::used));
    Ok(on_read!(db, c => q.load(c).await)?)
}

/// Gives back the seats whose delayed release is due; each exactly once (the row is
/// deleted in the transaction that frees its seat). Returns how many were freed.
pub async fn release_due_seats(db: &Db, now: i64) -> Result<usize> {
    let q = seat_releases::table
        .filter(seat_releases::due_at.le(now))
        .order(seat_releases::due_at)
        .limit(500)
        .select(seat_releases::id);
    let due: Vec<i64> = on_db!(db, c => q.load(c).await)?;
    let mut freed = 0;
    for id in due {
        let done: Option<(i64, i64)> = in_tx!(db, c => {
            let row: Option<(i64, i64, i64, String)> =
                diesel::delete(seat_releases::table.filter(seat_releases::id.eq(id)))
                    .returning((
                        seat_releases::tenant_id,
                        seat_releases::service_id,
                        seat_releases::slot_start,
                        seat_releases::quota,
                    ))
                    .get_result(c)
                    .await
                    .optional()?;
            let Some((tenant, service, start, quota)) = row else {
                return Ok(None);
            };
            seat_back(c.conn(), TenantId(tenant), service, start, &quota).await?;
            Ok(Some((tenant, service)))
        })?;
        if let Some((tenant, service)) = done {
            crate::usage_events::usage_changed(db, TenantId(tenant), service).await;
            freed += 1;
        }
    }
    Ok(freed)
}

/// The identities of one tenant with these hashes, joined to their bookings, when the booking
/// holds a seat and has not started (SQLite; PostgreSQL uses the statements below).
macro_rules! active_identities {
    ($tenant:expr, $now:expr) => {
        booking_identities::table
            .inner_join(
                bookings::table.on(bookings::id
                    .eq(booking_identities::booking_id)
                    .and(bookings::tenant_id.eq(booking_identities::tenant_id))),
            )
            .filter(booking_identities::tenant_id.eq($tenant.0))
            .filter(bookings::status.eq_any(["pending", "confirmed"]))
            .filter(bookings::slot_start.gt($now))
    };
}

// On PostgreSQL the identity queries are written so that their plan does not depend on
// statistics: a plan made while the tables were empty (and kept by the prepared statement)
// drove the join from `bookings_tenant_slot` and read every future booking of the tenant. Here
// the rows come from `booking_identities_lookup` (tenant_id, value_hash) and each booking is
// read by its primary key alone, in a subquery the planner cannot flatten (a scalar subquery;
// a LATERAL with OFFSET 0); the tenant is compared outside it, so `bookings_tenant_slot` is no
// candidate. diesel's DSL has neither correlated subqueries nor LATERAL: raw SQL, all bound.

/// Per hash, the identity rows whose booking holds a seat and has not started.
const PG_ACTIVE_BY_IDENTITY: &str = "SELECT i.value_hash, COUNT(*) AS n FROM booking_identities i \
    WHERE i.tenant_id = $1 AND i.value_hash = ANY($2) \
    AND (SELECT b.tenant_id FROM bookings b WHERE b.id = i.booking_id \
         AND b.status IN ('pending', 'confirmed') AND b.slot_start > $3) = i.tenant_id \
    GROUP BY i.value_hash";

/// One hash's active bookings, first starts first.
const PG_ACTIVE_FOR_IDENTITY: &str = "SELECT b.id, b.service_id, b.slot_start, i.value_hash \
    FROM booking_identities i CROSS JOIN LATERAL (SELECT b.id, b.tenant_id, b.service_id, b.slot_start \
         FROM bookings b WHERE b.id = i.booking_id AND b.status IN ('pending', 'confirmed') \
         AND b.slot_start > $3 OFFSET 0) b \
    WHERE i.tenant_id = $1 AND i.value_hash = $2 AND b.tenant_id = i.tenant_id \
    ORDER BY b.slot_start LIMIT 200";

#[derive(QueryableByName)]
struct HashCount {
    #[diesel(sql_type = Text)]
    value_hash: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct ActiveRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    service_id: i64,
    #[diesel(sql_type = BigInt)]
    slot_start: i64,
    #[diesel(sql_type = Text)]
    value_hash: String,
}

/// The no-shows of one tenant's identities since an instant, by time
/// (`no_shows_lookup`: tenant_id, value_hash, at).
macro_rules! no_shows_of {
    ($tenant:expr, $hashes:expr, $since:expr) => {
        no_shows::table
            .filter(no_shows::tenant_id.eq($tenant.0))
            .filter(no_shows::value_hash.eq_any($hashes))
            .filter(no_shows::at.ge($since))
            .order(no_shows::at)
            .select((no_shows::value_hash, no_shows::department, no_shows::at))
    };
}

/// Active bookings (holding a seat, not yet started) per identity hash, in one tenant.
pub async fn active_by_identity(
    db: &Db,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(String, i64)>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let counts = match db {
        Db::Pg(pool) => pg_counts(&*checkout(pool).await?, tenant, hashes, now).await?,
        Db::Sqlite { read, .. } => {
            sqlite_counts(&mut *checkout(read).await?, tenant, hashes, now).await?
        }
    };
    Ok(counts_per_hash(hashes, counts))
}

/// The active (seat-holding, not yet started) bookings of these identities, one row per
/// (booking, identity): (booking id, service id, slot start, identity hash).
pub async fn active_for_identities(
    db: &Db,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(i64, i64, i64, String)>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let rows = match db {
        Db::Pg(pool) => pg_active(&*checkout(pool).await?, tenant, hashes, now).await?,
        Db::Sqlite { read, .. } => {
            sqlite_active(&mut *checkout(read).await?, tenant, hashes, now).await?
        }
    };
    Ok(active_sorted(rows))
}

/// No-shows of these identities since `since`: (identity hash, department, at), per hash in
/// the order given, each hash's by time.
pub async fn recent_no_shows(
    db: &Db,
    tenant: TenantId,
    hashes: &[String],
    since: i64,
) -> Result<Vec<(String, Option<String>, i64)>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let rows = match db {
        Db::Pg(pool) => {
            let c = checkout(pool).await?;
            no_shows_of!(tenant, hashes, since).load(&mut &*c).await?
        }
        Db::Sqlite { read, .. } => {
            no_shows_of!(tenant, hashes, since)
                .load(&mut *checkout(read).await?)
                .await?
        }
    };
    Ok(no_shows_per_hash(hashes, rows))
}

/// What the booking hooks read of a client's past (P-6, OP-14): the three answers of
/// [`active_by_identity`], [`active_for_identities`] and [`recent_no_shows`], the same rows in
/// the same order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHistory {
    /// (identity hash, active bookings), one per hash in the order given.
    pub active_by_identity: Vec<(String, i64)>,
    /// (booking id, service id, slot start, identity hash) of the active bookings.
    pub active: Vec<(i64, i64, i64, String)>,
    /// (identity hash, department, at) of the no-shows since `since`.
    pub no_shows: Vec<(String, Option<String>, i64)>,
}

/// A client's past for a booking's rules, read on ONE connection (a reader; outside the
/// booking's transaction, which must not wait for the policy script): on PostgreSQL its
/// statements (the counts, one per hash for the active bookings, the no-shows) are sent
/// together, pipelined, and cost one round trip; on SQLite they run one after another on the
/// same WAL snapshot. No hash, no query.
#[tracing::instrument(name = "store.client_history", skip_all)]
pub async fn client_history(
    db: &Db,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
    since: i64,
) -> Result<ClientHistory> {
    if hashes.is_empty() {
        return Ok(ClientHistory::default());
    }
    let (counts, active, no_shows) = match db {
        Db::Pg(pool) => {
            let conn = checkout(pool).await?;
            let c: &AsyncPgConnection = &conn;
            // Futures on a shared reference to one connection, polled together: diesel-async
            // writes each statement as soon as it is polled and reads the answers in order.
            let mut shared = c;
            let no_shows = no_shows_of!(tenant, hashes, since).load(&mut shared);
            futures_util::future::try_join3(
                pg_counts(c, tenant, hashes, now),
                pg_active(c, tenant, hashes, now),
                async { Ok(no_shows.await?) },
            )
            .await?
        }
        Db::Sqlite { read, .. } => {
            let mut conn = checkout(read).await?;
            let c = &mut *conn;
            let counts = sqlite_counts(c, tenant, hashes, now).await?;
            let active = sqlite_active(c, tenant, hashes, now).await?;
            let no_shows = no_shows_of!(tenant, hashes, since).load(c).await?;
            (counts, active, no_shows)
        }
    };
    Ok(ClientHistory {
        active_by_identity: counts_per_hash(hashes, counts),
        active: active_sorted(active),
        no_shows: no_shows_per_hash(hashes, no_shows),
    })
}

/// Per hash, its active bookings (one statement for all the hashes), on PostgreSQL.
async fn pg_counts(
    mut c: &AsyncPgConnection,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let rows: Vec<HashCount> = diesel::sql_query(PG_ACTIVE_BY_IDENTITY)
        .bind::<BigInt, _>(tenant.0)
        .bind::<Array<Text>, _>(hashes)
        .bind::<BigInt, _>(now)
        .load(&mut c)
        .await?;
    Ok(rows.into_iter().map(|r| (r.value_hash, r.n)).collect())
}

/// The active bookings of each hash (a statement per hash, each with its own limit of 200),
/// pipelined on one PostgreSQL connection.
async fn pg_active(
    c: &AsyncPgConnection,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(i64, i64, i64, String)>> {
    let per_hash = hashes.iter().map(|h| async move {
        let mut c = c;
        diesel::sql_query(PG_ACTIVE_FOR_IDENTITY)
            .bind::<BigInt, _>(tenant.0)
            .bind::<Text, _>(h)
            .bind::<BigInt, _>(now)
            .load::<ActiveRow>(&mut c)
            .await
    });
    let rows = futures_util::future::try_join_all(per_hash).await?;
    Ok(rows
        .into_iter()
        .flatten()
        .map(|r| (r.id, r.service_id, r.slot_start, r.value_hash))
        .collect())
}

/// Per hash, its active bookings (one statement for all the hashes), on SQLite.
async fn sqlite_counts(
    c: &mut SqliteConnection,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(String, i64)>> {
    Ok(active_identities!(tenant, now)
        .filter(booking_identities::value_hash.eq_any(hashes))
        .group_by(booking_identities::value_hash)
        .select((booking_identities::value_hash, diesel::dsl::count_star()))
        .load(c)
        .await?)
}

/// The active bookings of each hash (a statement per hash, each with its own limit of 200),
/// on one SQLite connection.
async fn sqlite_active(
    c: &mut SqliteConnection,
    tenant: TenantId,
    hashes: &[String],
    now: i64,
) -> Result<Vec<(i64, i64, i64, String)>> {
    let mut out = Vec::new();
    for h in hashes {
        let rows: Vec<(i64, i64, i64, String)> = active_identities!(tenant, now)
            .filter(booking_identities::value_hash.eq(h))
            .order(bookings::slot_start)
            .limit(200)
            .select((
                bookings::id,
                bookings::service_id,
                bookings::slot_start,
                booking_identities::value_hash,
            ))
            .load(c)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// A count for every hash given, in its order (0 for a hash with no active booking).
fn counts_per_hash(hashes: &[String], counts: Vec<(String, i64)>) -> Vec<(String, i64)> {
    hashes
        .iter()
        .map(|h| {
            let n = counts
                .iter()
                .find(|(hash, _)| hash == h)
                .map_or(0, |(_, n)| *n);
            (h.clone(), n)
        })
        .collect()
}

/// The rows of the active bookings by booking id, each (booking, identity) once.
fn active_sorted(mut rows: Vec<(i64, i64, i64, String)>) -> Vec<(i64, i64, i64, String)> {
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// The no-shows per hash in the order given, each hash's by time.
fn no_shows_per_hash(
    hashes: &[String],
    rows: Vec<(String, Option<String>, i64)>,
) -> Vec<(String, Option<String>, i64)> {
    hashes
        .iter()
        .flat_map(|h| rows.iter().filter(move |(hash, _, _)| hash == h).cloned())
        .collect()
}

/// Records a no-show for each identity of a booking (OP-14).
pub async fn record_no_show(
    db: &Db,
    tenant: TenantId,
    booking_id: i64,
    department: Option<&str>,
    at: i64,
) -> Result<()> {
    on_db!(db, c => insert_no_shows(c.conn(), tenant, booking_id, department, at).await)?;
    Ok(())
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
    let row = in_tx!(db, c => {
        let old = holding_seat!(tenant, id)
            .select(BookingRow::as_select())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        if old.slot_start == new_start {
            return Ok(old);
        }
        let taken = take_seat(c.conn(), tenant, old.service_id, new_start, &old.quota, capacity).await?;
        if taken != 1 || capacity < 1 {
            return Err(StoreError::SlotFull);
        }
        // The row is re-checked by its own condition: a concurrent cancellation wins.
        let row = diesel::update(holding_seat!(tenant, id))
            .set((
                bookings::slot_start.eq(new_start),
                bookings::slot_end.eq(new_end),
                bookings::updated_at.eq(now),
            ))
            .returning(BookingRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::Conflict)?;
        seat_back(c.conn(), tenant, old.service_id, old.slot_start, &old.quota).await?;
        insert_outbox(c.conn(), tenant, Some(id), messages, now).await?;
        Ok(row)
    })?;
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
    let update = diesel::update(holding_seat!(tenant, id)).set((
        bookings::client_name.eq(name),
        bookings::client_email.eq(email),
        bookings::client_phone.eq(phone),
        bookings::updated_at.eq(now),
    ));
    let row: Option<BookingRow> = on_db!(db, c => update
        .returning(BookingRow::as_returning())
        .get_result(c)
        .await
        .optional())?;
    row.ok_or(StoreError::Conflict)
}

/// A no-show for each identity of a booking (OP-14), inside the caller's transaction.
pub(crate) async fn insert_no_shows(
    conn: Conn<'_>,
    tenant: TenantId,
    booking_id: i64,
    department: Option<&str>,
    at: i64,
) -> Result<()> {
    // INSERT … SELECT: one row per identity of the tenant's booking.
    let identities = booking_identities::table
        .filter(booking_identities::tenant_id.eq(tenant.0))
        .filter(booking_identities::booking_id.eq(booking_id))
        .select((
            booking_identities::tenant_id,
            booking_identities::booking_id.nullable(),
            booking_identities::value_hash,
            department.into_sql::<Nullable<Text>>(),
            at.into_sql::<BigInt>(),
        ));
    let insert = diesel::insert_into(no_shows::table)
        .values(identities)
        .into_columns((
            no_shows::tenant_id,
            no_shows::booking_id,
            no_shows::value_hash,
            no_shows::department,
            no_shows::at,
        ));
    on_conn!(conn, c => insert.execute(c).await)?;
    Ok(())
}
