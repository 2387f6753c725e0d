//! Bookings as staff see them (issue 5, phase B): the booking row with what staff record on
//! it — who made a phone booking, when its personal data expire or were erased, the visit's
//! outcome — in keyset pages by slot start, and the staff changes with their history event and
//! audit row in one transaction.

use sqlx::FromRow;

use crate::audit::{insert_audit, NewAudit};
use crate::bookings::{BookingRow, BOOKING_COLUMNS};
use crate::events::{insert_event, NewEvent};
use crate::{on_db, on_read, Db, Result, Scope, StoreError, TenantId};

/// The staff columns of a booking, after [`BOOKING_COLUMNS`].
pub const STAFF_COLUMNS: &str =
    "personal_data_expires_at, erased_at, created_by, outcome, outcome_note, outcome_at, outcome_by";

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct StaffBookingRow {
    #[sqlx(flatten)]
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

pub(crate) fn staff_select(condition: &str) -> String {
    format!("SELECT {BOOKING_COLUMNS}, {STAFF_COLUMNS} FROM bookings WHERE tenant_id = $1 AND {condition}")
}

pub async fn staff_booking(db: &Db, tenant: TenantId, id: i64) -> Result<Option<StaffBookingRow>> {
    let sql = staff_select("id = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, StaffBookingRow>(&sql)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

pub async fn staff_booking_by_code(
    db: &Db,
    tenant: TenantId,
    code: &str,
) -> Result<Option<StaffBookingRow>> {
    let sql = staff_select("code = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, StaffBookingRow>(&sql)
        .bind(tenant.0)
        .bind(code)
        .fetch_optional(pool)
        .await?))
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

const FILTER: &str = "(CAST($2 AS BIGINT) IS NULL OR slot_start >= $2) \
     AND (CAST($3 AS BIGINT) IS NULL OR slot_start < $3) \
     AND (CAST($4 AS BIGINT) IS NULL OR service_id IN (SELECT s.id FROM services s WHERE s.tenant_id = $1 AND s.office_id = $4)) \
     AND (CAST($5 AS BIGINT) IS NULL OR service_id = $5) \
     AND (CAST($6 AS TEXT) IS NULL OR status = $6)";

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
    let dir = if from_end { "DESC" } else { "ASC" };
    let sql = staff_select(&format!(
        "{FILTER} \
         AND (CAST($7 AS BIGINT) IS NULL OR slot_start > $7 OR (slot_start = $7 AND id > $8)) \
         AND (CAST($9 AS BIGINT) IS NULL OR slot_start < $9 OR (slot_start = $9 AND id < $10)) \
         ORDER BY slot_start {dir}, id {dir} LIMIT $11"
    ));
    let mut rows: Vec<StaffBookingRow> = on_read!(db, pool => sqlx::query_as::<_, StaffBookingRow>(&sql)
        .bind(tenant.0)
        .bind(f.from)
        .bind(f.to)
        .bind(f.office_id)
        .bind(f.service_id)
        .bind(f.status.as_deref())
        .bind(after.map(|k| k.0))
        .bind(after.map(|k| k.1))
        .bind(before.map(|k| k.0))
        .bind(before.map(|k| k.1))
        .bind(limit)
        .fetch_all(pool)
        .await?);
    if from_end {
        rows.reverse();
    }
    Ok(rows)
}

/// How many of the tenant's bookings match the filter.
pub async fn count_bookings(db: &Db, tenant: TenantId, f: &BookingFilter) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM bookings WHERE tenant_id = $1 AND {FILTER}");
    on_read!(db, pool => Ok(sqlx::query_scalar::<_, i64>(&sql)
        .bind(tenant.0)
        .bind(f.from)
        .bind(f.to)
        .bind(f.office_id)
        .bind(f.service_id)
        .bind(f.status.as_deref())
        .fetch_one(pool)
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
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(
            "UPDATE bookings SET created_by = $3, personal_data_expires_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id)
        .bind(created_by)
        .bind(personal_data_expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        insert_event(&mut tx, tenant, id, event, now).await?;
        insert_audit(&mut tx, Scope::Tenant(tenant), audit, now).await?;
        tx.commit().await?;
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
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if !insert_event(&mut tx, tenant, id, event, now).await? {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut tx, Scope::Tenant(tenant), audit, now).await?;
        tx.commit().await?;
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
    let update = |extra: &str| {
        format!(
            "UPDATE bookings SET outcome = $3, outcome_note = $4, outcome_at = $5, outcome_by = $6, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2 AND status = 'confirmed' AND erased_at IS NULL {extra} \
             RETURNING {BOOKING_COLUMNS}, {STAFF_COLUMNS}"
        )
    };
    let changing = update("AND (outcome IS NULL OR outcome <> $3)");
    let same = update("");
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM bookings WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let mut changed = true;
        let mut row = sqlx::query_as::<_, StaffBookingRow>(&changing)
            .bind(tenant.0)
            .bind(id)
            .bind(outcome)
            .bind(note)
            .bind(now)
            .bind(by)
            .fetch_optional(&mut *tx)
            .await?;
        if row.is_none() {
            changed = false;
            row = sqlx::query_as::<_, StaffBookingRow>(&same)
                .bind(tenant.0)
                .bind(id)
                .bind(outcome)
                .bind(note)
                .bind(now)
                .bind(by)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let row = row.ok_or(StoreError::Conflict)?;
        if outcome != "no_show" {
            sqlx::query("DELETE FROM no_shows WHERE tenant_id = $1 AND booking_id = $2")
                .bind(tenant.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        insert_event(&mut tx, tenant, id, event, now).await?;
        insert_audit(&mut tx, Scope::Tenant(tenant), audit, now).await?;
        tx.commit().await?;
        Ok((row, changed))
    })
}
