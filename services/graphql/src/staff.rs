//! Staff operations on bookings (issue 5, phase B), merged into the admin API
//! (`/t/{slug}/admin/graphql`): phone bookings on the staff quota, cancellation for a client,
//! rejection, the day's bookings in Relay pages with each booking's history, the visit's
//! outcome, the client's personal-data rights, complaints and the retention schedule; and
//! `fileComplaint` on the public API.
//!
//! Who may do what (`auth::Role::allows`):
//!
//! | operation | admin | call centre | clerk |
//! | --- | --- | --- | --- |
//! | `createPhoneBooking`, `cancelBookingForClient`, `staffAvailability` | yes | yes | no |
//! | `bookings`, `booking`, `bookingByCode` | yes | yes | yes |
//! | `recordVisitOutcome` | yes | no | yes |
//! | `rejectBooking` | yes | no | no |
//! | `exportClientData`, `correctClientData`, `eraseClientData` | yes | no | no |
//! | `complaints`, `overdueComplaints`, `complaint`, `registerComplaint` | yes | yes | no |
//! | `answerComplaint`, `closeComplaint`, `setRetention` | yes | no | no |
//!
//! Kiosks, displays and API keys have none of these. Every change writes an audit row.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Json, Object, Result, SimpleObject, ID,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use okienko_domain::booking::{normalise_code, Quota};
use okienko_domain::calendar::to_local;
use okienko_domain::config::RetentionRules;
use okienko_domain::DomainError;
use okienko_store::{self as store, BookingFilter, ComplaintRow, StaffBookingRow};
use serde_json::Value;

use crate::ctx::{app, tenant};
use crate::gql_errors::{to_gql, OrGql};
use crate::public::BookingStatus;
use okienko_app::auth::{Auth, Permission, StaffRef};
use okienko_app::booking::{self, ClientData};
use okienko_app::catalog::TenantCtx;
use okienko_app::config_edit;
use okienko_app::error::ApiError;
use okienko_app::staff_ops::{complaints, decisions, midnight, personal_data, phone, staff_actor};

// ---------------------------------------------------------------------------------------------
// Shared helpers

fn gql(e: DomainError) -> async_graphql::Error {
    to_gql(&e)
}

/// The caller, if it is a staff member of this tenant whose role allows `p`. Checked before
/// anything else, so a caller without access learns nothing from the arguments.
fn staff(ctx: &Context<'_>, p: Permission) -> Result<StaffRef> {
    let t = tenant(ctx);
    ctx.data_unchecked::<Auth>()
        .principal()
        .and_then(|pr| pr.staff_allowed(t.id, p))
        .map_err(gql)
}

fn parse_id(field: &str, id: &ID) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| gql(DomainError::invalid(field, "niepoprawny identyfikator")))
}

fn ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

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
            store::booking_events(&app(ctx).db, self.tenant.id, self.booking_id)
                .await
                .map_err(ApiError::from)
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
    total_count: i64,
}

pub type BookingConnection = Connection<String, StaffBooking, BookingListInfo>;

/// The largest page of a staff list.
pub const MAX_PAGE: i32 = 100;
const DEFAULT_PAGE: i32 = 50;

fn encode_cursor(parts: &[i64]) -> String {
    let text: Vec<String> = parts.iter().map(i64::to_string).collect();
    URL_SAFE_NO_PAD.encode(text.join("."))
}

