//! Each booking's history: what happened to it, by whom and when (created, confirmed,
//! cancelled, expired, rejected, rescheduled, client updated, outcome recorded, erased…).
//! Details never hold the client's personal data, so erasure leaves the history as it is.

use sqlx::FromRow;

use crate::{on_db, on_read, Db, Result, StoreError, TenantId};

/// One event to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// e.g. `created`, `rejected`, `erased`.
    pub kind: String,
    /// Who acted: `client`, `system`, or a staff member as the audit log names them.
    pub actor: String,
    /// Details as JSON (no personal data), e.g. `{"reason": "…"}`.
    pub detail_json: Option<String>,
}

impl NewEvent {
    pub fn new(kind: &str, actor: &str) -> NewEvent {
        NewEvent {
            kind: kind.to_string(),
            actor: actor.to_string(),
            detail_json: None,
        }
    }

    pub fn detail(mut self, json: impl Into<String>) -> NewEvent {
        self.detail_json = Some(json.into());
        self
    }
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct BookingEventRow {
    pub id: i64,
    pub tenant_id: i64,
    pub booking_id: i64,
    pub kind: String,
    pub actor: String,
    pub detail_json: Option<String>,
    pub at: i64,
}

const EVENT_COLUMNS: &str = "id, tenant_id, booking_id, kind, actor, detail_json, at";

/// Writes an event of the tenant's booking inside a transaction; changes nothing (false) when
/// the booking is not the tenant's.
pub(crate) async fn insert_event<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    tenant: TenantId,
    booking_id: i64,
    e: &NewEvent,
    now: i64,
) -> Result<bool>
where
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'r> (i64,): sqlx::FromRow<'r, <DB as sqlx::Database>::Row>,
{
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO booking_events (tenant_id, booking_id, kind, actor, detail_json, at) \
         SELECT tenant_id, id, $3, $4, $5, $6 FROM bookings WHERE tenant_id = $1 AND id = $2 RETURNING id",
    )
    .bind(tenant.0)
    .bind(booking_id)
    .bind(e.kind.as_str())
    .bind(e.actor.as_str())
    .bind(e.detail_json.as_deref())
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.is_some())
}

/// Records an event of one of the tenant's bookings on its own (after a change the store made
/// in a transaction of its own). `NotFound` when the booking is not the tenant's.
pub async fn record_booking_event(
    db: &Db,
    tenant: TenantId,
    booking_id: i64,
    e: &NewEvent,
    now: i64,
) -> Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if !insert_event(&mut tx, tenant, booking_id, e, now).await? {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    })
}

/// A booking's history, oldest first (empty when the booking is not the tenant's).
pub async fn booking_events(
    db: &Db,
    tenant: TenantId,
    booking_id: i64,
) -> Result<Vec<BookingEventRow>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM booking_events WHERE tenant_id = $1 AND booking_id = $2 ORDER BY id"
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, BookingEventRow>(&sql)
        .bind(tenant.0)
        .bind(booking_id)
        .fetch_all(pool)
        .await?))
}
