//! Bookings as staff see them: the list in Relay pages with each booking's history, and
//! the availability of the staff quota.

use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, Json, Result, SimpleObject, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use okienko_app::records::{self, StaffBookingRow};
use okienko_domain::booking::Quota;
use okienko_domain::calendar::to_local;
use okienko_domain::DomainError;
use serde_json::Value;

use super::access::{gql, ts};
use crate::ctx::app;
use crate::gql_errors::OrGql;
use crate::public::types::BookingStatus;
use okienko_app::booking::{self};
use okienko_app::catalog::TenantCtx;
use okienko_app::staff_ops::decisions;

// ---------------------------------------------------------------------------------------------
// Bookings as staff see them

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum BookingQuota {
    /// Booked online by the client.
    Online,
    /// Booked by staff (phone bookings), on the staff seats of the slot (P-3).
    Staff,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum VisitOutcome {
    /// The client came and was served.
    Attended,
    /// The client did not come (OP-14: may block online booking for a period).
    NoShow,
    /// The clerk refused service, e.g. vehicle or owner data differ from the booking (ZG-14).
    Refused,
}

impl From<VisitOutcome> for decisions::Outcome {
    fn from(o: VisitOutcome) -> Self {
        match o {
            VisitOutcome::Attended => decisions::Outcome::Attended,
            VisitOutcome::NoShow => decisions::Outcome::NoShow,
            VisitOutcome::Refused => decisions::Outcome::Refused,
        }
    }
}

impl From<decisions::Outcome> for VisitOutcome {
    fn from(o: decisions::Outcome) -> Self {
        match o {
            decisions::Outcome::Attended => VisitOutcome::Attended,
            decisions::Outcome::NoShow => VisitOutcome::NoShow,
            decisions::Outcome::Refused => VisitOutcome::Refused,
        }
    }
}

/// The service a booking is for.
#[derive(SimpleObject)]
pub struct BookedService {
    id: ID,
    key: String,
    name: String,
    letter: Option<String>,
    office_id: ID,
    office: String,
    desk: Option<String>,
}

/// One entry of a booking's history.
#[derive(SimpleObject)]
pub struct BookingEvent {
    /// `created`, `confirmed`, `cancelled`, `expired`, `rejected`, `rescheduled`,
    /// `client_updated`, `outcome_recorded`, `erased`.
    kind: String,
    /// `client`, `system`, or the staff member.
    actor: String,
    at: DateTime<Utc>,
    /// Details (never personal data), e.g. the rejection's reason.
    detail: Option<Json<Value>>,
}

/// A booking with everything staff may see of it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct StaffBooking {
    id: ID,
    /// The reservation number read out on the phone and typed at a kiosk.
    code: String,
    status: BookingStatus,
    quota: BookingQuota,
    /// `online`, `resident_card` or `phone`.
    source: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// Local date and time in Europe/Warsaw.
    local_date: NaiveDate,
    local_time: String,
    client_name: Option<String>,
    client_email: Option<String>,
    client_phone: Option<String>,
    /// The service's form fields as given.
    fields: Json<Value>,
    /// The terms and consents accepted, with their versions (P-4).
    terms_version: String,
    consents: Json<Value>,
    accepted_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    /// The staff member who made a phone booking.
    created_by: Option<String>,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    /// Why it ended: `client`, `staff`, the rejection's reason…
    cancel_reason: Option<String>,
    outcome: Option<VisitOutcome>,
    outcome_note: Option<String>,
    outcome_at: Option<DateTime<Utc>>,
    outcome_by: Option<String>,
    /// When the personal data are erased at the latest (GD-14).
    personal_data_expires_at: Option<DateTime<Utc>>,
    /// When the personal data were erased.
    erased_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    booking_id: i64,
    #[graphql(skip)]
    service_id: i64,
    #[graphql(skip)]
    tenant: Arc<TenantCtx>,
}

