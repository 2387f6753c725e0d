//! The public GraphQL API of one tenant (`/t/{slug}/graphql`): citizens' pages and partners.

use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use okienko_app::rate_limit::{ClientIp, Kind};
use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, EmptySubscription, Enum, InputObject, MergedObject, Object, Result,
    Schema, SimpleObject, ID,
};
use chrono::{DateTime, NaiveDate, Utc};
use okienko_domain::calendar::{to_local, BookingWindow};
use okienko_store::BookingRow;

use okienko_app::booking::{self, ClientData, CodeChannel, CreateRequest};
use okienko_app::catalog::{OfficeCtx, ServiceCtx, TenantCtx};

pub type PublicSchema = Schema<Query, PublicMutation, EmptySubscription>;

// The public API's mutations: bookings here, complaints (CI-23) in `staff_ops`; the merged
// root keeps the name `Mutation`.
#[derive(MergedObject)]
#[graphql(name = "Mutation")]
pub struct PublicMutation(Mutation, crate::staff::PublicComplaints);

pub fn schema() -> PublicSchema {
    Schema::build(
        Query,
        PublicMutation(Mutation, crate::staff::PublicComplaints),
        EmptySubscription,
    )
    .extension(crate::query_limits::QueryLimits)
    .limit_complexity(crate::query_limits::MAX_COMPLEXITY)
    .finish()
}

/// The SDL as checked in at `schema/public.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}

/// Counts one request of `kind` from the client's address (`rate_limit`).
async fn limit(ctx: &Context<'_>, t: &TenantCtx, kind: Kind, per_minute: u32) -> Result<()> {
    let client = ctx.data_opt::<ClientIp>().and_then(|c| c.0);
    app(ctx)
        .rate_limits
        .check(kind, t.id.0, &client, per_minute)
        .await
        .map_err(crate::gql_errors::limited)
}

// ---------------------------------------------------------------------------------------------
// Types

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "okienko_domain::config::ConfirmationMode")]
pub enum ConfirmationMode {
    /// Confirmed as soon as it is made.
    Immediate,
    /// Confirmed by the link sent by e-mail.
    EmailLink,
    /// Confirmed by the code sent by e-mail (or SMS when chosen).
    EmailCode,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "okienko_domain::config::ClientField")]
pub enum ClientField {
    Name,
    Email,
    Phone,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "okienko_domain::config::FieldKind")]
pub enum FieldKind {
    Text,
    Email,
    Phone,
    Pesel,
    Date,
    RegistrationNumber,
    VinTail,
    ApplicationNumber,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "okienko_domain::booking::BookingStatus")]
pub enum BookingStatus {
    /// Waiting for confirmation by link or code.
    Pending,
    Confirmed,
    Cancelled,
    /// Not confirmed in time; the seat was given back.
    Expired,
    /// Rejected by the office.
    Rejected,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ConfirmationChannel {
    #[default]
    Email,
    Sms,
}

#[derive(SimpleObject)]
pub struct Branding {
    display_name: String,
    primary_color: String,
    secondary_color: String,
    logo_url: Option<String>,
}

#[derive(SimpleObject)]
pub struct Terms {
    version: String,
    title: String,
    text: String,
}

#[derive(SimpleObject)]
pub struct Consent {
    key: String,
    version: String,
    /// A short name of the consent, as messages name it.
    title: String,
    text: String,
    required: bool,
}

#[derive(SimpleObject)]
pub struct Department {
    key: String,
    name: String,
}

#[derive(SimpleObject)]
pub struct FormField {
    key: String,
    /// The label to show, in Polish.
    label: String,
    kind: FieldKind,
    required: bool,
    help: Option<String>,
}

pub struct Tenant(Arc<TenantCtx>);

/// The city: its name, branding, terms and booking rules.
#[Object]
impl Tenant {
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.cfg.name
    }
    async fn branding(&self) -> Branding {
        let b = &self.0.cfg.branding;
        Branding {
            display_name: b.display_name.clone(),
            primary_color: b.primary_color.clone(),
            secondary_color: b.secondary_color.clone(),
            logo_url: b.logo_url.clone(),
        }
    }
    async fn terms(&self) -> Terms {
        let t = &self.0.cfg.terms;
        Terms {
            version: t.version.clone(),
            title: t.title.clone(),
            text: t.text.clone(),
        }
    }
    async fn consents(&self) -> Vec<Consent> {
        self.0
            .cfg
            .consents
            .iter()
            .map(|c| Consent {
                key: c.key.clone(),
                version: c.version.clone(),
                title: c.title(),
                text: c.text.clone(),
                required: c.required,
            })
            .collect()
    }
    async fn confirmation_mode(&self) -> ConfirmationMode {
        self.0.cfg.confirmation.mode.into()
    }
    /// Minutes a pending booking waits for confirmation.
    async fn confirmation_minutes(&self) -> u32 {
        self.0.cfg.confirmation.ttl_minutes
    }
    /// Whether the confirmation code may be sent by SMS.
    async fn sms_option(&self) -> bool {
        self.0.cfg.confirmation.sms_option
    }
    async fn required_client_fields(&self) -> Vec<ClientField> {
        self.0
            .cfg
            .booking
            .required_client_fields
            .iter()
            .map(|f| (*f).into())
            .collect()
    }
    async fn offices(&self) -> Vec<Office> {
        self.0
            .offices
            .iter()
            .map(|o| Office {
                tenant: self.0.clone(),
                id: o.id,
            })
            .collect()
    }
}

