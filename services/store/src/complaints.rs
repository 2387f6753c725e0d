//! Complaints (reklamacje, CI-23): filed online or registered by staff, numbered per tenant,
//! answered within 14 calendar days (the deadline is computed by the caller and stored).

use sqlx::FromRow;

use crate::audit::{insert_audit, NewAudit};
use crate::outbox::{insert_outbox, NewOutbox};
use crate::{on_db, on_read, unique, Db, Result, Scope, StoreError, TenantId};

const COMPLAINT_COLUMNS: &str = "id, tenant_id, number, channel, body, contact_email, booking_id, booking_code, \
    status, filed_by, filed_at, deadline_at, answer, answered_by, answered_at, closed_at, erased_at";

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ComplaintRow {
    pub id: i64,
    pub tenant_id: i64,
    /// The tenant's own running number.
    pub number: i64,
    /// `online`, `letter`, `email`, `phone` or `in_person`.
    pub channel: String,
    /// The complaint's text (NULL once erased).
    pub body: Option<String>,
    pub contact_email: Option<String>,
    /// The tenant's booking the complaint names, when its code was found.
    pub booking_id: Option<i64>,
    /// The booking code as given.
    pub booking_code: Option<String>,
    /// `open`, `answered` or `closed`.
    pub status: String,
    /// The staff member who registered it (NULL: filed online).
    pub filed_by: Option<String>,
    pub filed_at: i64,
    /// The answer is due before this instant.
    pub deadline_at: i64,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub erased_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub channel: &'static str,
    pub body: String,
    pub contact_email: Option<String>,
    pub booking_code: Option<String>,
    pub filed_by: Option<String>,
    pub deadline_at: i64,
}

