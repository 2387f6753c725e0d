//! The desks' API (`/t/{slug}/desk/graphql`): a staff session of the tenant (from `login` on
//! the admin API) whose role allows desk work (clerk, administrator). Calling (CI-7, CI-18 …
//! CI-20, DG-3), recalls (CI-8), serving, transfers, refusals (ZG-14), the day's admission list
//! (OP-9) and the queue's anonymous statistics (P-5). Devices get FORBIDDEN here.

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Enum, Object, Result, Schema, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use okienko_app::records::{self, TicketRow};
use okienko_domain::calendar::to_local;
use okienko_domain::queue::voice_text;
use okienko_domain::DomainError;

use crate::ctx::{app, tenant};
use crate::gql_errors::{to_gql, OrGql};
use okienko_app::auth::{ts, Auth, Permission, Principal, StaffRef};
use okienko_app::catalog::{OfficeCtx, TenantCtx};
use okienko_app::queue::{self, AdmissionFilter, Bus};
use okienko_app::App;

pub type DeskSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn schema() -> DeskSchema {
    crate::query_limits::limited(Query, Mutation, EmptySubscription)
}

/// The SDL as checked in at `schema/desk.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}

fn bus<'a>(ctx: &'a Context<'_>) -> &'a Bus {
    ctx.data_unchecked::<Arc<Bus>>()
}

/// The caller, if it is a staff member of this tenant whose role allows `p`; devices and API
/// keys are FORBIDDEN.
pub(crate) fn staff(ctx: &Context<'_>, p: Permission) -> Result<StaffRef> {
    let t = tenant(ctx);
    let who = ctx
        .data_unchecked::<Auth>()
        .principal()
        .map_err(|e| to_gql(&e))?;
    match who {
        Principal::Device { .. } => Err(to_gql(&DomainError::Forbidden(
            "urządzenia (kioski i wyświetlacze) nie obsługują stanowisk.".into(),
        ))),
        Principal::ApiKey { .. } => Err(to_gql(&DomainError::Forbidden(
            "klucz API nie daje dostępu do obsługi stanowisk.".into(),
        ))),
        other => other.staff_allowed(t.id, p).map_err(|e| to_gql(&e)),
    }
}

fn parse_id(field: &str, id: &ID) -> Result<i64> {
    id.parse::<i64>()
        .map_err(|_| to_gql(&DomainError::invalid(field, "niepoprawny identyfikator")))
}

fn office_of<'a>(t: &'a TenantCtx, id: &ID) -> Result<&'a OfficeCtx> {
    let id = parse_id("officeId", id)?;
    t.office(id)
        .ok_or_else(|| to_gql(&DomainError::invalid("officeId", "nie ma takiego urzędu")))
}

fn desk_number(n: i32) -> Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| to_gql(&DomainError::invalid("desk", "numer stanowiska od 1")))
}

// ---------------------------------------------------------------------------------------------
// Types

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TicketState {
    Waiting,
    Called,
    /// The client is at the desk.
    Serving,
    Done,
    /// Not answered after the last call (CI-8).
    Void,
    /// Sent to another queue; a new ticket continues the visit.
    Transferred,
    /// Service refused (ZG-14).
    Refused,
}

