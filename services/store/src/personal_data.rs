//! The client's rights over their personal data within one tenant (P-5): what is held about
//! them (export), correction, and erasure — on request or by the tenant's retention schedule.
//!
//! Erasure nulls the personal fields of a booking (name, e-mail, phone, form fields, the
//! desk's note, the client-chosen idempotency key and the hash of the request), scrubs the
//! messages sent about it (an unsent one is never sent) and deletes its identity hashes. The
//! booking row keeps its status, service and slot, so anonymous counts per day and service
//! survive; its history gains an `erased` event with the reason.

use crate::audit::{insert_audit, NewAudit};
use crate::bookings::{BookingRow, BOOKING_COLUMNS};
use crate::events::{insert_event, NewEvent};
use crate::outbox::OutboxRow;
use crate::staff_bookings::{staff_select, StaffBookingRow};
use crate::{on_db, on_read, Db, Result, Scope, TenantId};

/// The most bookings one client request reaches.
pub const MAX_CLIENT_BOOKINGS: i64 = 1000;

/// Whose data: any of an e-mail address (compared without case), a phone number (as stored,
/// 48xxxxxxxxx) or one booking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientMatch {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub booking_id: Option<i64>,
}

impl ClientMatch {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone.is_none() && self.booking_id.is_none()
    }
}

/// The tenant's bookings of a client, in slot order (none when the match is empty).
pub async fn bookings_of_client(
    db: &Db,
    tenant: TenantId,
    m: &ClientMatch,
) -> Result<Vec<StaffBookingRow>> {
    if m.is_empty() {
        return Ok(Vec::new());
    }
    let sql = staff_select(
        "((CAST($2 AS TEXT) IS NOT NULL AND LOWER(client_email) = LOWER($2)) \
          OR (CAST($3 AS TEXT) IS NOT NULL AND client_phone = $3) \
          OR (CAST($4 AS BIGINT) IS NOT NULL AND id = $4)) \
         ORDER BY slot_start, id LIMIT $5",
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, StaffBookingRow>(&sql)
        .bind(tenant.0)
        .bind(m.email.as_deref())
        .bind(m.phone.as_deref())
        .bind(m.booking_id)
        .bind(MAX_CLIENT_BOOKINGS)
        .fetch_all(pool)
        .await?))
}

/// The tenant's messages about these bookings or addressed to this e-mail or phone, oldest
/// first.
pub async fn outbox_of_client(
    db: &Db,
    tenant: TenantId,
    booking_ids: &[i64],
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<Vec<OutboxRow>> {
    let cols = "id, tenant_id, booking_id, channel, recipient, payload_json, status, attempts, next_attempt_at, last_error";
    let by_recipient = format!(
        "SELECT {cols} FROM outbox WHERE tenant_id = $1 AND \
         ((CAST($2 AS TEXT) IS NOT NULL AND LOWER(recipient) = LOWER($2)) OR (CAST($3 AS TEXT) IS NOT NULL AND recipient = $3)) \
         ORDER BY id"
    );
    let by_booking =
        format!("SELECT {cols} FROM outbox WHERE tenant_id = $1 AND booking_id = $2 ORDER BY id");
    let mut out: Vec<OutboxRow> = on_read!(db, pool => sqlx::query_as::<_, OutboxRow>(&by_recipient)
        .bind(tenant.0)
        .bind(email)
        .bind(phone)
        .fetch_all(pool)
        .await?);
    for id in booking_ids {
        let rows: Vec<OutboxRow> = on_read!(db, pool => sqlx::query_as::<_, OutboxRow>(&by_booking)
            .bind(tenant.0)
            .bind(id)
            .fetch_all(pool)
            .await?);
        out.extend(rows);
    }
    out.sort_by_key(|r| r.id);
    out.dedup_by_key(|r| r.id);
    Ok(out)
}

/// Corrects the client data of the tenant's bookings `ids` (not erased ones): each given value
/// replaces the stored one, `None` keeps it. Each corrected booking gets `event`; the audit row
/// is written once. Returns the corrected bookings.
#[allow(clippy::too_many_arguments)]
pub async fn correct_client(
    db: &Db,
    tenant: TenantId,
    ids: &[i64],
    name: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    event: &NewEvent,
    audit: &NewAudit,
    now: i64,
) -> Result<Vec<BookingRow>> {
    let sql = format!(
        "UPDATE bookings SET client_name = COALESCE($3, client_name), client_email = COALESCE($4, client_email), \
         client_phone = COALESCE($5, client_phone), updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2 AND erased_at IS NULL RETURNING {BOOKING_COLUMNS}"
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut out = Vec::new();
        for id in ids {
            let row = sqlx::query_as::<_, BookingRow>(&sql)
                .bind(tenant.0)
                .bind(id)
                .bind(name)
                .bind(email)
                .bind(phone)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = row {
                insert_event(&mut tx, tenant, row.id, event, now).await?;
                out.push(row);
            }
        }
        insert_audit(&mut tx, Scope::Tenant(tenant), audit, now).await?;
        tx.commit().await?;
        Ok(out)
    })
}

