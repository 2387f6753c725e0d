//! The public API's types: the city, its offices and services, availability and bookings,
//! and the inputs of a booking.

use crate::ctx::app;
use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use okienko_app::records::BookingRow;
use okienko_domain::calendar::to_local;

use okienko_app::booking::{self};
use okienko_app::catalog::{OfficeCtx, ServiceCtx, TenantCtx};

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

pub struct Tenant(pub(crate) Arc<TenantCtx>);

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
    pub(crate) tenant: Arc<TenantCtx>,
    pub(crate) id: i64,
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
    pub(crate) tenant: Arc<TenantCtx>,
    pub(crate) id: i64,
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
    pub(crate) date: NaiveDate,
    /// Why there are no slots on this day (a holiday, a closure, outside the booking period).
    pub(crate) closed_reason: Option<String>,
    pub(crate) slots: Vec<AvailableSlot>,
}

#[derive(SimpleObject)]
pub struct AvailableSlot {
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// Local time in Europe/Warsaw, "HH:MM".
    pub(crate) time: String,
    /// Seats left for online booking.
    pub(crate) remaining: i64,
}

#[derive(SimpleObject)]
pub struct BookingWindowInfo {
    pub(crate) first_day: NaiveDate,
    pub(crate) last_day: NaiveDate,
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

pub(crate) fn ts(t: i64) -> DateTime<Utc> {
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
    pub(crate) booking: Booking,
    /// Secret for `booking`, `cancelBooking` and, with a code, `confirmBooking`. Shown once.
    pub(crate) management_token: String,
    /// True when the idempotency key had been used and this is the first request's booking.
    pub(crate) replayed: bool,
}

#[derive(InputObject)]
pub struct ClientInput {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

#[derive(InputObject)]
pub struct FieldValueInput {
    pub(crate) key: String,
    pub(crate) value: String,
}

#[derive(InputObject)]
pub struct CreateBookingInput {
    pub(crate) service_id: ID,
    pub(crate) start: DateTime<Utc>,
    pub(crate) client: ClientInput,
    #[graphql(default)]
    pub(crate) fields: Vec<FieldValueInput>,
    /// The version of the terms the client accepted (P-4).
    pub(crate) accepted_terms_version: String,
    /// Keys of the consents given.
    #[graphql(default)]
    pub(crate) consents: Vec<String>,
    /// Where the confirmation code goes, when the city confirms by code.
    #[graphql(default)]
    pub(crate) confirmation_channel: ConfirmationChannel,
    /// A retried request with the same key returns the first booking.
    pub(crate) idempotency_key: Option<String>,
    /// A token from the city's resident-card login (GD-5); the client's data are then taken
    /// from it and `client` is ignored.
    pub(crate) resident_token: Option<String>,
}