impl TicketState {
    pub fn parse(s: &str) -> TicketState {
        match s {
            "waiting" => TicketState::Waiting,
            "called" => TicketState::Called,
            "serving" => TicketState::Serving,
            "done" => TicketState::Done,
            "transferred" => TicketState::Transferred,
            "refused" => TicketState::Refused,
            _ => TicketState::Void,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TicketKind {
    WalkIn,
    /// A checked-in booked visit.
    Booked,
}

#[derive(SimpleObject)]
pub struct QueueTicket {
    id: ID,
    office_id: ID,
    /// As printed and shown: A001.
    number: String,
    /// The queue's letter.
    queue: String,
    queue_name: Option<String>,
    state: TicketState,
    kind: TicketKind,
    /// The booked visit's code (OP-13: the clerk may compare it with the confirmation).
    booking_code: Option<String>,
    booked_at: Option<DateTime<Utc>>,
    issued_at: DateTime<Utc>,
    /// When the client first took a ticket for this visit (kept through transfers).
    arrived_at: DateTime<Utc>,
    call_count: i64,
    last_called_at: Option<DateTime<Utc>>,
    desk: Option<i64>,
    service_started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    refusal_reason: Option<String>,
    /// The ticket this one continues after a transfer.
    transferred_from: Option<ID>,
    /// The voice call's text (CI-7) when it has a desk.
    voice_text: Option<String>,
}

async fn ticket_out(app: &App, t: &TenantCtx, row: TicketRow) -> Result<QueueTicket> {
    let booking_code = match row.booking_id {
        Some(b) => records::visit_by_id(app, t.id, b)
            .await
            .gql()?
            .map(|v| v.code),
        None => None,
    };
    Ok(QueueTicket {
        id: ID(row.id.to_string()),
        office_id: ID(row.office_id.to_string()),
        queue_name: queue::queue_name(t, row.office_id, &row.queue),
        state: TicketState::parse(&row.state),
        kind: if row.kind == "booked" {
            TicketKind::Booked
        } else {
            TicketKind::WalkIn
        },
        booking_code,
        booked_at: row.booked_at.map(ts),
        issued_at: ts(row.issued_at),
        arrived_at: ts(row.arrived_at),
        call_count: row.call_count,
        last_called_at: row.last_called_at.map(ts),
        desk: row.desk,
        service_started_at: row.service_started_at.map(ts),
        finished_at: row.finished_at.map(ts),
        refusal_reason: row.refusal_reason.clone(),
        transferred_from: row.transferred_from.map(|x| ID(x.to_string())),
        voice_text: row.desk.map(|d| voice_text(&row.label, d)),
        number: row.label,
        queue: row.queue,
    })
}

async fn tickets_out(app: &App, t: &TenantCtx, rows: Vec<TicketRow>) -> Result<Vec<QueueTicket>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(ticket_out(app, t, r).await?);
    }
    Ok(out)
}

#[derive(SimpleObject)]
pub struct Desk {
    office_id: ID,
    office_key: String,
    number: i64,
    /// Letters of the queues it calls from.
    queues: Vec<String>,
}

/// One booked visit on the day's admission list (OP-9).
#[derive(SimpleObject)]
pub struct AdmissionEntry {
    /// The identifier given at booking (the booking code).
    code: String,
    start: DateTime<Utc>,
    /// HH:MM in Europe/Warsaw.
    local_time: String,
    service: String,
    service_key: String,
    department: Option<String>,
    office_id: ID,
    /// The queue its ticket waits in.
    queue: Option<String>,
    /// Checked in at the kiosk.
    checked_in: bool,
}

/// The anonymous figures of one queue on one day (P-5): no person, no booking.
#[derive(SimpleObject)]
pub struct QueueDayStatistics {
    office_id: ID,
    day: NaiveDate,
    queue: String,
    queue_name: Option<String>,
    /// Tickets numbered that day (walk-in and booked).
    tickets_issued: i64,
    walk_ins: i64,
    /// Tickets called at least once.
    calls: i64,
    /// Ticket → first call.
    average_wait_seconds: Option<i64>,
    max_wait_seconds: Option<i64>,
    served: i64,
    average_service_seconds: Option<i64>,
    max_service_seconds: Option<i64>,
    /// Booked visits not attended and tickets void after unanswered calls.
    no_shows: i64,
}

fn avg(total: i64, n: i64) -> Option<i64> {
    (n > 0).then(|| total / n)
}

// ---------------------------------------------------------------------------------------------
// Root

pub struct Query;

#[Object]
impl Query {
    /// The tenant's desks, of one office or all.
    async fn desks(&self, ctx: &Context<'_>, office_id: Option<ID>) -> Result<Vec<Desk>> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let only = match &office_id {
            Some(id) => Some(office_of(&t, id)?.id),
            None => None,
        };
        Ok(t.cfg
            .desks
            .iter()
            .filter_map(|d| {
                let o = t.offices.iter().find(|o| o.cfg.key == d.office)?;
                if only.is_some_and(|x| x != o.id) {
                    return None;
                }
                Some(Desk {
                    office_id: ID(o.id.to_string()),
                    office_key: o.cfg.key.clone(),
                    number: i64::from(d.number),
                    queues: d.queues.clone(),
                })
            })
            .collect())
    }

