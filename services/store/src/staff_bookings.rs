//! Bookings as staff see them (issue 5, phase B): the booking row with what staff record on
//! it — who made a phone booking, when its personal data expire or were erased, the visit's
//! outcome — in keyset pages by slot start, and the staff changes with their history event and
//! audit row in one transaction.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::audit::{insert_audit, NewAudit};
use crate::events::{insert_event, NewEvent};
use crate::schema::{bookings, no_shows, services};
use crate::{in_tx, on_db, on_read, AnyConn as _, Db, Result, Scope, StoreError, TenantId};

use crate::bookings::BookingRow;

/// A booking with its staff columns: the booking row's columns, then these.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = bookings)]
pub struct StaffBookingRow {
    #[diesel(embed)]
    pub booking: BookingRow,
    /// When the personal data are erased at the latest (GD-14).
    pub personal_data_expires_at: Option<i64>,
    /// When the personal data were erased (on request or by the retention schedule).
    pub erased_at: Option<i64>,
    /// The staff member who made the booking (phone bookings).
    pub created_by: Option<String>,
    /// `attended`, `no_show` or `refused`.
    pub outcome: Option<String>,
    pub outcome_note: Option<String>,
    pub outcome_at: Option<i64>,
    pub outcome_by: Option<String>,
}

