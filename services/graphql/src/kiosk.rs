//! The ticket kiosk's API (`/t/{slug}/kiosk/graphql`): a device token of kind kiosk, bound to
//! one office, in `Authorization: Bearer …`. The kiosk shows the office's queues (open or
//! closed, CI-4), prints walk-in tickets (CI-3, CI-6) and checks booked visits in by their code
//! (CI-16) or phone number (DG-4, DG-8).

use async_graphql::{Context, EmptySubscription, Object, Result, Schema, SimpleObject, ID};
use chrono::{DateTime, Utc};
use okienko_app::records::TicketRow;
use okienko_domain::DomainError;

use crate::ctx::{app, tenant};
use crate::gql_errors::to_gql;
use crate::gql_errors::OrGql;
use okienko_app::auth::{ts, Auth, DeviceKind, Principal};
use okienko_app::catalog::{OfficeCtx, TenantCtx};
use okienko_app::queue;

pub type KioskSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn schema() -> KioskSchema {
    crate::query_limits::limited(Query, Mutation, EmptySubscription)
}

/// The SDL as checked in at `schema/kiosk.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}

/// The office of the device behind the request, if it is a kiosk of this tenant.
pub(crate) fn device_office<'a>(
    ctx: &Context<'_>,
    t: &'a TenantCtx,
    want: DeviceKind,
) -> Result<&'a OfficeCtx> {
    let who = ctx
        .data_unchecked::<Auth>()
        .principal()
        .map_err(|e| to_gql(&e))?;
    let office = match who {
        Principal::Device {
            tenant,
            office,
            kind,
            ..
        } if *tenant == t.id && *kind == want => *office,
        Principal::Device { .. } | Principal::Staff { .. } | Principal::ApiKey { .. } => {
            let what = match want {
                DeviceKind::Kiosk => "tylko kioski biletowe (token urządzenia typu KIOSK)",
                DeviceKind::Display => "tylko wyświetlacze (token urządzenia typu DISPLAY)",
            };
            return Err(to_gql(&DomainError::Forbidden(format!(
                "z tej usługi korzystają {what}."
            ))));
        }
        Principal::Operator { .. } => return Err(to_gql(&DomainError::Unauthenticated)),
    };
    t.office(office)
        .ok_or_else(|| to_gql(&DomainError::NotFound))
}

fn kiosk<'a>(ctx: &Context<'_>, t: &'a TenantCtx) -> Result<&'a OfficeCtx> {
    device_office(ctx, t, DeviceKind::Kiosk)
}

#[derive(SimpleObject)]
pub struct KioskOffice {
    id: ID,
    name: String,
    address: String,
}

/// A queue (category) on the kiosk's screen.
#[derive(SimpleObject)]
pub struct KioskQueue {
    /// The letter of its tickets.
    letter: String,
    name: String,
    /// The check-in entry for booked visits: take its ticket with `checkIn` or `checkInByPhone`,
    /// not `issueTicket`.
    check_in: bool,
    /// Whether a ticket can be taken now (CI-4).
    open: bool,
    /// Why not, in Polish.
    closed_reason: Option<String>,
    /// Walk-in tickets left today, when the queue has a daily capacity.
    remaining: Option<i64>,
}

/// What the kiosk prints (CI-3).
#[derive(SimpleObject)]
pub struct PrintedTicket {
    id: ID,
    /// The ticket number: the queue letter and three digits, e.g. A001.
    number: String,
    /// The queue's letter.
    queue: String,
    queue_name: String,
    office_name: String,
    printed_at: DateTime<Utc>,
    /// Print date in Europe/Warsaw, dd.mm.yyyy.
    printed_date: String,
    /// Print time in Europe/Warsaw, HH:MM.
    printed_time: String,
    /// A checked-in booked visit (called first, CI-18, DG-3).
    priority: bool,
    /// The booked visit's time (HH:MM, Europe/Warsaw).
    booked_time: Option<String>,
    /// The ticket's lines as printed.
    lines: Vec<String>,
}