pub struct Office {
    tenant: Arc<TenantCtx>,
    id: i64,
}

impl Office {
    fn ctx(&self) -> Option<&OfficeCtx> {
        self.tenant.office(self.id)
    }
}

#[Object]
impl Office {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn key(&self) -> String {
        self.ctx().map(|o| o.cfg.key.clone()).unwrap_or_default()
    }
    async fn name(&self) -> String {
        self.ctx().map(|o| o.cfg.name.clone()).unwrap_or_default()
    }
    async fn address(&self) -> String {
        self.ctx()
            .map(|o| o.cfg.address.clone())
            .unwrap_or_default()
    }
    async fn phone(&self) -> Option<String> {
        self.ctx().and_then(|o| o.cfg.phone.clone())
    }
    async fn departments(&self) -> Vec<Department> {
        self.ctx()
            .map(|o| {
                o.cfg
                    .departments
                    .iter()
                    .map(|d| Department {
                        key: d.key.clone(),
                        name: d.name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    async fn services(&self) -> Vec<Service> {
        self.tenant
            .services
            .iter()
            .filter(|s| s.office_id == self.id)
            .map(|s| Service {
                tenant: self.tenant.clone(),
                id: s.id,
            })
            .collect()
    }
}

pub struct Service {
    tenant: Arc<TenantCtx>,
    id: i64,
}

impl Service {
    fn ctx(&self) -> Option<&ServiceCtx> {
        self.tenant.service(self.id)
    }
}

/// A matter a client can come for. Non-bookable ones carry `info` (where to go instead).
#[Object]
impl Service {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn key(&self) -> String {
        self.ctx().map(|s| s.cfg.key.clone()).unwrap_or_default()
    }
    async fn name(&self) -> String {
        self.ctx().map(|s| s.cfg.name.clone()).unwrap_or_default()
    }
    /// The queue letter, e.g. "R" (DG-7).
    async fn letter(&self) -> Option<String> {
        self.ctx().and_then(|s| s.cfg.letter.clone())
    }
    async fn bookable(&self) -> bool {
        self.ctx().is_some_and(|s| s.cfg.bookable)
    }
    async fn info(&self) -> Option<String> {
        self.ctx().and_then(|s| s.cfg.info.clone())
    }
    async fn department(&self) -> Option<Department> {
        let s = self.ctx()?;
        let key = s.cfg.department.as_ref()?;
        let office = self.tenant.office(s.office_id)?;
        office
            .cfg
            .departments
            .iter()
            .find(|d| &d.key == key)
            .map(|d| Department {
                key: d.key.clone(),
                name: d.name.clone(),
            })
    }
    async fn office(&self) -> Option<Office> {
        self.ctx().map(|s| Office {
            tenant: self.tenant.clone(),
            id: s.office_id,
        })
    }
    async fn slot_minutes(&self) -> u32 {
        self.ctx().map(|s| s.slot_minutes).unwrap_or_default()
    }
    /// Extra fields the booking form must ask for (the city's policy may set them).
    async fn fields(&self, ctx: &Context<'_>) -> Result<Vec<FormField>> {
        let Some(s) = self.ctx() else {
            return Ok(Vec::new());
        };
        let specs = okienko_app::policy_host::form_fields(&app(ctx).policies, &self.tenant, s)
            .await
            .map_err(|e| crate::gql_errors::to_gql(&e))?;
        Ok(specs
            .into_iter()
            .map(|f| FormField {
                key: f.key,
                label: f.label,
                kind: f.kind.into(),
                required: f.required,
                help: f.help,
            })
            .collect())
    }
}

#[derive(SimpleObject)]
pub struct AvailabilityDay {
    date: NaiveDate,
    /// Why there are no slots on this day (a holiday, a closure, outside the booking period).
    closed_reason: Option<String>,
    slots: Vec<AvailableSlot>,
}

#[derive(SimpleObject)]
pub struct AvailableSlot {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// Local time in Europe/Warsaw, "HH:MM".
    time: String,
    /// Seats left for online booking.
    remaining: i64,
}

#[derive(SimpleObject)]
pub struct BookingWindowInfo {
    first_day: NaiveDate,
    last_day: NaiveDate,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Booking {
    /// The short reservation code to read out on the phone or type at a kiosk.
    code: String,
    status: BookingStatus,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// Local date and time in Europe/Warsaw.
    local_date: NaiveDate,
    local_time: String,
    client_name: Option<String>,
    client_email: Option<String>,
    client_phone: Option<String>,
    confirmation_mode: String,
    /// Until when a pending booking can be confirmed.
    confirm_by: Option<DateTime<Utc>>,
    /// Until when the client may cancel.
    cancellable_until: DateTime<Utc>,
    terms_version: String,
    #[graphql(skip)]
    service_id: i64,
    #[graphql(skip)]
    tenant: Arc<TenantCtx>,
}

#[ComplexObject]
impl Booking {
    async fn service(&self) -> Service {
        Service {
            tenant: self.tenant.clone(),
            id: self.service_id,
        }
    }
}

fn ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

impl Booking {
    pub fn from_row(tenant: Arc<TenantCtx>, b: &BookingRow) -> Booking {
        let local = to_local(ts(b.slot_start));
        Booking {
            code: b.code.clone(),
            status: booking::status_of(b).into(),
            start: ts(b.slot_start),
            end: ts(b.slot_end),
            local_date: local.date(),
            local_time: local.format("%H:%M").to_string(),
            client_name: b.client_name.clone(),
            client_email: b.client_email.clone(),
            client_phone: b.client_phone.clone(),
            confirmation_mode: b.confirmation_mode.clone(),
            confirm_by: (b.status == "pending")
                .then(|| b.confirm_expires_at.map(ts))
                .flatten(),
            cancellable_until: booking::cancellable_until(&tenant, b),
            terms_version: b.terms_version.clone(),
            service_id: b.service_id,
            tenant,
        }
    }
}

#[derive(SimpleObject)]
pub struct CreateBookingPayload {
    booking: Booking,
    /// Secret for `booking`, `cancelBooking` and, with a code, `confirmBooking`. Shown once.
    management_token: String,
    /// True when the idempotency key had been used and this is the first request's booking.
    replayed: bool,
}

#[derive(InputObject)]
pub struct ClientInput {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(InputObject)]
pub struct FieldValueInput {
    key: String,
    value: String,
}

#[derive(InputObject)]
pub struct CreateBookingInput {
    service_id: ID,
    start: DateTime<Utc>,
    client: ClientInput,
    #[graphql(default)]
    fields: Vec<FieldValueInput>,
    /// The version of the terms the client accepted (P-4).
    accepted_terms_version: String,
    /// Keys of the consents given.
    #[graphql(default)]
    consents: Vec<String>,
    /// Where the confirmation code goes, when the city confirms by code.
    #[graphql(default)]
    confirmation_channel: ConfirmationChannel,
    /// A retried request with the same key returns the first booking.
    idempotency_key: Option<String>,
    /// A token from the city's resident-card login (GD-5); the client's data are then taken
    /// from it and `client` is ignored.
    resident_token: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Root

pub struct Query;

#[Object]
impl Query {
    async fn tenant(&self, ctx: &Context<'_>) -> Tenant {
        Tenant(tenant(ctx))
    }

    async fn offices(&self, ctx: &Context<'_>) -> Vec<Office> {
        let t = tenant(ctx);
        t.offices
            .iter()
            .map(|o| Office {
                tenant: t.clone(),
                id: o.id,
            })
            .collect()
    }

    /// Services, optionally of one office.
    async fn services(&self, ctx: &Context<'_>, office_id: Option<ID>) -> Vec<Service> {
        let t = tenant(ctx);
        let office = office_id.map(|id| id.parse::<i64>().unwrap_or(-1));
        t.services
            .iter()
            .filter(|s| office.is_none_or(|o| s.office_id == o))
            .map(|s| Service {
                tenant: t.clone(),
                id: s.id,
            })
            .collect()
    }

    async fn service(&self, ctx: &Context<'_>, id: ID) -> Result<Service> {
        let t = tenant(ctx);
        let s = booking::service_by_id(&t, &id).map_err(|e| crate::gql_errors::to_gql(&e))?;
        Ok(Service {
            id: s.id,
            tenant: t.clone(),
        })
    }

    /// The days from the first bookable one to the last, for a service.
    async fn booking_window(&self, ctx: &Context<'_>, service_id: ID) -> Result<BookingWindowInfo> {
        let t = tenant(ctx);
        let s =
            booking::service_by_id(&t, &service_id).map_err(|e| crate::gql_errors::to_gql(&e))?;
        let w = BookingWindow::compute(&t.cfg.booking, &t.calendar(s), app(ctx).clock.now());
        Ok(BookingWindowInfo {
            first_day: w.first_day,
            last_day: w.last_day,
        })
    }

    /// Slots and remaining online seats per day of `[from, to]` (at most 62 days).
    async fn availability(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AvailabilityDay>> {
        let t = tenant(ctx);
        // The HTTP layer may keep this answer (`usage_cache::Answers`): it must know, from
        // before the read, the usage generation the answer stands on.
        if let Some(deps) = ctx.data_opt::<Arc<okienko_app::usage_cache::ReadDeps>>() {
            if let Ok(service) = booking::service_by_id(&t, &service_id) {
                deps.note(t.id, service.id);
            }
        }
        let days = booking::availability(app(ctx), &t, &service_id, from, to)
            .await
            .gql()?;
        Ok(days
            .into_iter()
            .map(|d| AvailabilityDay {
                date: d.date,
                closed_reason: d.closed,
                slots: d
                    .slots
                    .into_iter()
                    .map(|s| AvailableSlot {
                        start: s.start,
                        end: s.end,
                        time: to_local(s.start).format("%H:%M").to_string(),
                        remaining: s.remaining,
                    })
                    .collect(),
            })
            .collect())
    }

    /// A booking by its management token.
    async fn booking(&self, ctx: &Context<'_>, token: String) -> Result<Booking> {
        let t = tenant(ctx);
        let b = booking::by_token(app(ctx), &t, &token).await.gql()?;
        Ok(Booking::from_row(t, &b))
    }
}

pub struct Mutation;

// Merged into the root `Mutation` (see `PublicMutation`); the part's own name never shows.
#[Object(name = "BookingMutation")]
impl Mutation {
    async fn create_booking(
        &self,
        ctx: &Context<'_>,
        input: CreateBookingInput,
    ) -> Result<CreateBookingPayload> {
        let t = tenant(ctx);
        limit(
            ctx,
            &t,
            Kind::Booking,
            t.cfg.rate_limits.bookings_per_minute,
        )
        .await?;
        let req = CreateRequest {
            service_id: input.service_id.to_string(),
            start: input.start,
            client: ClientData {
                name: input.client.name,
                email: input.client.email,
                phone: input.client.phone,
            },
            fields: input.fields.into_iter().map(|f| (f.key, f.value)).collect(),
            accepted_terms_version: input.accepted_terms_version,
            consents: input.consents,
            channel: match input.confirmation_channel {
                ConfirmationChannel::Email => CodeChannel::Email,
                ConfirmationChannel::Sms => CodeChannel::Sms,
            },
            idempotency_key: input.idempotency_key,
            resident_token: input.resident_token,
        };
        let created = booking::create(app(ctx), &t, req).await.gql()?;
        Ok(CreateBookingPayload {
            booking: Booking::from_row(t, &created.booking),
            management_token: created.token,
            replayed: created.replayed,
        })
    }

    /// Confirms a pending booking: with the token from the e-mailed link, or with the
    /// management token and the code from the e-mail or SMS.
    async fn confirm_booking(
        &self,
        ctx: &Context<'_>,
        token: String,
        code: Option<String>,
    ) -> Result<Booking> {
        let t = tenant(ctx);
        if code.is_some() {
            limit(
                ctx,
                &t,
                Kind::Code,
                t.cfg.rate_limits.code_attempts_per_minute,
            )
            .await?;
        }
        let b = booking::confirm(app(ctx), &t, &token, code.as_deref())
            .await
            .gql()?;
        Ok(Booking::from_row(t, &b))
    }

    /// Moves a booking to another slot of its service, where the city allows it (CI-21 does not).
    async fn reschedule_booking(
        &self,
        ctx: &Context<'_>,
        token: String,
        start: DateTime<Utc>,
    ) -> Result<Booking> {
        let t = tenant(ctx);
        let b = booking::reschedule(app(ctx), &t, &token, start)
            .await
            .gql()?;
        Ok(Booking::from_row(t, &b))
    }

    /// Corrects the client's contact data; the person named cannot change where the city
    /// forbids it (GD-12).
    async fn update_booking_client(
        &self,
        ctx: &Context<'_>,
        token: String,
        client: ClientInput,
    ) -> Result<Booking> {
        let t = tenant(ctx);
        let data = ClientData {
            name: client.name,
            email: client.email,
            phone: client.phone,
        };
        let b = booking::update_client(app(ctx), &t, &token, data)
            .await
            .gql()?;
        Ok(Booking::from_row(t, &b))
    }

    async fn cancel_booking(&self, ctx: &Context<'_>, token: String) -> Result<Booking> {
        let t = tenant(ctx);
        let b = booking::cancel(app(ctx), &t, &token).await.gql()?;
        Ok(Booking::from_row(t, &b))
    }
}
