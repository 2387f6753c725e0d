//! Complaints (reklamacje, CI-23): filed online or registered by staff, numbered per tenant,
//! answered within 14 calendar days (the deadline is computed by the caller and stored).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::audit::{insert_audit, NewAudit};
use crate::outbox::{insert_outbox, NewOutbox};
use crate::personal_data::lower;
use crate::schema::{bookings, complaints};
use crate::{in_tx, on_db, on_read, unique, AnyConn as _, Db, Result, Scope, StoreError, TenantId};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = complaints)]
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
    // Sync: the transaction's body, which calls it, may move between threads.
    F: Fn(&ComplaintRow) -> Vec<NewOutbox> + Sync,
{
    let new = c;
    // Two complaints filed at once may take the same number; the loser tries again.
    for _ in 0..5 {
        let result: Result<ComplaintRow> = in_tx!(db, c => {
            // The number is taken in the transaction that files the complaint; the unique
            // (tenant, number) refuses a second filing that read the same last number.
            let last: Option<i64> = complaints::table
                .filter(complaints::tenant_id.eq(tenant.0))
                .select(diesel::dsl::max(complaints::number))
                .first(c)
                .await?;
            let booking_id: Option<i64> = match new.booking_code.as_deref() {
                Some(code) => bookings::table
                    .filter(bookings::tenant_id.eq(tenant.0).and(bookings::code.eq(code)))
                    .select(bookings::id)
                    .first(c)
                    .await
                    .optional()?,
                None => None,
            };
            let row = diesel::insert_into(complaints::table)
                .values((
                    complaints::tenant_id.eq(tenant.0),
                    complaints::number.eq(last.unwrap_or(0) + 1),
                    complaints::channel.eq(new.channel),
                    complaints::body.eq(&new.body),
                    complaints::contact_email.eq(&new.contact_email),
                    complaints::booking_id.eq(booking_id),
                    complaints::booking_code.eq(&new.booking_code),
                    complaints::status.eq("open"),
                    complaints::filed_by.eq(&new.filed_by),
                    complaints::filed_at.eq(now),
                    complaints::deadline_at.eq(new.deadline_at),
                ))
                .returning(ComplaintRow::as_returning())
                .get_result(c)
                .await
                .map_err(|e| unique(e, &["number"]))?;
            insert_outbox(c.conn(), tenant, row.booking_id, &render(&row), now).await?;
            if let Some(a) = audit {
                let a = NewAudit { target: format!("complaint:{}", row.id), ..a.clone() };
                insert_audit(c.conn(), Scope::Tenant(tenant), &a, now).await?;
            }
            Ok(row)
        });
        match result {
            Err(StoreError::Unique("number")) => continue,
            other => return other,
        }
    }
    Err(StoreError::Conflict)
}

pub async fn complaint_by_id(db: &Db, tenant: TenantId, id: i64) -> Result<Option<ComplaintRow>> {
    on_db!(db, c => Ok(complaints::table
        .filter(complaints::tenant_id.eq(tenant.0).and(complaints::id.eq(id)))
        .select(ComplaintRow::as_select())
        .first(c)
        .await
        .optional()?))
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
    on_read!(db, c => {
        let mut q = complaints::table
            .filter(complaints::tenant_id.eq(tenant.0))
            .filter(complaints::id.lt(before_id.unwrap_or(i64::MAX)))
            .select(ComplaintRow::as_select())
            .into_boxed();
        if let Some(status) = status {
            q = q.filter(complaints::status.eq(status));
        }
        Ok(q.order(complaints::id.desc()).limit(limit).load(c).await?)
    })
}

