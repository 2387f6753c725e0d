//! The staff operations' reads, merged into the admin API's `Query`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Json, Object, Result, ID};
use chrono::NaiveDate;
use okienko_app::records::{self, BookingFilter};
use okienko_domain::booking::{normalise_code, Quota};
use okienko_domain::calendar::to_local;
use okienko_domain::DomainError;
use serde_json::Value;

use super::access::{gql, parse_id, staff};
use super::bookings::{
    decode_cursor, encode_cursor, page_args, BookingConnection, BookingListInfo,
    StaffAvailabilityDay, StaffBooking, StaffSlot,
};
use super::complaints::{Complaint, ComplaintConnection, ComplaintStatus};
use super::inputs::ClientSelectorInput;
use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use crate::public::types::BookingStatus;
use okienko_app::auth::Permission;
use okienko_app::booking::{self};
use okienko_app::staff_ops::{complaints, midnight, personal_data, phone};

// ---------------------------------------------------------------------------------------------
// Root: queries

/// The staff queries, merged into the admin API's `Query`.
#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// Slots and the seats left in the staff quota (phone bookings), per day of `[from, to]`
    /// (at most 62 days).
    async fn staff_availability(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StaffAvailabilityDay>> {
        staff(ctx, Permission::BookForClients)?;
        let t = tenant(ctx);
        let days = booking::availability_of(app(ctx), &t, &service_id, from, to, Quota::Staff)
            .await
            .gql()?;
        Ok(days
            .into_iter()
            .map(|d| StaffAvailabilityDay {
                date: d.date,
                closed_reason: d.closed,
                slots: d
                    .slots
                    .into_iter()
                    .map(|s| StaffSlot {
                        start: s.start,
                        end: s.end,
                        time: to_local(s.start).format("%H:%M").to_string(),
                        remaining: s.remaining,
                    })
                    .collect(),
            })
            .collect())
    }

    /// The city's bookings in slot order, by day (Europe/Warsaw), office, service and status,
    /// as a Relay connection (`first`/`after` forward, `last`/`before` backward; 50 by
    /// default, at most 100).
    #[allow(clippy::too_many_arguments)]
    async fn bookings(
        &self,
        ctx: &Context<'_>,
        date: Option<NaiveDate>,
        office_id: Option<ID>,
        service_id: Option<ID>,
        status: Option<BookingStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<BookingConnection> {
        let s = staff(ctx, Permission::ReadBookings)?;
        let a = app(ctx);
        let t = tenant(ctx);
        let page = page_args(first, last)?;
        let after = match after {
            Some(c) => Some(decode_cursor::<2>("after", &c)?),
            None => None,
        };
        let before = match before {
            Some(c) => Some(decode_cursor::<2>("before", &c)?),
            None => None,
        };
        let filter = BookingFilter {
            from: date.map(midnight),
            to: date.and_then(|d| d.succ_opt()).map(midnight),
            office_id: match &office_id {
                Some(id) => Some(parse_id("officeId", id)?),
                None => None,
            },
            service_id: match &service_id {
                Some(id) => Some(parse_id("serviceId", id)?),
                None => None,
            },
            status: status.map(|st| {
                okienko_domain::booking::BookingStatus::from(st)
                    .as_str()
                    .to_string()
            }),
        };
        let mut rows = records::bookings_page(
            a,
            s.tenant,
            &filter,
            after.map(|k| (k[0], k[1])),
            before.map(|k| (k[0], k[1])),
            page.limit + 1,
            page.backward,
        )
        .await
        .gql()?;
        let more = rows.len() as i64 > page.limit;
        if more {
            if page.backward {
                rows.remove(0);
            } else {
                rows.truncate(page.limit as usize);
            }
        }
        let (has_previous, has_next) = if page.backward {
            (more, before.is_some())
        } else {
            (after.is_some(), more)
        };
        let total_count = records::count_bookings(a, s.tenant, &filter).await.gql()?;
        let mut conn = Connection::with_additional_fields(
            has_previous,
            has_next,
            BookingListInfo { total_count },
        );
        conn.edges = rows
            .iter()
            .map(|r| {
                Edge::new(
                    encode_cursor(&[r.booking.slot_start, r.booking.id]),
                    StaffBooking::from_row(t.clone(), r),
                )
            })
            .collect();
        Ok(conn)
    }

    /// One booking with its details and history.
    async fn booking(&self, ctx: &Context<'_>, id: ID) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::ReadBookings)?;
        let id = parse_id("id", &id)?;
        let row = phone::fetch(app(ctx), s.tenant, id).await.gql()?;
        Ok(StaffBooking::from_row(tenant(ctx), &row))
    }

    /// One booking by the code the client reads out or shows.
    async fn booking_by_code(&self, ctx: &Context<'_>, code: String) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::ReadBookings)?;
        let code = normalise_code(&code);
        if code.is_empty() || code.len() > 16 {
            return Err(gql(DomainError::NotFound));
        }
        let row = records::staff_booking_by_code(app(ctx), s.tenant, &code)
            .await
            .gql()?
            .ok_or_else(|| gql(DomainError::NotFound))?;
        Ok(StaffBooking::from_row(tenant(ctx), &row))
    }

    /// Complaints, newest first, optionally of one status (Relay connection, forward only).
    async fn complaints(
        &self,
        ctx: &Context<'_>,
        status: Option<ComplaintStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ComplaintConnection> {
        let s = staff(ctx, Permission::ReadComplaints)?;
        let a = app(ctx);
        let page = page_args(first, None)?;
        let before_id = match after {
            Some(c) => Some(decode_cursor::<1>("after", &c)?[0]),
            None => None,
        };
        let mut rows = records::complaints_page(
            a,
            s.tenant,
            status.map(ComplaintStatus::as_str),
            before_id,
            page.limit + 1,
        )
        .await
        .gql()?;
        let more = rows.len() as i64 > page.limit;
        rows.truncate(page.limit as usize);
        let now = a.clock.now().timestamp();
        let mut conn = Connection::new(before_id.is_some(), more);
        conn.edges = rows
            .iter()
            .map(|c| Edge::new(encode_cursor(&[c.id]), Complaint::from_row(c, now)))
            .collect();
        Ok(conn)
    }

    /// Open complaints past their 14-day deadline, the most overdue first (CI-23).
    async fn overdue_complaints(&self, ctx: &Context<'_>) -> Result<Vec<Complaint>> {
        let s = staff(ctx, Permission::ReadComplaints)?;
        let a = app(ctx);
        let now = a.clock.now().timestamp();
        Ok(records::overdue_complaints(a, s.tenant, now)
            .await
            .gql()?
            .iter()
            .map(|c| Complaint::from_row(c, now))
            .collect())
    }

    async fn complaint(&self, ctx: &Context<'_>, id: ID) -> Result<Complaint> {
        staff(ctx, Permission::ReadComplaints)?;
        let id = parse_id("id", &id)?;
        let a = app(ctx);
        let c = complaints::by_id(a, &tenant(ctx), id).await.gql()?;
        Ok(Complaint::from_row(&c, a.clock.now().timestamp()))
    }

    /// Everything the city holds about a client, as JSON (P-5): bookings with their fields,
    /// consents and history, the messages sent to them, their complaints. Audited.
    async fn export_client_data(
        &self,
        ctx: &Context<'_>,
        client: ClientSelectorInput,
    ) -> Result<Json<Value>> {
        let s = staff(ctx, Permission::ManagePersonalData)?;
        let sel = client.selector()?;
        Ok(Json(
            personal_data::export(app(ctx), &tenant(ctx), &s, &sel)
                .await
                .gql()?,
        ))
    }
}