fn decode_cursor<const N: usize>(field: &str, s: &str) -> Result<[i64; N]> {
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
struct PageArgs {
    limit: i64,
    backward: bool,
}

fn page_args(first: Option<i32>, last: Option<i32>) -> Result<PageArgs> {
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
    date: NaiveDate,
    /// Why there are no slots on this day.
    closed_reason: Option<String>,
    slots: Vec<StaffSlot>,
}

#[derive(SimpleObject)]
pub struct StaffSlot {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// Local time in Europe/Warsaw, "HH:MM".
    time: String,
    /// Seats left for staff (phone) bookings.
    remaining: i64,
}

// ---------------------------------------------------------------------------------------------
// Inputs and payloads

#[derive(InputObject)]
pub struct PhoneClientInput {
    /// Required (GD-2).
    name: String,
    /// Optional; with it the confirmation is e-mailed (GD-4).
    email: Option<String>,
    phone: Option<String>,
}

#[derive(InputObject)]
pub struct PhoneFieldInput {
    key: String,
    value: String,
}

#[derive(InputObject)]
pub struct PhoneBookingInput {
    service_id: ID,
    start: DateTime<Utc>,
    client: PhoneClientInput,
    #[graphql(default)]
    fields: Vec<PhoneFieldInput>,
    /// Keys of the consents the caller gave on the phone (recorded with their versions, P-4).
    #[graphql(default)]
    consents: Vec<String>,
    /// A retried request with the same key returns the first booking.
    idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct PhoneBookingPayload {
    /// The reservation number to read out to the caller (GD-4, CI-22).
    code: String,
    booking: StaffBooking,
    /// True when the idempotency key had been used and this is the first request's booking.
    replayed: bool,
}

/// Whose personal data: any of an e-mail address, a phone number or one booking.
#[derive(InputObject)]
pub struct ClientSelectorInput {
    email: Option<String>,
    phone: Option<String>,
    booking_id: Option<ID>,
}

impl ClientSelectorInput {
    fn selector(&self) -> Result<personal_data::Selector> {
        Ok(personal_data::Selector {
            email: self.email.clone(),
            phone: self.phone.clone(),
            booking_id: match &self.booking_id {
                Some(id) => Some(parse_id("client.bookingId", id)?),
                None => None,
            },
        })
    }
}

#[derive(SimpleObject)]
pub struct ErasureReport {
    /// Bookings whose personal data were erased now.
    bookings: i32,
    complaints: i32,
    /// Messages scrubbed besides those of the bookings.
    messages: i32,
}

#[derive(SimpleObject)]
pub struct RetentionSchedule {
    /// Days after the visit day that personal data are kept (P-5).
    days_after_visit: u32,
    /// For phone bookings, when shorter (GD-14: 0).
    phone_days_after_visit: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Complaints

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ComplaintStatus {
    Open,
    Answered,
    Closed,
}

impl ComplaintStatus {
    fn as_str(self) -> &'static str {
        match self {
            ComplaintStatus::Open => "open",
            ComplaintStatus::Answered => "answered",
            ComplaintStatus::Closed => "closed",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ComplaintChannel {
    /// Through the public API.
    Online,
    Letter,
    Email,
    Phone,
    InPerson,
}

impl From<ComplaintChannel> for complaints::Channel {
    fn from(c: ComplaintChannel) -> Self {
        match c {
            ComplaintChannel::Online => complaints::Channel::Online,
            ComplaintChannel::Letter => complaints::Channel::Letter,
            ComplaintChannel::Email => complaints::Channel::Email,
            ComplaintChannel::Phone => complaints::Channel::Phone,
            ComplaintChannel::InPerson => complaints::Channel::InPerson,
        }
    }
}

impl From<complaints::Channel> for ComplaintChannel {
    fn from(c: complaints::Channel) -> Self {
        match c {
            complaints::Channel::Online => ComplaintChannel::Online,
            complaints::Channel::Letter => ComplaintChannel::Letter,
            complaints::Channel::Email => ComplaintChannel::Email,
            complaints::Channel::Phone => ComplaintChannel::Phone,
            complaints::Channel::InPerson => ComplaintChannel::InPerson,
        }
    }
}

/// A complaint (reklamacja, CI-23).
#[derive(SimpleObject)]
pub struct Complaint {
    id: ID,
    number: i64,
    /// How the client refers to it, e.g. "RK-12".
    reference: String,
    channel: ComplaintChannel,
    status: ComplaintStatus,
    text: Option<String>,
    contact_email: Option<String>,
    /// The booking code as given.
    booking_code: Option<String>,
    /// The booking with that code, when there is one.
    booking_id: Option<ID>,
    filed_at: DateTime<Utc>,
    /// The staff member who registered it; null when filed online.
    filed_by: Option<String>,
    /// The last day for the answer: 14 calendar days after filing.
    deadline: NaiveDate,
    /// Open past its deadline.
    overdue: bool,
    answer: Option<String>,
    answered_at: Option<DateTime<Utc>>,
    answered_by: Option<String>,
    closed_at: Option<DateTime<Utc>>,
    erased_at: Option<DateTime<Utc>>,
}

impl Complaint {
    fn from_row(c: &ComplaintRow, now: i64) -> Complaint {
        Complaint {
            id: ID(c.id.to_string()),
            number: c.number,
            reference: complaints::reference(c),
            channel: complaints::Channel::parse(&c.channel)
                .unwrap_or(complaints::Channel::Online)
                .into(),
            status: match c.status.as_str() {
                "answered" => ComplaintStatus::Answered,
                "closed" => ComplaintStatus::Closed,
                _ => ComplaintStatus::Open,
            },
            text: c.body.clone(),
            contact_email: c.contact_email.clone(),
            booking_code: c.booking_code.clone(),
            booking_id: c.booking_id.map(|id| ID(id.to_string())),
            filed_at: ts(c.filed_at),
            filed_by: c.filed_by.clone(),
            deadline: complaints::deadline_day(ts(c.filed_at)),
            overdue: complaints::is_overdue(c, now),
            answer: c.answer.clone(),
            answered_at: c.answered_at.map(ts),
            answered_by: c.answered_by.clone(),
            closed_at: c.closed_at.map(ts),
            erased_at: c.erased_at.map(ts),
        }
    }
}

pub type ComplaintConnection = Connection<String, Complaint>;

#[derive(InputObject)]
pub struct StaffComplaintInput {
    /// How it arrived (CI-23: by letter or e-mail).
    channel: ComplaintChannel,
    text: String,
    /// Where the answer goes.
    contact_email: Option<String>,
    booking_code: Option<String>,
}

/// A complaint filed through the public API.
#[derive(InputObject)]
pub struct ComplaintInput {
    /// What the complaint is about (10–5000 characters).
    text: String,
    /// Where the acknowledgement and the answer go.
    contact_email: Option<String>,
    /// The booking it concerns, if any.
    booking_code: Option<String>,
}

#[derive(SimpleObject)]
pub struct ComplaintReceipt {
    /// Quote it in any further correspondence, e.g. "RK-12".
    reference: String,
    filed_at: DateTime<Utc>,
    /// The answer comes at the latest on this day (14 calendar days, CI-23).
    deadline: NaiveDate,
}

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
        let mut rows = store::bookings_page(
            &a.db,
            s.tenant,
            &filter,
            after.map(|k| (k[0], k[1])),
            before.map(|k| (k[0], k[1])),
            page.limit + 1,
            page.backward,
        )
        .await
        .map_err(ApiError::from)
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
        let total_count = store::count_bookings(&a.db, s.tenant, &filter)
            .await
            .map_err(ApiError::from)
            .gql()?;
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
        let row = store::staff_booking_by_code(&app(ctx).db, s.tenant, &code)
            .await
            .map_err(ApiError::from)
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
        let mut rows = store::complaints_page(
            &a.db,
            s.tenant,
            status.map(ComplaintStatus::as_str),
            before_id,
            page.limit + 1,
        )
        .await
        .map_err(ApiError::from)
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
        Ok(store::overdue_complaints(&a.db, s.tenant, now)
            .await
            .map_err(ApiError::from)
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

// ---------------------------------------------------------------------------------------------
// Root: mutations

/// The staff mutations, merged into the admin API's `Mutation`.
#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Books a visit for a caller on the staff quota (ZG-10, GD-2, OP-3, CI-22): confirmed at
    /// once; read the returned `code` out; with an e-mail the confirmation with number, desk,
    /// date and time is sent (GD-4).
    async fn create_phone_booking(
        &self,
        ctx: &Context<'_>,
        input: PhoneBookingInput,
    ) -> Result<PhoneBookingPayload> {
        let s = staff(ctx, Permission::BookForClients)?;
        let t = tenant(ctx);
        let req = phone::PhoneRequest {
            service_id: input.service_id.to_string(),
            start: input.start,
            client: ClientData {
                name: Some(input.client.name),
                email: input.client.email,
                phone: input.client.phone,
            },
            fields: input.fields.into_iter().map(|f| (f.key, f.value)).collect(),
            consents: input.consents,
            idempotency_key: input.idempotency_key,
        };
        let made = phone::create(app(ctx), &t, &s, req).await.gql()?;
        Ok(PhoneBookingPayload {
            code: made.booking.booking.code.clone(),
            booking: StaffBooking::from_row(t, &made.booking),
            replayed: made.replayed,
        })
    }

    /// Cancels a booking for its client (e.g. on the phone, GD-13), under the city's
    /// cancellation cutoff; the client is e-mailed.
    async fn cancel_booking_for_client(&self, ctx: &Context<'_>, id: ID) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::BookForClients)?;
        let id = parse_id("id", &id)?;
        let t = tenant(ctx);
        let row = phone::cancel_for_client(app(ctx), &t, &s, id).await.gql()?;
        Ok(StaffBooking::from_row(t, &row))
    }

    /// Rejects a booking with a reason the client is e-mailed (ZG-13: fictitious vehicle data,
    /// the wrong service); the seat is free again at once.
    async fn reject_booking(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::RejectBookings)?;
        let id = parse_id("id", &id)?;
        let t = tenant(ctx);
        let row = decisions::reject(app(ctx), &t, &s, id, &reason)
            .await
            .gql()?;
        Ok(StaffBooking::from_row(t, &row))
    }

    /// Records how a confirmed visit went (ZG-14: a refusal needs a note); a no-show counts
    /// against the client (OP-14).
    async fn record_visit_outcome(
        &self,
        ctx: &Context<'_>,
        id: ID,
        outcome: VisitOutcome,
        note: Option<String>,
    ) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::DeskWork)?;
        let id = parse_id("id", &id)?;
        let t = tenant(ctx);
        let row = decisions::record_outcome(app(ctx), &t, &s, id, outcome.into(), note.as_deref())
            .await
            .gql()?;
        Ok(StaffBooking::from_row(t, &row))
    }

    /// Corrects a client's name, e-mail or phone on all their bookings not yet erased (P-5).
    async fn correct_client_data(
        &self,
        ctx: &Context<'_>,
        client: ClientSelectorInput,
        name: Option<String>,
        email: Option<String>,
        phone: Option<String>,
    ) -> Result<Vec<StaffBooking>> {
        let s = staff(ctx, Permission::ManagePersonalData)?;
        let sel = client.selector()?;
        let t = tenant(ctx);
        let rows =
            personal_data::correct(app(ctx), &t, &s, &sel, ClientData { name, email, phone })
                .await
                .gql()?;
        Ok(rows
            .iter()
            .map(|r| StaffBooking::from_row(t.clone(), r))
            .collect())
    }

    /// Erases a client's personal data on their request, with the reason (P-5). Bookings keep
    /// status, service and slot; an active booking must be cancelled or rejected first.
    async fn erase_client_data(
        &self,
        ctx: &Context<'_>,
        client: ClientSelectorInput,
        reason: String,
    ) -> Result<ErasureReport> {
        let s = staff(ctx, Permission::ManagePersonalData)?;
        let sel = client.selector()?;
        let e = personal_data::erase(app(ctx), &tenant(ctx), &s, &sel, &reason)
            .await
            .gql()?;
        let n = |x: u64| i32::try_from(x).unwrap_or(i32::MAX);
        Ok(ErasureReport {
            bookings: n(e.bookings as u64),
            complaints: n(e.complaints as u64),
            messages: n(e.messages),
        })
    }

    /// Registers a complaint received by letter, e-mail, phone or in person (CI-23).
    async fn register_complaint(
        &self,
        ctx: &Context<'_>,
        input: StaffComplaintInput,
    ) -> Result<Complaint> {
        let s = staff(ctx, Permission::FileComplaints)?;
        let a = app(ctx);
        let c = complaints::file(
            a,
            &tenant(ctx),
            Some(&s),
            input.channel.into(),
            complaints::Filing {
                text: input.text,
                contact_email: input.contact_email,
                booking_code: input.booking_code,
            },
        )
        .await
        .gql()?;
        Ok(Complaint::from_row(&c, a.clock.now().timestamp()))
    }

    /// Answers an open complaint; the answer is e-mailed to its contact address.
    async fn answer_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        answer: String,
    ) -> Result<Complaint> {
        let s = staff(ctx, Permission::AnswerComplaints)?;
        let id = parse_id("id", &id)?;
        let a = app(ctx);
        let c = complaints::answer(a, &tenant(ctx), &s, id, &answer)
            .await
            .gql()?;
        Ok(Complaint::from_row(&c, a.clock.now().timestamp()))
    }

    async fn close_complaint(&self, ctx: &Context<'_>, id: ID) -> Result<Complaint> {
        let s = staff(ctx, Permission::AnswerComplaints)?;
        let id = parse_id("id", &id)?;
        let a = app(ctx);
        let c = complaints::close(a, &tenant(ctx), &s, id).await.gql()?;
        Ok(Complaint::from_row(&c, a.clock.now().timestamp()))
    }

    /// Sets how long personal data are kept after the visit (P-5), and for phone bookings
    /// (GD-14: 0, until the visit day). Applied by the retention worker from now on.
    async fn set_retention(
        &self,
        ctx: &Context<'_>,
        days_after_visit: u32,
        phone_days_after_visit: Option<u32>,
    ) -> Result<RetentionSchedule> {
        let s = staff(ctx, Permission::EditConfig)?;
        let rules = RetentionRules {
            days_after_visit,
            phone_days_after_visit,
        };
        let cfg = config_edit::edit(
            app(ctx),
            s.tenant,
            &staff_actor(&s),
            "config.set_retention",
            "retention",
            move |c| {
                c.retention = rules;
                Ok(())
            },
        )
        .await
        .gql()?;
        Ok(RetentionSchedule {
            days_after_visit: cfg.retention.days_after_visit,
            phone_days_after_visit: cfg.retention.phone_days_after_visit,
        })
    }
}

/// `fileComplaint`, merged into the public API's `Mutation`.
#[derive(Default)]
pub struct PublicComplaints;

#[Object]
impl PublicComplaints {
    /// Files a complaint (reklamacja, CI-23); it is answered within 14 calendar days. With a
    /// contact e-mail the acknowledgement and the answer are sent there.
    async fn file_complaint(
        &self,
        ctx: &Context<'_>,
        input: ComplaintInput,
    ) -> Result<ComplaintReceipt> {
        let t = tenant(ctx);
        let c = complaints::file(
            app(ctx),
            &t,
            None,
            complaints::Channel::Online,
            complaints::Filing {
                text: input.text,
                contact_email: input.contact_email,
                booking_code: input.booking_code,
            },
        )
        .await
        .gql()?;
        Ok(ComplaintReceipt {
            reference: complaints::reference(&c),
            filed_at: ts(c.filed_at),
            deadline: complaints::deadline_day(ts(c.filed_at)),
        })
    }
}
