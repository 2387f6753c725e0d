//! The client's rights over their personal data within one tenant (P-5): what is held about
//! them (export), correction, and erasure — on request or by the tenant's retention schedule.
//!
//! Erasure nulls the personal fields of a booking (name, e-mail, phone, form fields, the
//! desk's note, the client-chosen idempotency key and the hash of the request), scrubs the
//! messages sent about it (an unsent one is never sent) and deletes its identity hashes. The
//! booking row keeps its status, service and slot, so anonymous counts per day and service
//! survive; its history gains an `erased` event with the reason.

use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::audit::{insert_audit, NewAudit};
use crate::bookings::BookingRow;
use crate::events::{insert_event, NewEvent};
use crate::outbox::OutboxRow;
use crate::schema::{booking_identities, bookings, outbox};
use crate::staff_bookings::StaffBookingRow;
use crate::{in_tx, on_db, on_read, AnyConn as _, Db, Result, Scope, TenantId};

/// SQL functions the DSL does not name.
mod sql {
    use diesel::sql_types::{Nullable, Text};

    #[diesel::declare_sql_function]
    extern "SQL" {
        /// SQL's `LOWER` (both backends): e-mail addresses are compared without case.
        fn lower(x: Nullable<Text>) -> Nullable<Text>;
    }
}
pub(crate) use sql::lower;

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
    let email = m.email.as_deref().into_sql::<Nullable<Text>>();
    let phone = m.phone.as_deref().into_sql::<Nullable<Text>>();
    let booking = m
        .booking_id
        .into_sql::<Nullable<diesel::sql_types::BigInt>>();
    let of_the_client = email
        .is_not_null()
        .and(lower(bookings::client_email).eq(lower(email)))
        .or(phone.is_not_null().and(bookings::client_phone.eq(phone)))
        .or(booking
            .is_not_null()
            .and(bookings::id.nullable().eq(booking)));
    on_read!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0))
        .filter(of_the_client)
        .order((bookings::slot_start, bookings::id))
        .limit(MAX_CLIENT_BOOKINGS)
        .select(StaffBookingRow::as_select())
        .load(c)
        .await?))
}

/// The condition of an outbox row addressed to this e-mail (without case) or phone.
macro_rules! addressed_to {
    ($email:expr, $phone:expr) => {{
        let email = $email.into_sql::<Nullable<Text>>();
        let phone = $phone.into_sql::<Nullable<Text>>();
        email
            .is_not_null()
            .and(lower(outbox::recipient.nullable()).eq(lower(email)))
            .or(phone
                .is_not_null()
                .and(outbox::recipient.nullable().eq(phone)))
    }};
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
    let mut out: Vec<OutboxRow> = on_read!(db, c => {
        let mut out: Vec<OutboxRow> = outbox::table
            .filter(outbox::tenant_id.eq(tenant.0))
            .filter(addressed_to!(email, phone))
            .order(outbox::id)
            .select(OutboxRow::as_select())
            .load(c)
            .await?;
        for id in booking_ids {
            let rows: Vec<OutboxRow> = outbox::table
                .filter(outbox::tenant_id.eq(tenant.0))
                .filter(outbox::booking_id.eq(id))
                .order(outbox::id)
                .select(OutboxRow::as_select())
                .load(c)
                .await?;
            out.extend(rows);
        }
        out
    });
    out.sort_by_key(|r| r.id);
    out.dedup_by_key(|r| r.id);
    Ok(out)
}

/// The changes that scrub an outbox row: no recipient, no content, no error; a pending one
/// becomes `erased` (never sent), a sent or failed one keeps its status.
macro_rules! scrubbed {
    () => {
        (
            outbox::recipient.eq(""),
            outbox::payload_json.eq("{}"),
            outbox::last_error.eq(None::<String>),
            outbox::status.eq(
                case_when(outbox::status.eq("pending"), "erased".into_sql::<Text>())
                    .otherwise(outbox::status),
            ),
        )
    };
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
    // A value not given (None) leaves its column as it is.
    let values = (
        name.map(|v| bookings::client_name.eq(v)),
        email.map(|v| bookings::client_email.eq(v)),
        phone.map(|v| bookings::client_phone.eq(v)),
        bookings::updated_at.eq(now),
    );
    in_tx!(db, c => {
        let mut out = Vec::new();
        for id in ids {
            let row: Option<BookingRow> = diesel::update(
                bookings::table
                    .filter(bookings::tenant_id.eq(tenant.0))
                    .filter(bookings::id.eq(id))
                    .filter(bookings::erased_at.is_null()),
            )
            .set(values)
            .returning(BookingRow::as_returning())
            .get_result(c)
            .await
            .optional()?;
            if let Some(row) = row {
                insert_event(c.conn(), tenant, row.id, event, now).await?;
                out.push(row);
            }
        }
        insert_audit(c.conn(), Scope::Tenant(tenant), audit, now).await?;
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
    in_tx!(db, c => {
        let mut erased = Vec::new();
        for id in ids {
            let n = diesel::update(
                bookings::table
                    .filter(bookings::tenant_id.eq(tenant.0))
                    .filter(bookings::id.eq(id))
                    .filter(bookings::erased_at.is_null()),
            )
            .set((
                bookings::client_name.eq(None::<String>),
                bookings::client_email.eq(None::<String>),
                bookings::client_phone.eq(None::<String>),
                bookings::fields_json.eq("{}"),
                bookings::outcome_note.eq(None::<String>),
                bookings::idempotency_key.eq(None::<String>),
                bookings::request_hash.eq(None::<String>),
                bookings::erased_at.eq(now),
                bookings::updated_at.eq(now),
            ))
            .execute(c)
            .await?;
            if n != 1 {
                continue;
            }
            diesel::update(
                outbox::table
                    .filter(outbox::tenant_id.eq(tenant.0))
                    .filter(outbox::booking_id.eq(id)),
            )
            .set(scrubbed!())
            .execute(c)
            .await?;
            diesel::delete(
                booking_identities::table
                    .filter(booking_identities::tenant_id.eq(tenant.0))
                    .filter(booking_identities::booking_id.eq(id)),
            )
            .execute(c)
            .await?;
            insert_event(c.conn(), tenant, *id, event, now).await?;
            erased.push(*id);
        }
        if let Some(a) = audit {
            insert_audit(c.conn(), Scope::Tenant(tenant), a, now).await?;
        }
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
    let n = on_db!(db, c => diesel::update(
        outbox::table
            .filter(outbox::tenant_id.eq(tenant.0))
            .filter(outbox::recipient.ne(""))
            .filter(addressed_to!(email, phone)),
    )
    .set(scrubbed!())
    .execute(c)
    .await)?;
    Ok(n as u64)
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
    let due = bookings::slot_start
        .lt(cutoff)
        .nullable()
        .or(bookings::source
            .eq("phone")
            .and(bookings::slot_start.lt(phone_cutoff))
            .nullable())
        .or(bookings::personal_data_expires_at.le(now));
    on_read!(db, c => Ok(bookings::table
        .filter(bookings::tenant_id.eq(tenant.0))
        .filter(bookings::erased_at.is_null())
        .filter(due)
        .order((bookings::slot_start, bookings::id))
        .limit(limit)
        .select(bookings::id)
        .load(c)
        .await?))
}