pub fn printed_ticket(t: &TenantCtx, row: &TicketRow) -> PrintedTicket {
    let queue_name = queue::queue_name(t, row.office_id, &row.queue).unwrap_or_default();
    let office_name = t
        .office(row.office_id)
        .map(|o| o.cfg.name.clone())
        .unwrap_or_default();
    let (date, time) = queue::printed(row.issued_at);
    let booked_time = row.booked_at.map(|b| queue::printed(b).1);
    let mut lines = vec![
        office_name.clone(),
        queue_name.clone(),
        row.label.clone(),
        format!("{date} {time}"),
    ];
    if let Some(b) = &booked_time {
        lines.push(format!("Wizyta umówiona na godz. {b}"));
    }
    PrintedTicket {
        id: ID(row.id.to_string()),
        number: row.label.clone(),
        queue: row.queue.clone(),
        queue_name,
        office_name,
        printed_at: ts(row.issued_at),
        printed_date: date,
        printed_time: time,
        priority: row.kind == "booked",
        booked_time,
        lines,
    }
}

pub struct Query;

#[Object]
impl Query {
    /// The kiosk's office.
    async fn office(&self, ctx: &Context<'_>) -> Result<KioskOffice> {
        let t = tenant(ctx);
        let o = kiosk(ctx, &t)?;
        Ok(KioskOffice {
            id: ID(o.id.to_string()),
            name: o.cfg.name.clone(),
            address: o.cfg.address.clone(),
        })
    }

    /// The office's queues, open or closed now (CI-4, CI-5).
    async fn queues(&self, ctx: &Context<'_>) -> Result<Vec<KioskQueue>> {
        let t = tenant(ctx);
        let o = kiosk(ctx, &t)?;
        Ok(queue::queue_states(app(ctx), &t, o)
            .await
            .gql()?
            .into_iter()
            .map(|q| KioskQueue {
                letter: q.cfg.letter,
                name: q.cfg.name,
                check_in: q.cfg.check_in,
                open: q.closed.is_none(),
                closed_reason: q.closed,
                remaining: q.remaining,
            })
            .collect())
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Prints a walk-in ticket in a queue (CI-6): QUEUE_CLOSED outside the office's hours,
    /// QUEUE_FULL when the day's capacity is used up (CI-4).
    async fn issue_ticket(&self, ctx: &Context<'_>, queue: String) -> Result<PrintedTicket> {
        let t = tenant(ctx);
        let o = kiosk(ctx, &t)?;
        let row = queue::issue_walk_in(app(ctx), &t, o, &queue).await.gql()?;
        Ok(printed_ticket(&t, &row))
    }

    /// Checks a booked visit in by its booking code (CI-16): a priority ticket. Refused with
    /// CHECK_IN_TOO_EARLY (saying from when) before the tenant's window, CHECK_IN_TOO_LATE after
    /// the visit's time plus the tenant's lateness (the booking is then cancelled, CI-17).
    async fn check_in(&self, ctx: &Context<'_>, code: String) -> Result<PrintedTicket> {
        let t = tenant(ctx);
        let o = kiosk(ctx, &t)?;
        let row = queue::check_in_by_code(app(ctx), &t, o, &code)
            .await
            .gql()?;
        Ok(printed_ticket(&t, &row))
    }

    /// Checks in the earliest of today's booked visits with this phone number (48xxxxxxxxx)
    /// not checked in yet (DG-4, DG-8): one ticket per check-in.
    async fn check_in_by_phone(&self, ctx: &Context<'_>, phone: String) -> Result<PrintedTicket> {
        let t = tenant(ctx);
        let o = kiosk(ctx, &t)?;
        let row = queue::check_in_by_phone(app(ctx), &t, o, &phone)
            .await
            .gql()?;
        Ok(printed_ticket(&t, &row))
    }
}
