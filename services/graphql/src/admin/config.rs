//! The city's configuration as the admin API shows and edits it: offices, services,
//! booking rules, branding, consents; and the edit every change goes through.

use async_graphql::{Context, Enum, InputObject, Json, Result, SimpleObject, ID};
use okienko_app::records::{self, TenantId};
use okienko_domain::config::{
    BookingRules, Department, FieldSpec, MinNotice, Office, Service, TenantConfig,
    WeeklyHoursConfig,
};
use okienko_domain::DomainError;

use super::access::{actor, staff};
use crate::ctx::app;
use crate::gql_errors::OrGql;
use crate::public::types::{ClientField, ConfirmationMode, FieldKind};
use okienko_app::auth::Permission;
use okienko_app::config_edit;
use okienko_app::App;

// ---------------------------------------------------------------------------------------------
// Configuration types

#[derive(SimpleObject)]
pub struct ConfiguredOffice {
    pub id: ID,
    pub key: String,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct ConfiguredService {
    pub id: ID,
    pub key: String,
    pub name: String,
    pub office_id: ID,
    pub bookable: bool,
    pub capacity_online: i32,
    pub capacity_staff: i32,
}

/// The tenant's configuration as stored (the shape of `tenant.toml`), with the ids of its
/// offices and services.
#[derive(SimpleObject)]
pub struct Configuration {
    /// Changes with every stored edit.
    pub hash: String,
    /// The whole configuration as JSON.
    pub config: Json<serde_json::Value>,
    pub offices: Vec<ConfiguredOffice>,
    pub services: Vec<ConfiguredService>,
}

pub(crate) async fn configuration(app: &App, t: TenantId) -> Result<Configuration> {
    let (cfg, hash) = config_edit::current(app, t).await.gql()?;
    let offices = records::active_offices(app, t).await.gql()?;
    let services = records::active_services(app, t).await.gql()?;
    Ok(Configuration {
        hash,
        config: Json(serde_json::to_value(&cfg).unwrap_or_default()),
        offices: offices
            .into_iter()
            .map(|o| ConfiguredOffice {
                id: ID(o.id.to_string()),
                key: o.key,
                name: o.name,
            })
            .collect(),
        services: services
            .into_iter()
            .filter_map(|s| {
                let c = cfg.service(&s.key)?;
                Some(ConfiguredService {
                    id: ID(s.id.to_string()),
                    office_id: ID(s.office_id.to_string()),
                    bookable: c.bookable,
                    capacity_online: i32::try_from(c.capacity_online).unwrap_or(i32::MAX),
                    capacity_staff: i32::try_from(c.capacity_staff).unwrap_or(i32::MAX),
                    key: s.key,
                    name: s.name,
                })
            })
            .collect(),
    })
}

/// Opening hours by weekday, each a list of "HH:MM-HH:MM" ranges.
#[derive(InputObject, Default)]
pub struct WeeklyHoursInput {
    #[graphql(default)]
    mon: Vec<String>,
    #[graphql(default)]
    tue: Vec<String>,
    #[graphql(default)]
    wed: Vec<String>,
    #[graphql(default)]
    thu: Vec<String>,
    #[graphql(default)]
    fri: Vec<String>,
    #[graphql(default)]
    sat: Vec<String>,
    #[graphql(default)]
    sun: Vec<String>,
}

impl From<WeeklyHoursInput> for WeeklyHoursConfig {
    fn from(h: WeeklyHoursInput) -> Self {
        WeeklyHoursConfig {
            mon: h.mon,
            tue: h.tue,
            wed: h.wed,
            thu: h.thu,
            fri: h.fri,
            sat: h.sat,
            sun: h.sun,
        }
    }
}

#[derive(InputObject)]
pub struct DepartmentInput {
    key: String,
    name: String,
}

#[derive(InputObject)]
pub struct OfficeInput {
    /// Stable key (lower-case letters, digits, dashes); an update names the office by it.
    pub(crate) key: String,
    name: String,
    address: String,
    phone: Option<String>,
    hours: WeeklyHoursInput,
    #[graphql(default)]
    departments: Vec<DepartmentInput>,
}

impl From<OfficeInput> for Office {
    fn from(o: OfficeInput) -> Self {
        Office {
            key: o.key,
            name: o.name,
            address: o.address,
            phone: o.phone,
            hours: o.hours.into(),
            departments: o
                .departments
                .into_iter()
                .map(|d| Department {
                    key: d.key,
                    name: d.name,
                })
                .collect(),
        }
    }
}

#[derive(InputObject)]
pub struct FieldSpecInput {
    key: String,
    label: String,
    kind: FieldKind,
    #[graphql(default)]
    required: bool,
    help: Option<String>,
}

/// A service, with every field of `[[services]]` in `tenant.toml`.
#[derive(InputObject)]
pub struct ServiceInput {
    /// Stable key; an update names the service by it.
    pub(crate) key: String,
    /// The office's key.
    office: String,
    /// A department key of that office.
    department: Option<String>,
    name: String,
    /// The queue letter (DG-7).
    letter: Option<String>,
    #[graphql(default = true)]
    bookable: bool,
    /// The desk that serves booked visits (GD-8).
    desk: Option<String>,
    /// For non-bookable services: where to go instead (OP-2).
    info: Option<String>,
    /// Slot length; the tenant's default when null.
    slot_minutes: Option<u32>,
    #[graphql(default)]
    capacity_online: u32,
    #[graphql(default)]
    capacity_staff: u32,
    /// The service's own hours; its office's when null.
    hours: Option<WeeklyHoursInput>,
    #[graphql(default)]
    fields: Vec<FieldSpecInput>,
}

impl From<ServiceInput> for Service {
    fn from(s: ServiceInput) -> Self {
        Service {
            key: s.key,
            office: s.office,
            department: s.department,
            name: s.name,
            letter: s.letter,
            bookable: s.bookable,
            desk: s.desk,
            info: s.info,
            slot_minutes: s.slot_minutes,
            capacity_online: s.capacity_online,
            capacity_staff: s.capacity_staff,
            hours: s.hours.map(Into::into),
            fields: s
                .fields
                .into_iter()
                .map(|f| FieldSpec {
                    key: f.key,
                    label: f.label,
                    kind: f.kind.into(),
                    required: f.required,
                    help: f.help,
                })
                .collect(),
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "okienko_domain::config::CancellationCutoff")]
pub enum CancellationCutoff {
    /// Until the visit starts.
    SlotStart,
    /// At the latest on the day before the visit (GD-13).
    DayBefore,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MinNoticeKind {
    /// At least `minutes` between now and the slot.
    Minutes,
    /// From the next working day on (CI-14).
    NextWorkingDay,
}

#[derive(InputObject)]
pub struct BookingRulesInput {
    /// Last bookable day counted in days from today (ZG-6, DG-2).
    horizon_days: Option<u32>,
    /// …or in calendar months (CI-14).
    horizon_months: Option<u32>,
    min_notice: MinNoticeKind,
    /// With `MINUTES`.
    #[graphql(default)]
    min_notice_minutes: u32,
    cancellation_cutoff: CancellationCutoff,
    required_client_fields: Vec<ClientField>,
    /// Default slot length of the tenant's services.
    slot_minutes: u32,
}

impl From<BookingRulesInput> for BookingRules {
    fn from(b: BookingRulesInput) -> Self {
        BookingRules {
            horizon_days: b.horizon_days,
            horizon_months: b.horizon_months,
            min_notice: match b.min_notice {
                MinNoticeKind::Minutes => MinNotice::Minutes {
                    minutes: b.min_notice_minutes,
                },
                MinNoticeKind::NextWorkingDay => MinNotice::NextWorkingDay,
            },
            cancellation_cutoff: b.cancellation_cutoff.into(),
            required_client_fields: b
                .required_client_fields
                .into_iter()
                .map(Into::into)
                .collect(),
            slot_minutes: b.slot_minutes,
        }
    }
}

#[derive(InputObject)]
pub struct ConfirmationInput {
    pub(crate) mode: ConfirmationMode,
    /// Minutes a pending booking waits for confirmation.
    #[graphql(default = 60)]
    pub(crate) ttl_minutes: u32,
    /// Whether the code may go by SMS (OP-7).
    #[graphql(default)]
    pub(crate) sms_option: bool,
}

#[derive(InputObject)]
pub struct BrandingInput {
    pub(crate) display_name: String,
    /// "#rrggbb".
    pub(crate) primary_color: String,
    #[graphql(default_with = "\"#ffffff\".to_string()")]
    pub(crate) secondary_color: String,
    pub(crate) logo_url: Option<String>,
    /// Sender of this city's e-mails.
    pub(crate) email_from: Option<String>,
}

/// How dates are written in the city's e-mails and pages.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "okienko_domain::config::DateFormat")]
pub enum DateFormat {
    /// 08.06.2026
    Dotted,
    /// 08/06/2026 (DG-7)
    Slashed,
}

#[derive(InputObject)]
pub struct ConsentInput {
    pub(crate) key: String,
    pub(crate) version: String,
    /// A short name, as messages name the consent ("Zgoda na przetwarzanie danych osobowych").
    pub(crate) title: Option<String>,
    pub(crate) text: String,
    #[graphql(default)]
    pub(crate) required: bool,
}

/// Runs a configuration edit for the caller (who needs `EditConfig`).
pub(crate) async fn edit_config<F>(
    ctx: &Context<'_>,
    action: &str,
    target: &str,
    edit: F,
) -> Result<Configuration>
where
    F: Fn(&mut TenantConfig) -> Result<(), DomainError>,
{
    let s = staff(ctx, Permission::EditConfig)?;
    config_edit::edit(app(ctx), s.tenant, &actor(&s), action, target, edit)
        .await
        .gql()?;
    configuration(app(ctx), s.tenant).await
}

pub(crate) fn not_found(what: &str, key: &str) -> DomainError {
    DomainError::invalid(
        what,
        format!(
            "nie ma klucza „{}”",
            key.chars().take(64).collect::<String>()
        ),
    )
}
