//! Each booking's history: what happened to it, by whom and when (created, confirmed,
//! cancelled, expired, rejected, rescheduled, client updated, outcome recorded, erased…).
//! Details never hold the client's personal data, so erasure leaves the history as it is.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{booking_events, bookings};
use crate::{in_tx, on_read, AnyConn as _, Conn, Db, Result, StoreError, TenantId};

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

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = booking_events)]
pub struct BookingEventRow {
    pub id: i64,
    pub tenant_id: i64,
    pub booking_id: i64,
    pub kind: String,
    pub actor: String,
    pub detail_json: Option<String>,
    pub at: i64,
}

/// `INSERT … SELECT … RETURNING id` of an event: the row is written only when the booking is
/// the tenant's.
macro_rules! event_insert {
    ($tenant:expr, $booking_id:expr, $e:expr, $now:expr) => {{
        let of_the_tenant = bookings::table
            .filter(
                bookings::tenant_id
                    .eq($tenant.0)
                    .and(bookings::id.eq($booking_id)),
            )
            .select((
                bookings::tenant_id,
                bookings::id,
                $e.kind.as_str().into_sql::<Text>(),
                $e.actor.as_str().into_sql::<Text>(),
                $e.detail_json.as_deref().into_sql::<Nullable<Text>>(),
                $now.into_sql::<BigInt>(),
            ));
        diesel::insert_into(booking_events::table)
            .values(of_the_tenant)
            .into_columns((
                booking_events::tenant_id,
                booking_events::booking_id,
                booking_events::kind,
                booking_events::actor,
                booking_events::detail_json,
                booking_events::at,
            ))
            .returning(booking_events::id)
    }};
}

/// Writes an event of the tenant's booking inside a transaction; changes nothing (false) when
/// the booking is not the tenant's.
pub(crate) async fn insert_event(
    conn: Conn<'_>,
    tenant: TenantId,
    booking_id: i64,
    e: &NewEvent,
    now: i64,
) -> Result<bool> {
    match conn {
        Conn::Pg(c) => insert_event_pg(c, tenant, booking_id, e, now).await,
        Conn::Sqlite(c) => {
            let id: Option<i64> = event_insert!(tenant, booking_id, e, now)
                .get_result(c)
                .await
                .optional()?;
            Ok(id.is_some())
        }
    }
}

/// [`insert_event`] on PostgreSQL, on a shared reference: a booking's transaction sends it
/// pipelined with its other last statements.
pub(crate) async fn insert_event_pg(
    mut c: &AsyncPgConnection,
    tenant: TenantId,
    booking_id: i64,
    e: &NewEvent,
    now: i64,
) -> Result<bool> {
    let id: Option<i64> = event_insert!(tenant, booking_id, e, now)
        .get_result(&mut c)
        .await
        .optional()?;
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
    in_tx!(db, c => {
        if !insert_event(c.conn(), tenant, booking_id, e, now).await? {
            return Err(StoreError::NotFound);
        }
        Ok(())
    })
}

/// A booking's history, oldest first (empty when the booking is not the tenant's).
pub async fn booking_events(
    db: &Db,
    tenant: TenantId,
    booking_id: i64,
) -> Result<Vec<BookingEventRow>> {
    on_read!(db, c => Ok(booking_events::table
        .filter(booking_events::tenant_id.eq(tenant.0))
        .filter(booking_events::booking_id.eq(booking_id))
        .order(booking_events::id)
        .select(BookingEventRow::as_select())
        .load(c)
        .await?))
}