pub async fn staff_booking(db: &Db, tenant: TenantId, id: i64) -> Result<Option<StaffBookingRow>> {
    on_db!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0).and(bookings::id.eq(id)))
        .select(StaffBookingRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn staff_booking_by_code(
    db: &Db,
    tenant: TenantId,
    code: &str,
) -> Result<Option<StaffBookingRow>> {
    on_db!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0).and(bookings::code.eq(code)))
        .select(StaffBookingRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Which bookings a staff list shows; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingFilter {
    /// Slot start at or after (UTC seconds).
    pub from: Option<i64>,
    /// Slot start before.
    pub to: Option<i64>,
    pub office_id: Option<i64>,
    pub service_id: Option<i64>,
    pub status: Option<String>,
}

/// A position in the list: (slot start, id).
pub type BookingKey = (i64, i64);

/// `$base` (a select on `bookings`) boxed, of the tenant `$tenant` and narrowed by the filter
/// `$f`'s conditions that are given. Expanded inside a per-backend body (the boxed query's type
/// names the backend).
macro_rules! filtered {
    ($base:expr, $tenant:expr, $f:expr) => {{
        let f: &BookingFilter = $f;
        let tenant: TenantId = $tenant;
        let mut q = $base.filter(bookings::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(from) = f.from {
            q = q.filter(bookings::slot_start.ge(from));
        }
        if let Some(to) = f.to {
            q = q.filter(bookings::slot_start.lt(to));
        }
        if let Some(office) = f.office_id {
            q = q.filter(
                bookings::service_id.eq_any(
                    services::table
                        .filter(services::tenant_id.eq(tenant.0))
                        .filter(services::office_id.eq(office))
                        .select(services::id),
                ),
            );
        }
        if let Some(service) = f.service_id {
            q = q.filter(bookings::service_id.eq(service));
        }
        if let Some(status) = f.status.as_deref() {
            q = q.filter(bookings::status.eq(status));
        }
        q
    }};
}

/// One page of the tenant's bookings in slot order (then id): those after `after` and before
/// `before`, at most `limit`. With `from_end` the page is taken from the end of that range
/// (the last `limit` rows, for backward paging); rows are returned in slot order either way.
pub async fn bookings_page(
    db: &Db,
    tenant: TenantId,
    f: &BookingFilter,
    after: Option<BookingKey>,
    before: Option<BookingKey>,
    limit: i64,
    from_end: bool,
) -> Result<Vec<StaffBookingRow>> {
    let mut rows: Vec<StaffBookingRow> = on_read!(db, c => {
        let mut q = filtered!(
            bookings::table.select(StaffBookingRow::as_select()),
            tenant,
            f
        );
        if let Some((start, id)) = after {
            q = q.filter(
                bookings::slot_start
                    .gt(start)
                    .or(bookings::slot_start.eq(start).and(bookings::id.gt(id))),
            );
        }
        if let Some((start, id)) = before {
            q = q.filter(
                bookings::slot_start
                    .lt(start)
                    .or(bookings::slot_start.eq(start).and(bookings::id.lt(id))),
            );
        }
        q = if from_end {
            q.order((bookings::slot_start.desc(), bookings::id.desc()))
        } else {
            q.order((bookings::slot_start.asc(), bookings::id.asc()))
        };
        q.limit(limit).load(c).await?
    });
    if from_end {
        rows.reverse();
    }
    Ok(rows)
}

/// How many of the tenant's bookings match the filter.
pub async fn count_bookings(db: &Db, tenant: TenantId, f: &BookingFilter) -> Result<i64> {
    on_read!(db, c => Ok(filtered!(
        bookings::table.select(diesel::dsl::count_star()),
        tenant,
        f
    )
    .get_result(c)
    .await?))
}

/// Marks a booking just made by staff: who made it and until when its personal data are kept
/// (GD-14), with its history event and audit row, in one transaction. `NotFound` when the
/// booking is not the tenant's.
#[allow(clippy::too_many_arguments)]
pub async fn mark_staff_booking(
    db: &Db,
    tenant: TenantId,
    id: i64,
    created_by: &str,
    personal_data_expires_at: Option<i64>,
    event: &NewEvent,
    audit: &NewAudit,
    now: i64,
) -> Result<()> {
    in_tx!(db, c => {
        let n = diesel::update(
            bookings::table.filter(bookings::tenant_id.eq(tenant.0).and(bookings::id.eq(id))),
        )
        .set((
            bookings::created_by.eq(created_by),
            bookings::personal_data_expires_at.eq(personal_data_expires_at),
        ))
        .execute(c)
        .await?;
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        insert_event(c.conn(), tenant, id, event, now).await?;
        insert_audit(c.conn(), Scope::Tenant(tenant), audit, now).await?;
        Ok(())
    })
}

/// Writes the history event and the audit row of a staff change the store made on its own
/// (a rejection or a cancellation through `release_booking`), in one transaction.
pub async fn record_staff_change(
    db: &Db,
    tenant: TenantId,
    id: i64,
    event: &NewEvent,
    audit: &NewAudit,
    now: i64,
) -> Result<()> {
    in_tx!(db, c => {
        if !insert_event(c.conn(), tenant, id, event, now).await? {
            return Err(StoreError::NotFound);
        }
        insert_audit(c.conn(), Scope::Tenant(tenant), audit, now).await?;
        Ok(())
    })
}

/// Records the outcome of a confirmed, not erased visit (`attended`, `no_show`, `refused`)
/// with its event and audit row, in one transaction. Returns the booking and whether the
/// outcome changed to this one now (so a no-show is counted once, OP-14). Moving away from
/// `no_show` removes the no-show rows of the booking. `Conflict` when the booking is not
/// confirmed or was erased, `NotFound` when it is not the tenant's.
#[allow(clippy::too_many_arguments)]
pub async fn record_outcome(
    db: &Db,
    tenant: TenantId,
    id: i64,
    outcome: &str,
    note: Option<&str>,
    by: &str,
    event: &NewEvent,
    audit: &NewAudit,
    now: i64,
) -> Result<(StaffBookingRow, bool)> {
    let recordable = bookings::tenant_id
        .eq(tenant.0)
        .and(bookings::id.eq(id))
        .and(bookings::status.eq("confirmed"))
        .and(bookings::erased_at.is_null());
    let values = (
        bookings::outcome.eq(outcome),
        bookings::outcome_note.eq(note),
        bookings::outcome_at.eq(now),
        bookings::outcome_by.eq(by),
        bookings::updated_at.eq(now),
    );
    in_tx!(db, c => {
        let exists: Option<i64> = bookings::table
            .filter(bookings::tenant_id.eq(tenant.0).and(bookings::id.eq(id)))
            .select(bookings::id)
            .first(c)
            .await
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        // First as a change of outcome; when the booking has this outcome already, the same
        // update without that condition tells it apart from a booking that cannot take one.
        let mut changed = true;
        let mut row = diesel::update(bookings::table.filter(recordable).filter(
            bookings::outcome.is_null().or(bookings::outcome.ne(outcome)),
        ))
        .set(values)
        .returning(StaffBookingRow::as_returning())
        .get_result(c)
        .await
        .optional()?;
        if row.is_none() {
            changed = false;
            row = diesel::update(bookings::table.filter(recordable))
                .set(values)
                .returning(StaffBookingRow::as_returning())
                .get_result(c)
                .await
                .optional()?;
        }
        let row = row.ok_or(StoreError::Conflict)?;
        if outcome != "no_show" {
            diesel::delete(
                no_shows::table
                    .filter(no_shows::tenant_id.eq(tenant.0))
                    .filter(no_shows::booking_id.eq(id)),
            )
            .execute(c)
            .await?;
        }
        insert_event(c.conn(), tenant, id, event, now).await?;
        insert_audit(c.conn(), Scope::Tenant(tenant), audit, now).await?;
        Ok((row, changed))
    })
}