/// Stores a complaint with the next number of the tenant, linked to the tenant's booking with
/// the given code if there is one, with its messages (acknowledgement) and audit row, in one
/// transaction. `render` makes the messages once the number is known.
pub async fn file_complaint<F>(
    db: &Db,
    tenant: TenantId,
    c: &NewComplaint,
    render: F,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<ComplaintRow>
where
    F: Fn(&ComplaintRow) -> Vec<NewOutbox>,
{
    let sql = format!(
        "INSERT INTO complaints (tenant_id, number, channel, body, contact_email, booking_id, booking_code, status, \
         filed_by, filed_at, deadline_at) \
         VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM complaints WHERE tenant_id = $1), $2, $3, $4, \
         (SELECT b.id FROM bookings b WHERE b.tenant_id = $1 AND b.code = $5), $5, 'open', $6, $7, $8) \
         RETURNING {COMPLAINT_COLUMNS}"
    );
    // Two complaints filed at once may take the same number; the loser tries again.
    for _ in 0..5 {
        let result: Result<ComplaintRow> = on_db!(db, pool => async {
            let mut tx = pool.begin().await?;
            let row = sqlx::query_as::<_, ComplaintRow>(&sql)
                .bind(tenant.0)
                .bind(c.channel)
                .bind(&c.body)
                .bind(&c.contact_email)
                .bind(&c.booking_code)
                .bind(&c.filed_by)
                .bind(now)
                .bind(c.deadline_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| unique(e, &["number"]))?;
            for m in render(&row) {
                insert_outbox(&mut tx, tenant, row.booking_id, &m, now).await?;
            }
            if let Some(a) = audit {
                let a = NewAudit { target: format!("complaint:{}", row.id), ..a.clone() };
                insert_audit(&mut tx, Scope::Tenant(tenant), &a, now).await?;
            }
            tx.commit().await?;
            Ok(row)
        }.await);
        match result {
            Err(StoreError::Unique("number")) => continue,
            other => return other,
        }
    }
    Err(StoreError::Conflict)
}

pub async fn complaint_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<ComplaintRow>> {
    let sql =
        format!("SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE tenant_id = $1 AND id = $2");
    on_db!(db, pool => Ok(sqlx::query_as::<_, ComplaintRow>(&sql)
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// One page of the tenant's complaints, newest first: ids below `before_id` (all when `None`),
/// of one status when given, at most `limit`.
pub async fn complaints_page(
    db: &Db,
    tenant: TenantId,
    status: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<ComplaintRow>> {
    let sql = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE tenant_id = $1 \
         AND (CAST($2 AS TEXT) IS NULL OR status = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, ComplaintRow>(&sql)
        .bind(tenant.0)
        .bind(status)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// The tenant's open complaints whose deadline has passed at `now`, the most overdue first.
pub async fn overdue_complaints(db: &Db, tenant: TenantId, now: i64) -> Result<Vec<ComplaintRow>> {
    let sql = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE tenant_id = $1 AND status = 'open' AND deadline_at <= $2 \
         ORDER BY deadline_at, id LIMIT 1000"
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, ComplaintRow>(&sql)
        .bind(tenant.0)
        .bind(now)
        .fetch_all(pool)
        .await?))
}

/// Answers an open, not erased complaint, with the messages carrying the answer and the audit
/// row, in one transaction. `Conflict` when it is not open, `NotFound` when not the tenant's.
#[allow(clippy::too_many_arguments)]
pub async fn answer_complaint(
    db: &Db,
    tenant: TenantId,
    id: i64,
    answer: &str,
    by: &str,
    messages: &[NewOutbox],
    audit: &NewAudit,
    now: i64,
) -> Result<ComplaintRow> {
    let sql = format!(
        "UPDATE complaints SET status = 'answered', answered_at = $3, answer = $4, answered_by = $5 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'open' AND erased_at IS NULL RETURNING {COMPLAINT_COLUMNS}"
    );
    change(
        db,
        tenant,
        id,
        &sql,
        Some((answer, by)),
        messages,
        audit,
        now,
    )
    .await
}

/// Closes an open or answered complaint, with its audit row. `Conflict` when it is closed
/// already, `NotFound` when not the tenant's.
pub async fn close_complaint(
    db: &Db,
    tenant: TenantId,
    id: i64,
    audit: &NewAudit,
    now: i64,
) -> Result<ComplaintRow> {
    let sql = format!(
        "UPDATE complaints SET status = 'closed', closed_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND status IN ('open', 'answered') RETURNING {COMPLAINT_COLUMNS}"
    );
    change(db, tenant, id, &sql, None, &[], audit, now).await
}

/// Runs one conditional update of a complaint (`$1` tenant, `$2` id, `$3` now, `$4`/`$5` the
/// texts when given) with its messages and audit row.
#[allow(clippy::too_many_arguments)]
async fn change(
    db: &Db,
    tenant: TenantId,
    id: i64,
    sql: &str,
    texts: Option<(&str, &str)>,
    messages: &[NewOutbox],
    audit: &NewAudit,
    now: i64,
) -> Result<ComplaintRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM complaints WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let q = sqlx::query_as::<_, ComplaintRow>(sql)
            .bind(tenant.0)
            .bind(id)
            .bind(now);
        let q = match texts {
            Some((a, b)) => q.bind(a).bind(b),
            None => q,
        };
        let row = q
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::Conflict)?;
        for m in messages {
            insert_outbox(&mut tx, tenant, row.booking_id, m, now).await?;
        }
        insert_audit(&mut tx, Scope::Tenant(tenant), audit, now).await?;
        tx.commit().await?;
        Ok(row)
    })
}

/// The tenant's complaints from this e-mail address or about these bookings, oldest first.
pub async fn complaints_of_client(
    db: &Db,
    tenant: TenantId,
    email: Option<&str>,
    booking_ids: &[i64],
) -> Result<Vec<ComplaintRow>> {
    let by_email = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE tenant_id = $1 \
         AND CAST($2 AS TEXT) IS NOT NULL AND LOWER(contact_email) = LOWER($2) ORDER BY id"
    );
    let by_booking = format!(
        "SELECT {COMPLAINT_COLUMNS} FROM complaints WHERE tenant_id = $1 AND booking_id = $2 ORDER BY id"
    );
    let mut out: Vec<ComplaintRow> = on_read!(db, pool => sqlx::query_as::<_, ComplaintRow>(&by_email)
        .bind(tenant.0)
        .bind(email)
        .fetch_all(pool)
        .await?);
    for id in booking_ids {
        let rows: Vec<ComplaintRow> = on_read!(db, pool => sqlx::query_as::<_, ComplaintRow>(&by_booking)
            .bind(tenant.0)
            .bind(id)
            .fetch_all(pool)
            .await?);
        out.extend(rows);
    }
    out.sort_by_key(|c| c.id);
    out.dedup_by_key(|c| c.id);
    Ok(out)
}

/// Erases the personal data of the tenant's complaints `ids`: text, contact address and
/// answer are nulled; number, channel, status and dates stay. Returns how many were erased.
pub async fn erase_complaints(db: &Db, tenant: TenantId, ids: &[i64], now: i64) -> Result<usize> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut n = 0;
        for id in ids {
            n += sqlx::query(
                "UPDATE complaints SET body = NULL, contact_email = NULL, answer = NULL, erased_at = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND erased_at IS NULL",
            )
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(n)
    })
}