/// Erases the personal data of the tenant's bookings `ids` (see the module's doc); bookings
/// already erased or of another tenant are left alone. Each erased booking gets `event` (with
/// the reason in its detail). Returns the ids erased now.
pub async fn erase_bookings(
    db: &Db,
    tenant: TenantId,
    ids: &[i64],
    event: &NewEvent,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<Vec<i64>> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut erased = Vec::new();
        for id in ids {
            let n = sqlx::query(
                "UPDATE bookings SET client_name = NULL, client_email = NULL, client_phone = NULL, fields_json = '{}', \
                 outcome_note = NULL, idempotency_key = NULL, request_hash = NULL, erased_at = $3, updated_at = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND erased_at IS NULL",
            )
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                continue;
            }
            sqlx::query(
                "UPDATE outbox SET recipient = '', payload_json = '{}', last_error = NULL, \
                 status = CASE WHEN status = 'pending' THEN 'erased' ELSE status END \
                 WHERE tenant_id = $1 AND booking_id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM booking_identities WHERE tenant_id = $1 AND booking_id = $2")
                .bind(tenant.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_event(&mut tx, tenant, *id, event, now).await?;
            erased.push(*id);
        }
        if let Some(a) = audit {
            insert_audit(&mut tx, Scope::Tenant(tenant), a, now).await?;
        }
        tx.commit().await?;
        Ok(erased)
    })
}

/// Scrubs the tenant's messages addressed to this e-mail or phone that belong to no booking
/// (e.g. complaint acknowledgements); an unsent one is never sent. Returns how many.
pub async fn erase_messages_to(
    db: &Db,
    tenant: TenantId,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<u64> {
    on_db!(db, pool => Ok(sqlx::query(
        "UPDATE outbox SET recipient = '', payload_json = '{}', last_error = NULL, \
         status = CASE WHEN status = 'pending' THEN 'erased' ELSE status END \
         WHERE tenant_id = $1 AND recipient <> '' AND \
         ((CAST($2 AS TEXT) IS NOT NULL AND LOWER(recipient) = LOWER($2)) OR (CAST($3 AS TEXT) IS NOT NULL AND recipient = $3))",
    )
    .bind(tenant.0)
    .bind(email)
    .bind(phone)
    .execute(pool)
    .await?
    .rows_affected()))
}

/// The tenant's bookings whose personal data are due for erasure: a visit before `cutoff`, a
/// phone booking's visit before `phone_cutoff`, or a booking marked to expire by `now`
/// (GD-14). Oldest first, at most `limit`.
pub async fn due_for_erasure(
    db: &Db,
    tenant: TenantId,
    cutoff: i64,
    phone_cutoff: i64,
    now: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    on_read!(db, pool => Ok(sqlx::query_scalar::<_, i64>(
        "SELECT id FROM bookings WHERE tenant_id = $1 AND erased_at IS NULL \
         AND (slot_start < $2 OR (source = 'phone' AND slot_start < $3) OR personal_data_expires_at <= $4) \
         ORDER BY slot_start, id LIMIT $5",
    )
    .bind(tenant.0)
    .bind(cutoff)
    .bind(phone_cutoff)
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}