impl StaffBooking {
    pub fn from_row(tenant: Arc<TenantCtx>, s: &StaffBookingRow) -> StaffBooking {
        let b = &s.booking;
        let local = to_local(ts(b.slot_start));
        let json = |t: &str| Json(serde_json::from_str(t).unwrap_or(Value::Null));
        StaffBooking {
            id: ID(b.id.to_string()),
            code: b.code.clone(),
            status: booking::status_of(b).into(),
            quota: if b.quota == Quota::Staff.as_str() {
                BookingQuota::Staff
            } else {
                BookingQuota::Online
            },
            source: b.source.clone(),
            start: ts(b.slot_start),
            end: ts(b.slot_end),
            local_date: local.date(),
            local_time: local.format("%H:%M").to_string(),
            client_name: b.client_name.clone(),
            client_email: b.client_email.clone(),
            client_phone: b.client_phone.clone(),
            fields: json(&b.fields_json),
            terms_version: b.terms_version.clone(),
            consents: json(&b.consents_json),
            accepted_at: ts(b.accepted_at),
            created_at: ts(b.created_at),
            created_by: s.created_by.clone(),
            confirmed_at: b.confirmed_at.map(ts),
            cancelled_at: b.cancelled_at.map(ts),
            cancel_reason: b.cancel_reason.clone(),
            outcome: s
                .outcome
                .as_deref()
                .and_then(decisions::Outcome::parse)
                .map(Into::into),
            outcome_note: s.outcome_note.clone(),
            outcome_at: s.outcome_at.map(ts),
            outcome_by: s.outcome_by.clone(),
            personal_data_expires_at: s.personal_data_expires_at.map(ts),
            erased_at: s.erased_at.map(ts),
            booking_id: b.id,
            service_id: b.service_id,
            tenant,
        }
    }
}

#[ComplexObject]
impl StaffBooking {
    async fn service(&self) -> Option<BookedService> {
        let s = self.tenant.service(self.service_id)?;
        let office = self.tenant.office(s.office_id);
        Some(BookedService {
            id: ID(s.id.to_string()),
            key: s.cfg.key.clone(),
            name: s.cfg.name.clone(),
            letter: s.cfg.letter.clone(),
            office_id: ID(s.office_id.to_string()),
            office: office.map(|o| o.cfg.name.clone()).unwrap_or_default(),
            desk: s.cfg.desk.clone(),
        })
    }

    /// What happened to the booking, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<BookingEvent>> {
        Ok(
            records::booking_events(app(ctx), self.tenant.id, self.booking_id)
                .await
                .gql()?
                .into_iter()
                .map(|e| BookingEvent {
                    kind: e.kind,
                    actor: e.actor,
                    at: ts(e.at),
                    detail: e
                        .detail_json
                        .as_deref()
                        .and_then(|d| serde_json::from_str(d).ok())
                        .map(Json),
                })
                .collect(),
        )
    }
}

/// Fields of a booking list beside its page.
#[derive(SimpleObject)]
pub struct BookingListInfo {
    /// How many bookings match the filters (all pages).
    pub(crate) total_count: i64,
}

pub type BookingConnection = Connection<String, StaffBooking, BookingListInfo>;

/// The largest page of a staff list.
pub const MAX_PAGE: i32 = 100;
pub(crate) const DEFAULT_PAGE: i32 = 50;

pub(crate) fn encode_cursor(parts: &[i64]) -> String {
    let text: Vec<String> = parts.iter().map(i64::to_string).collect();
    URL_SAFE_NO_PAD.encode(text.join("."))
}

pub(crate) fn decode_cursor<const N: usize>(field: &str, s: &str) -> Result<[i64; N]> {
    let bad = || gql(DomainError::invalid(field, "niepoprawny kursor"));
    let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let nums: Vec<i64> = text
        .split('.')
        .map(|p| p.parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    nums.try_into().map_err(|_| bad())
}

/// A page request: `first`/`after` forward, `last`/`before` backward.
pub(crate) struct PageArgs {
    pub(crate) limit: i64,
    pub(crate) backward: bool,
}

pub(crate) fn page_args(first: Option<i32>, last: Option<i32>) -> Result<PageArgs> {
    let check = |field: &str, n: i32| {
        if (1..=MAX_PAGE).contains(&n) {
            Ok(i64::from(n))
        } else {
            Err(gql(DomainError::invalid(
                field,
                format!("od 1 do {MAX_PAGE}"),
            )))
        }
    };
    match (first, last) {
        (Some(_), Some(_)) => Err(gql(DomainError::invalid(
            "last",
            "podaj first albo last, nie oba",
        ))),
        (Some(n), None) => Ok(PageArgs {
            limit: check("first", n)?,
            backward: false,
        }),
        (None, Some(n)) => Ok(PageArgs {
            limit: check("last", n)?,
            backward: true,
        }),
        (None, None) => Ok(PageArgs {
            limit: i64::from(DEFAULT_PAGE),
            backward: false,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Availability for staff

#[derive(SimpleObject)]
pub struct StaffAvailabilityDay {
    pub(crate) date: NaiveDate,
    /// Why there are no slots on this day.
    pub(crate) closed_reason: Option<String>,
    pub(crate) slots: Vec<StaffSlot>,
}

#[derive(SimpleObject)]
pub struct StaffSlot {
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// Local time in Europe/Warsaw, "HH:MM".
    pub(crate) time: String,
    /// Seats left for staff (phone) bookings.
    pub(crate) remaining: i64,
}