    /// Today's tickets of an office in these states (all when none given), in issue order.
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        office_id: ID,
        #[graphql(default)] states: Vec<TicketState>,
    ) -> Result<Vec<QueueTicket>> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let o = office_of(&t, &office_id)?;
        let a = app(ctx);
        let day = okienko_domain::queue::day_key(a.clock.now());
        let rows = records::tickets_of_day(a, t.id, o.id, &day, &[])
            .await
            .gql()?
            .into_iter()
            .filter(|r| states.is_empty() || states.contains(&TicketState::parse(&r.state)))
            .collect();
        tickets_out(a, &t, rows).await
    }

    async fn ticket(&self, ctx: &Context<'_>, id: ID) -> Result<QueueTicket> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let row = queue::ticket(app(ctx), &t, parse_id("id", &id)?)
            .await
            .gql()?;
        ticket_out(app(ctx), &t, row).await
    }

    /// The day's booked visits by time — booking code and time, no names — for one desk (the
    /// services its queues serve) or department, or the whole office or tenant (OP-9). Also at
    /// `/t/{slug}/staff/przyjecia` as a printable page.
    async fn admission_list(
        &self,
        ctx: &Context<'_>,
        date: NaiveDate,
        office_id: Option<ID>,
        desk: Option<i32>,
        department: Option<String>,
    ) -> Result<Vec<AdmissionEntry>> {
        staff(ctx, Permission::ReadBookings)?;
        let t = tenant(ctx);
        let f = AdmissionFilter {
            office_id: match &office_id {
                Some(id) => Some(parse_id("officeId", id)?),
                None => None,
            },
            desk: desk.map(desk_number).transpose()?,
            department,
        };
        Ok(queue::admission_list(app(ctx), &t, date, &f)
            .await
            .gql()?
            .into_iter()
            .map(|a| AdmissionEntry {
                local_time: to_local(a.start).format("%H:%M").to_string(),
                code: a.code,
                start: a.start,
                service: a.service,
                service_key: a.service_key,
                department: a.department,
                office_id: ID(a.office_id.to_string()),
                queue: a.queue,
                checked_in: a.checked_in,
            })
            .collect())
    }

    /// Waiting and service times and no-shows per queue and day, anonymous (P-5); kept after
    /// personal data are purged.
    async fn queue_statistics(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
        office_id: Option<ID>,
    ) -> Result<Vec<QueueDayStatistics>> {
        staff(ctx, Permission::ReadConfig)?;
        let t = tenant(ctx);
        let office = match &office_id {
            Some(id) => Some(office_of(&t, id)?.id),
            None => None,
        };
        Ok(queue::statistics(app(ctx), &t, from, to, office)
            .await
            .gql()?
            .into_iter()
            .map(|q| QueueDayStatistics {
                office_id: ID(q.office_id.to_string()),
                day: NaiveDate::parse_from_str(&q.day, "%Y-%m-%d").unwrap_or_default(),
                queue_name: queue::queue_name(&t, q.office_id, &q.queue),
                queue: q.queue,
                tickets_issued: q.tickets_issued,
                walk_ins: q.walk_ins,
                calls: q.calls,
                average_wait_seconds: avg(q.total_wait, q.calls),
                max_wait_seconds: q.max_wait,
                served: q.served,
                average_service_seconds: avg(q.total_service, q.served),
                max_service_seconds: q.max_service,
                no_shows: q.no_shows,
            })
            .collect())
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Calls the desk's next client: checked-in booked clients first by booked time, early ones
    /// only when nobody else waits in their queue, then first come, first served (CI-18 …
    /// CI-20, DG-3; the city's `queue_order` may reorder). Null when nobody waits. Two desks
    /// never get the same ticket.
    async fn call_next(
        &self,
        ctx: &Context<'_>,
        office_id: ID,
        desk: i32,
    ) -> Result<Option<QueueTicket>> {
        let s = staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let o = office_of(&t, &office_id)?;
        let a = app(ctx);
        match queue::call_next(a, bus(ctx), &t, o, desk_number(desk)?, Some(s.user.id))
            .await
            .gql()?
        {
            Some(row) => Ok(Some(ticket_out(a, &t, row).await?)),
            None => Ok(None),
        }
    }

    /// Calls a called ticket again, at least the tenant's interval (CI-8: 10 minutes) after the
    /// last call, else RECALL_TOO_SOON; after the last allowed call the ticket becomes VOID and
    /// a booked visit's no-show is recorded (OP-14).
    async fn recall(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<QueueTicket> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let a = app(ctx);
        let row = queue::recall(a, bus(ctx), &t, parse_id("ticketId", &ticket_id)?)
            .await
            .gql()?;
        ticket_out(a, &t, row).await
    }

    /// The called client came to the desk.
    async fn start_service(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<QueueTicket> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let a = app(ctx);
        let row = queue::start_service(a, &t, parse_id("ticketId", &ticket_id)?)
            .await
            .gql()?;
        ticket_out(a, &t, row).await
    }

    /// The matter is dealt with; the service time is recorded.
    async fn finish_service(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<QueueTicket> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let a = app(ctx);
        let row = queue::finish_service(a, bus(ctx), &t, parse_id("ticketId", &ticket_id)?)
            .await
            .gql()?;
        ticket_out(a, &t, row).await
    }

    /// Sends the client to another queue of the office; the new ticket keeps the original
    /// arrival time. Returns the new ticket.
    async fn transfer(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        queue: String,
    ) -> Result<QueueTicket> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let a = app(ctx);
        let row = queue::transfer(a, bus(ctx), &t, parse_id("ticketId", &ticket_id)?, &queue)
            .await
            .gql()?;
        ticket_out(a, &t, row).await
    }

    /// Refuses service because the data do not match the booking (ZG-14); the reason is
    /// recorded, and a booked visit becomes rejected with it.
    async fn refuse_service(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        reason: String,
    ) -> Result<QueueTicket> {
        staff(ctx, Permission::DeskWork)?;
        let t = tenant(ctx);
        let a = app(ctx);
        let row = queue::refuse(a, bus(ctx), &t, parse_id("ticketId", &ticket_id)?, &reason)
            .await
            .gql()?;
        ticket_out(a, &t, row).await
    }
}