/// The tenant's open complaints whose deadline has passed at `now`, the most overdue first.
pub async fn overdue_complaints(db: &Db, tenant: TenantId, now: i64) -> Result<Vec<ComplaintRow>> {
    on_read!(db, c => Ok(complaints::table
        .filter(complaints::tenant_id.eq(tenant.0))
        .filter(complaints::status.eq("open"))
        .filter(complaints::deadline_at.le(now))
        .order((complaints::deadline_at, complaints::id))
        .limit(1000)
        .select(ComplaintRow::as_select())
        .load(c)
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
    change(
        db,
        tenant,
        id,
        Change::Answer { answer, by },
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
    change(db, tenant, id, Change::Close, &[], audit, now).await
}

/// What [`change`] does to a complaint.
#[derive(Clone, Copy)]
enum Change<'a> {
    /// An open, not erased one is answered.
    Answer { answer: &'a str, by: &'a str },
    /// An open or answered one is closed.
    Close,
}

/// Runs one conditional update of the tenant's complaint with its messages and audit row, in
/// one transaction.
async fn change(
    db: &Db,
    tenant: TenantId,
    id: i64,
    what: Change<'_>,
    messages: &[NewOutbox],
    audit: &NewAudit,
    now: i64,
) -> Result<ComplaintRow> {
    let this = complaints::tenant_id
        .eq(tenant.0)
        .and(complaints::id.eq(id));
    in_tx!(db, c => {
        let exists: Option<i64> = complaints::table
            .filter(this)
            .select(complaints::id)
            .first(c)
            .await
            .optional()?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let row: Option<ComplaintRow> = match what {
            Change::Answer { answer, by } => {
                diesel::update(
                    complaints::table
                        .filter(this)
                        .filter(complaints::status.eq("open"))
                        .filter(complaints::erased_at.is_null()),
                )
                .set((
                    complaints::status.eq("answered"),
                    complaints::answered_at.eq(now),
                    complaints::answer.eq(answer),
                    complaints::answered_by.eq(by),
                ))
                .returning(ComplaintRow::as_returning())
                .get_result(c)
                .await
                .optional()?
            }
            Change::Close => {
                diesel::update(
                    complaints::table
                        .filter(this)
                        .filter(complaints::status.eq_any(["open", "answered"])),
                )
                .set((
                    complaints::status.eq("closed"),
                    complaints::closed_at.eq(now),
                ))
                .returning(ComplaintRow::as_returning())
                .get_result(c)
                .await
                .optional()?
            }
        };
        let row = row.ok_or(StoreError::Conflict)?;
        insert_outbox(c.conn(), tenant, row.booking_id, messages, now).await?;
        insert_audit(c.conn(), Scope::Tenant(tenant), audit, now).await?;
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
    let mut out: Vec<ComplaintRow> = on_read!(db, c => {
        let mut out: Vec<ComplaintRow> = match email {
            Some(email) => complaints::table
                .filter(complaints::tenant_id.eq(tenant.0))
                .filter(lower(complaints::contact_email).eq(lower(Some(email))))
                .order(complaints::id)
                .select(ComplaintRow::as_select())
                .load(c)
                .await?,
            None => Vec::new(),
        };
        for id in booking_ids {
            let rows: Vec<ComplaintRow> = complaints::table
                .filter(complaints::tenant_id.eq(tenant.0))
                .filter(complaints::booking_id.eq(id))
                .order(complaints::id)
                .select(ComplaintRow::as_select())
                .load(c)
                .await?;
            out.extend(rows);
        }
        out
    });
    out.sort_by_key(|c| c.id);
    out.dedup_by_key(|c| c.id);
    Ok(out)
}

/// Erases the personal data of the tenant's complaints `ids`: text, contact address and
/// answer are nulled; number, channel, status and dates stay. Returns how many were erased.
pub async fn erase_complaints(db: &Db, tenant: TenantId, ids: &[i64], now: i64) -> Result<usize> {
    in_tx!(db, c => {
        let mut n = 0;
        for id in ids {
            n += diesel::update(
                complaints::table
                    .filter(complaints::tenant_id.eq(tenant.0))
                    .filter(complaints::id.eq(id))
                    .filter(complaints::erased_at.is_null()),
            )
            .set((
                complaints::body.eq(None::<String>),
                complaints::contact_email.eq(None::<String>),
                complaints::answer.eq(None::<String>),
                complaints::erased_at.eq(now),
            ))
            .execute(c)
            .await?;
        }
        Ok(n)
    })
}
