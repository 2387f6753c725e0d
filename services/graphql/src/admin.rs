//! The administration API of one tenant (`/t/{slug}/admin/graphql`): staff login, the city's
//! configuration, users, devices, API keys, the audit log and the policy script.
//!
//! Every operation but `login` needs a staff session of this tenant (`Authorization: Bearer`);
//! a token of another tenant is unknown here (UNAUTHENTICATED), and a role without the needed
//! permission gets FORBIDDEN. Every change writes an audit row.

use async_graphql::{
    Context, EmptySubscription, Enum, ErrorExtensions, InputObject, Json, MergedObject, Object,
    Result, Schema, SimpleObject, ID,
};
use chrono::{DateTime, NaiveDate, Utc};
use okienko_domain::config::{
    BookingRules, Branding, ConfirmationRules, Consent, Department, FieldSpec, MessageRules,
    MinNotice, Office, Service, TenantConfig, Terms, WeeklyHoursConfig,
};
use okienko_domain::{validate, DomainError};
use okienko_store::{self as store, NewAudit, NewUser, Scope, StoreError, TenantId};
use serde_json::json;

use crate::ctx::{app, tenant};
use crate::gql_errors::{to_gql, OrGql};
use crate::public::{ClientField, ConfirmationMode, FieldKind};
use okienko_app::auth::{self, Auth, Permission, StaffRef};
use okienko_app::config_edit;
use okienko_app::error::ApiError;
use okienko_app::App;

pub type AdminSchema = Schema<AdminQuery, AdminMutation, EmptySubscription>;

// The admin API's roots: configuration and accounts here, staff operations on bookings in
// `staff_ops`; the merged roots keep the names `Query` and `Mutation`.
#[derive(MergedObject)]
#[graphql(name = "Query")]
pub struct AdminQuery(Query, crate::staff::StaffQuery);

#[derive(MergedObject)]
#[graphql(name = "Mutation")]
pub struct AdminMutation(
    Mutation,
    crate::staff::StaffMutation,
    crate::admin_queue::QueueMutation,
);

pub fn schema() -> AdminSchema {
    Schema::build(
        AdminQuery(Query, crate::staff::StaffQuery),
        AdminMutation(
            Mutation,
            crate::staff::StaffMutation,
            crate::admin_queue::QueueMutation,
        ),
        EmptySubscription,
    )
    .extension(crate::query_limits::QueryLimits)
    .limit_complexity(crate::query_limits::MAX_COMPLEXITY)
    .finish()
}

/// The SDL as checked in at `schema/admin.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}

fn auth<'a>(ctx: &'a Context<'_>) -> &'a Auth {
    ctx.data_unchecked::<Auth>()
}

pub(crate) fn gql(e: DomainError) -> async_graphql::Error {
    to_gql(&e)
}

/// The caller, if it is a staff member of this tenant whose role allows `p`.
fn staff(ctx: &Context<'_>, p: Permission) -> Result<StaffRef> {
    let t = tenant(ctx);
    auth(ctx)
        .principal()
        .and_then(|pr| pr.staff_allowed(t.id, p))
        .map_err(gql)
}

fn actor(s: &StaffRef) -> String {
    format!("user:{} {} ({})", s.user.id, s.user.login, s.role.as_str())
}

fn ts(t: i64) -> DateTime<Utc> {
    auth::ts(t)
}

fn parse_id(field: &str, id: &ID) -> Result<i64> {
    id.parse::<i64>()
        .map_err(|_| gql(DomainError::invalid(field, "niepoprawny identyfikator")))
}

// ---------------------------------------------------------------------------------------------
// Types shared with the platform API

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum StaffRole {
    /// Everything in the tenant.
    Admin,
    /// Phone bookings and reading bookings; not configuration, not the audit log.
    CallCentre,
    /// Desk work; not configuration.
    Clerk,
}

impl From<StaffRole> for auth::Role {
    fn from(r: StaffRole) -> Self {
        match r {
            StaffRole::Admin => auth::Role::Admin,
            StaffRole::CallCentre => auth::Role::CallCentre,
            StaffRole::Clerk => auth::Role::Clerk,
        }
    }
}

impl From<auth::Role> for StaffRole {
    fn from(r: auth::Role) -> Self {
        match r {
            auth::Role::Admin => StaffRole::Admin,
            auth::Role::CallCentre => StaffRole::CallCentre,
            auth::Role::Clerk => StaffRole::Clerk,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum AccountStatus {
    Active,
    Suspended,
}

/// A staff member (or, on the platform, an operator).
#[derive(SimpleObject)]
pub struct User {
    pub id: ID,
    /// The e-mail address used to log in.
    pub login: String,
    pub display_name: String,
    /// None for platform operators.
    pub role: Option<StaffRole>,
    pub status: AccountStatus,
    /// Until when the account is locked after wrong passwords, if it is.
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn from_row(u: &store::UserRow, now: i64) -> User {
        User {
            id: ID(u.id.to_string()),
            login: u.login.clone(),
            display_name: u.display_name.clone(),
            role: auth::Role::parse(&u.role).map(Into::into),
            status: if u.status == "active" {
                AccountStatus::Active
            } else {
                AccountStatus::Suspended
            },
            locked_until: u.locked_until.filter(|&t| t > now).map(ts),
            created_at: ts(u.created_at),
        }
    }
}

#[derive(SimpleObject)]
pub struct LoginPayload {
    /// The session token for `Authorization: Bearer …`. Shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(SimpleObject)]
pub struct AuditEntry {
    pub id: ID,
    /// Who acted.
    pub actor: String,
    /// What was done, e.g. `config.add_closure_day`.
    pub action: String,
    /// What it was done to, e.g. `service:dowod`.
    pub target: String,
    /// The changed parts before and after, as JSON text.
    pub before: Option<String>,
    pub after: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The largest audit page.
pub const MAX_AUDIT_PAGE: i32 = 200;

pub async fn audit_page(
    app: &App,
    scope: Scope,
    first: i32,
    after: Option<String>,
) -> Result<AuditPage> {
    if !(1..=MAX_AUDIT_PAGE).contains(&first) {
        return Err(gql(DomainError::invalid(
            "first",
            format!("od 1 do {MAX_AUDIT_PAGE}"),
        )));
    }
    let before = match after {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| gql(DomainError::invalid("after", "niepoprawny kursor")))?,
        ),
        None => None,
    };
    let limit = i64::from(first);
    let mut rows = store::audit_page(&app.db, scope, before, limit + 1)
        .await
        .map_err(ApiError::from)
        .gql()?;
    let more = rows.len() as i64 > limit;
    rows.truncate(first as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(AuditPage {
        entries: rows
            .into_iter()
            .map(|r| AuditEntry {
                id: ID(r.id.to_string()),
                actor: r.actor,
                action: r.action,
                target: r.target,
                before: r.before_json,
                after: r.after_json,
                at: ts(r.at),
            })
            .collect(),
        next_cursor,
    })
}

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

async fn configuration(app: &App, t: TenantId) -> Result<Configuration> {
    let (cfg, hash) = config_edit::current(app, t).await.gql()?;
    let offices = store::active_offices(&app.db, t)
        .await
        .map_err(ApiError::from)
        .gql()?;
    let services = store::active_services(&app.db, t)
        .await
        .map_err(ApiError::from)
        .gql()?;
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
    key: String,
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
    key: String,
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
    mode: ConfirmationMode,
    /// Minutes a pending booking waits for confirmation.
    #[graphql(default = 60)]
    ttl_minutes: u32,
    /// Whether the code may go by SMS (OP-7).
    #[graphql(default)]
    sms_option: bool,
}

#[derive(InputObject)]
pub struct BrandingInput {
    display_name: String,
    /// "#rrggbb".
    primary_color: String,
    #[graphql(default_with = "\"#ffffff\".to_string()")]
    secondary_color: String,
    logo_url: Option<String>,
    /// Sender of this city's e-mails.
    email_from: Option<String>,
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
    key: String,
    version: String,
    /// A short name, as messages name the consent ("Zgoda na przetwarzanie danych osobowych").
    title: Option<String>,
    text: String,
    #[graphql(default)]
    required: bool,
}

// ---------------------------------------------------------------------------------------------
// Users, devices, keys, policies

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DeviceKind {
    /// A ticket kiosk.
    Kiosk,
    /// A call display.
    Display,
}

impl From<DeviceKind> for auth::DeviceKind {
    fn from(k: DeviceKind) -> Self {
        match k {
            DeviceKind::Kiosk => auth::DeviceKind::Kiosk,
            DeviceKind::Display => auth::DeviceKind::Display,
        }
    }
}

#[derive(SimpleObject)]
pub struct Device {
    id: ID,
    office_id: ID,
    kind: DeviceKind,
    name: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<store::DeviceRow> for Device {
    fn from(d: store::DeviceRow) -> Self {
        Device {
            id: ID(d.id.to_string()),
            office_id: ID(d.office_id.to_string()),
            kind: if d.kind == "display" {
                DeviceKind::Display
            } else {
                DeviceKind::Kiosk
            },
            name: d.name,
            created_at: ts(d.created_at),
            revoked_at: d.revoked_at.map(ts),
        }
    }
}

#[derive(SimpleObject)]
pub struct CreatedDevice {
    device: Device,
    /// The device's token, for its `Authorization: Bearer …`. Shown once.
    token: String,
}

#[derive(SimpleObject)]
pub struct ApiKey {
    id: ID,
    name: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<store::ApiKeyRow> for ApiKey {
    fn from(k: store::ApiKeyRow) -> Self {
        ApiKey {
            id: ID(k.id.to_string()),
            name: k.name,
            scopes: serde_json::from_str(&k.scopes).unwrap_or_default(),
            created_at: ts(k.created_at),
            revoked_at: k.revoked_at.map(ts),
        }
    }
}

#[derive(SimpleObject)]
pub struct CreatedApiKey {
    api_key: ApiKey,
    /// The key itself. Shown once.
    key: String,
}

#[derive(SimpleObject)]
pub struct PolicyVersion {
    version: i64,
    hash: String,
    author: String,
    active: bool,
    created_at: DateTime<Utc>,
    test_report: String,
    source: String,
}

impl From<store::PolicyRow> for PolicyVersion {
    fn from(p: store::PolicyRow) -> Self {
        PolicyVersion {
            version: p.version,
            hash: p.hash,
            author: p.author,
            active: p.active == 1,
            created_at: ts(p.created_at),
            test_report: p.test_report,
            source: p.source,
        }
    }
}

#[derive(InputObject)]
pub struct PolicyTestFileInput {
    /// The file's name, e.g. `vehicle.toml`.
    name: String,
    /// Its TOML text (the format of `policies/<slug>/tests/*.toml`).
    content: String,
}

#[derive(SimpleObject)]
pub struct PolicyActivation {
    policy: PolicyVersion,
    /// The test run's report.
    report: String,
}

const MAX_SCOPES: usize = 20;

fn check_scopes(scopes: &[String]) -> Result<(), DomainError> {
    if scopes.len() > MAX_SCOPES {
        return Err(DomainError::invalid(
            "scopes",
            format!("najwyżej {MAX_SCOPES} zakresów"),
        ));
    }
    for s in scopes {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-.".contains(&b));
        if !ok {
            return Err(DomainError::invalid(
                "scopes",
                format!(
                    "niepoprawny zakres „{}”",
                    s.chars().take(64).collect::<String>()
                ),
            ));
        }
    }
    Ok(())
}

fn user_json(u: &store::UserRow) -> String {
    json!({ "login": u.login, "display_name": u.display_name, "role": u.role, "status": u.status })
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Root

pub struct Query;

// Merged into the root `Query` (see `AdminQuery`); the part's own name never shows.
#[Object(name = "ConfigQuery")]
impl Query {
    /// The logged-in staff member.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let s = staff(ctx, Permission::ReadConfig)?;
        let u = store::user_by_id(&app(ctx).db, Scope::Tenant(s.tenant), s.user.id)
            .await
            .map_err(ApiError::from)
            .gql()?
            .ok_or_else(|| gql(DomainError::Unauthenticated))?;
        Ok(User::from_row(&u, app(ctx).clock.now().timestamp()))
    }

    /// The city's configuration as stored.
    async fn configuration(&self, ctx: &Context<'_>) -> Result<Configuration> {
        let s = staff(ctx, Permission::ReadConfig)?;
        configuration(app(ctx), s.tenant).await
    }

    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let s = staff(ctx, Permission::ManageUsers)?;
        let now = app(ctx).clock.now().timestamp();
        Ok(store::list_users(&app(ctx).db, Scope::Tenant(s.tenant))
            .await
            .map_err(ApiError::from)
            .gql()?
            .iter()
            .map(|u| User::from_row(u, now))
            .collect())
    }

    async fn devices(&self, ctx: &Context<'_>) -> Result<Vec<Device>> {
        let s = staff(ctx, Permission::ManageDevices)?;
        Ok(store::list_devices(&app(ctx).db, s.tenant)
            .await
            .map_err(ApiError::from)
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let s = staff(ctx, Permission::ManageApiKeys)?;
        Ok(store::list_api_keys(&app(ctx).db, s.tenant)
            .await
            .map_err(ApiError::from)
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Who changed what, newest first (administrators only).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<AuditPage> {
        let s = staff(ctx, Permission::ReadAudit)?;
        audit_page(app(ctx), Scope::Tenant(s.tenant), first, after).await
    }

    /// Every version of the city's policy script, newest first.
    async fn policy_versions(&self, ctx: &Context<'_>) -> Result<Vec<PolicyVersion>> {
        let s = staff(ctx, Permission::ManagePolicy)?;
        Ok(store::policy_history(&app(ctx).db, s.tenant)
            .await
            .map_err(ApiError::from)
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

pub struct Mutation;

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

// Merged into the root `Mutation` (see `AdminMutation`); the part's own name never shows.
#[Object(name = "ConfigMutation")]
impl Mutation {
    /// Logs a staff member of this city in; the token goes in `Authorization: Bearer …`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        login: String,
        password: String,
    ) -> Result<LoginPayload> {
        let t = tenant(ctx);
        let a = app(ctx);
        let l = auth::login(a, Scope::Tenant(t.id), &login, &password)
            .await
            .gql()?;
        Ok(LoginPayload {
            token: l.token,
            expires_at: ts(l.session.expires_at),
            user: User::from_row(&l.user, a.clock.now().timestamp()),
        })
    }

    /// Ends the session of the token the request came with.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        staff(ctx, Permission::ReadConfig)?;
        let t = tenant(ctx);
        Ok(auth::logout(app(ctx), Scope::Tenant(t.id), auth(ctx))
            .await
            .gql()?)
    }

    // --- offices -------------------------------------------------------------------------

    async fn create_office(&self, ctx: &Context<'_>, input: OfficeInput) -> Result<Configuration> {
        let target = format!("office:{}", input.key);
        let office: Office = input.into();
        edit_config(ctx, "config.create_office", &target, move |c| {
            if c.office(&office.key).is_some() {
                return Err(DomainError::invalid(
                    "key",
                    "urząd o tym kluczu już istnieje",
                ));
            }
            c.offices.push(office.clone());
            Ok(())
        })
        .await
    }

    /// Replaces an office's data (named by its key).
    async fn update_office(&self, ctx: &Context<'_>, input: OfficeInput) -> Result<Configuration> {
        let target = format!("office:{}", input.key);
        let office: Office = input.into();
        edit_config(ctx, "config.update_office", &target, move |c| {
            let o = c
                .offices
                .iter_mut()
                .find(|o| o.key == office.key)
                .ok_or_else(|| not_found("key", &office.key))?;
            *o = office.clone();
            Ok(())
        })
        .await
    }

    /// Removes an office that has no services left.
    async fn remove_office(&self, ctx: &Context<'_>, key: String) -> Result<Configuration> {
        let target = format!("office:{key}");
        edit_config(ctx, "config.remove_office", &target, move |c| {
            if c.office(&key).is_none() {
                return Err(not_found("key", &key));
            }
            if c.services.iter().any(|s| s.office == key) {
                return Err(DomainError::invalid(
                    "key",
                    "urząd ma usługi: najpierw je usuń albo przenieś do innego urzędu",
                ));
            }
            if c.queues.iter().any(|q| q.office == key) || c.desks.iter().any(|d| d.office == key) {
                return Err(DomainError::invalid(
                    "key",
                    "urząd ma kolejki lub stanowiska: najpierw je usuń",
                ));
            }
            c.offices.retain(|o| o.key != key);
            Ok(())
        })
        .await
    }

    /// Sets an office's weekly hours.
    async fn set_office_hours(
        &self,
        ctx: &Context<'_>,
        office_key: String,
        hours: WeeklyHoursInput,
    ) -> Result<Configuration> {
        let target = format!("office:{office_key}");
        let hours: WeeklyHoursConfig = hours.into();
        edit_config(ctx, "config.set_office_hours", &target, move |c| {
            let o = c
                .offices
                .iter_mut()
                .find(|o| o.key == office_key)
                .ok_or_else(|| not_found("officeKey", &office_key))?;
            o.hours = hours.clone();
            Ok(())
        })
        .await
    }

    // --- services ------------------------------------------------------------------------

    async fn create_service(
        &self,
        ctx: &Context<'_>,
        input: ServiceInput,
    ) -> Result<Configuration> {
        let target = format!("service:{}", input.key);
        let service: Service = input.into();
        edit_config(ctx, "config.create_service", &target, move |c| {
            if c.service(&service.key).is_some() {
                return Err(DomainError::invalid(
                    "key",
                    "usługa o tym kluczu już istnieje",
                ));
            }
            c.services.push(service.clone());
            Ok(())
        })
        .await
    }

    /// Replaces a service's data (named by its key); its id and bookings stay.
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        input: ServiceInput,
    ) -> Result<Configuration> {
        let target = format!("service:{}", input.key);
        let service: Service = input.into();
        edit_config(ctx, "config.update_service", &target, move |c| {
            let s = c
                .services
                .iter_mut()
                .find(|s| s.key == service.key)
                .ok_or_else(|| not_found("key", &service.key))?;
            *s = service.clone();
            Ok(())
        })
        .await
    }

    /// Removes a service from booking; its id and past bookings are kept.
    async fn remove_service(&self, ctx: &Context<'_>, key: String) -> Result<Configuration> {
        let target = format!("service:{key}");
        edit_config(ctx, "config.remove_service", &target, move |c| {
            if c.service(&key).is_none() {
                return Err(not_found("key", &key));
            }
            c.services.retain(|s| s.key != key);
            // Its queue no longer serves it.
            for q in &mut c.queues {
                q.services.retain(|s| *s != key);
            }
            Ok(())
        })
        .await
    }

    /// Sets a service's own weekly hours; null: its office's hours.
    async fn set_service_hours(
        &self,
        ctx: &Context<'_>,
        service_key: String,
        hours: Option<WeeklyHoursInput>,
    ) -> Result<Configuration> {
        let target = format!("service:{service_key}");
        let hours: Option<WeeklyHoursConfig> = hours.map(Into::into);
        edit_config(ctx, "config.set_service_hours", &target, move |c| {
            let s = c
                .services
                .iter_mut()
                .find(|s| s.key == service_key)
                .ok_or_else(|| not_found("serviceKey", &service_key))?;
            s.hours = hours.clone();
            Ok(())
        })
        .await
    }

    /// Seats per slot for online and for staff (phone) bookings (P-3).
    async fn set_capacity(
        &self,
        ctx: &Context<'_>,
        service_key: String,
        online: u32,
        staff: u32,
    ) -> Result<Configuration> {
        let target = format!("service:{service_key}");
        edit_config(ctx, "config.set_capacity", &target, move |c| {
            let s = c
                .services
                .iter_mut()
                .find(|s| s.key == service_key)
                .ok_or_else(|| not_found("serviceKey", &service_key))?;
            s.capacity_online = online;
            s.capacity_staff = staff;
            Ok(())
        })
        .await
    }

    // --- calendar and rules --------------------------------------------------------------

    /// Closes the whole office on a day (besides public holidays).
    async fn add_closure_day(&self, ctx: &Context<'_>, date: NaiveDate) -> Result<Configuration> {
        let target = format!("closure:{date}");
        edit_config(ctx, "config.add_closure_day", &target, move |c| {
            if !c.closures.contains(&date) {
                c.closures.push(date);
                c.closures.sort();
            }
            Ok(())
        })
        .await
    }

    async fn remove_closure_day(
        &self,
        ctx: &Context<'_>,
        date: NaiveDate,
    ) -> Result<Configuration> {
        let target = format!("closure:{date}");
        edit_config(ctx, "config.remove_closure_day", &target, move |c| {
            if !c.closures.contains(&date) {
                return Err(DomainError::invalid(
                    "date",
                    "ten dzień nie jest dniem zamknięcia",
                ));
            }
            c.closures.retain(|d| *d != date);
            Ok(())
        })
        .await
    }

    async fn set_booking_rules(
        &self,
        ctx: &Context<'_>,
        input: BookingRulesInput,
    ) -> Result<Configuration> {
        let rules: BookingRules = input.into();
        edit_config(ctx, "config.set_booking_rules", "booking", move |c| {
            c.booking = rules.clone();
            Ok(())
        })
        .await
    }

    async fn set_confirmation(
        &self,
        ctx: &Context<'_>,
        input: ConfirmationInput,
    ) -> Result<Configuration> {
        let rules = ConfirmationRules {
            mode: input.mode.into(),
            ttl_minutes: input.ttl_minutes,
            sms_option: input.sms_option,
        };
        edit_config(ctx, "config.set_confirmation", "confirmation", move |c| {
            c.confirmation = rules.clone();
            Ok(())
        })
        .await
    }

    async fn set_branding(&self, ctx: &Context<'_>, input: BrandingInput) -> Result<Configuration> {
        let b = Branding {
            display_name: input.display_name,
            primary_color: input.primary_color,
            secondary_color: input.secondary_color,
            logo_url: input.logo_url,
            email_from: input.email_from,
        };
        edit_config(ctx, "config.set_branding", "branding", move |c| {
            if b.display_name.trim().is_empty() {
                return Err(DomainError::invalid(
                    "branding.display_name",
                    "nazwa nie może być pusta",
                ));
            }
            c.branding = b.clone();
            Ok(())
        })
        .await
    }

    /// How the city's e-mails and pages write dates and name a visit (DG-7).
    async fn set_messages(
        &self,
        ctx: &Context<'_>,
        date_format: DateFormat,
        phone_as_identifier: bool,
    ) -> Result<Configuration> {
        let rules = MessageRules {
            date_format: date_format.into(),
            phone_as_identifier,
        };
        edit_config(ctx, "config.set_messages", "messages", move |c| {
            c.messages = rules;
            Ok(())
        })
        .await
    }

    /// Publishes a new version of the terms; bookings from now on record it (P-4).
    async fn publish_terms(
        &self,
        ctx: &Context<'_>,
        version: String,
        title: String,
        text: String,
    ) -> Result<Configuration> {
        let target = format!("terms:{version}");
        let terms = Terms {
            version: version.trim().to_string(),
            title,
            text,
        };
        edit_config(ctx, "config.publish_terms", &target, move |c| {
            if terms.version.is_empty() || terms.version == c.terms.version {
                return Err(DomainError::invalid(
                    "version",
                    "nowa wersja regulaminu musi mieć nowy, niepusty numer",
                ));
            }
            if terms.title.trim().is_empty() || terms.text.trim().is_empty() {
                return Err(DomainError::invalid(
                    "text",
                    "tytuł i treść nie mogą być puste",
                ));
            }
            c.terms = terms.clone();
            Ok(())
        })
        .await
    }

    /// Replaces the consents asked for at booking (P-4).
    async fn set_consents(
        &self,
        ctx: &Context<'_>,
        consents: Vec<ConsentInput>,
    ) -> Result<Configuration> {
        let consents: Vec<Consent> = consents
            .into_iter()
            .map(|c| Consent {
                key: c.key,
                version: c.version,
                title: c.title,
                text: c.text,
                required: c.required,
            })
            .collect();
        edit_config(ctx, "config.set_consents", "consents", move |c| {
            c.consents = consents.clone();
            Ok(())
        })
        .await
    }

    // --- users ---------------------------------------------------------------------------

    /// Creates a staff account with a role and an initial password.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        login: String,
        display_name: String,
        role: StaffRole,
        password: String,
    ) -> Result<User> {
        let s = staff(ctx, Permission::ManageUsers)?;
        let a = app(ctx);
        let login = auth::normalize_login(&login).map_err(gql)?;
        let display_name = validate::name("displayName", &display_name).map_err(gql)?;
        auth::check_password("password", &password).map_err(gql)?;
        let role: auth::Role = role.into();
        let hash = auth::hash_password(&password).await.map_err(gql)?;
        let now = a.clock.now().timestamp();
        let after = json!({ "login": login, "display_name": display_name, "role": role.as_str() });
        let audit = NewAudit::new(&actor(&s), "user.create", "").after(after.to_string());
        let u = store::create_user(
            &a.db,
            Scope::Tenant(s.tenant),
            &NewUser {
                login: login.clone(),
                display_name,
                password_hash: hash,
                role: role.as_str(),
            },
            Some(&audit),
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Unique(_) => gql(DomainError::AlreadyExists(format!(
                "Użytkownik o loginie „{login}” już istnieje."
            ))),
            e => crate::gql_errors::api(ApiError::from(e)),
        })?;
        Ok(User::from_row(&u, now))
    }

    /// Suspends an account and ends its sessions.
    async fn suspend_user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        set_user_status(ctx, id, "suspended").await
    }

    async fn resume_user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        set_user_status(ctx, id, "active").await
    }

    // --- devices -------------------------------------------------------------------------

    /// Registers a kiosk or call display of an office; its token is shown once.
    async fn create_device(
        &self,
        ctx: &Context<'_>,
        office_id: ID,
        kind: DeviceKind,
        name: String,
    ) -> Result<CreatedDevice> {
        let s = staff(ctx, Permission::ManageDevices)?;
        let a = app(ctx);
        let office = parse_id("officeId", &office_id)?;
        let name = validate::text("name", &name).map_err(gql)?;
        let kind: auth::DeviceKind = kind.into();
        let token = auth::new_device_token();
        let after = json!({ "office_id": office, "kind": kind.as_str(), "name": name });
        let audit = NewAudit::new(&actor(&s), "device.create", "").after(after.to_string());
        let d = store::create_device(
            &a.db,
            s.tenant,
            office,
            kind.as_str(),
            &name,
            &okienko_app::tokens::hash(&token),
            Some(&audit),
            a.clock.now().timestamp(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => gql(DomainError::invalid("officeId", "nie ma takiego urzędu")),
            e => crate::gql_errors::api(ApiError::from(e)),
        })?;
        Ok(CreatedDevice {
            device: d.into(),
            token,
        })
    }

    async fn revoke_device(&self, ctx: &Context<'_>, id: ID) -> Result<Device> {
        let s = staff(ctx, Permission::ManageDevices)?;
        let a = app(ctx);
        let id = parse_id("id", &id)?;
        let audit = NewAudit::new(&actor(&s), "device.revoke", &format!("device:{id}"));
        Ok(
            store::revoke_device(&a.db, s.tenant, id, Some(&audit), a.clock.now().timestamp())
                .await
                .map_err(ApiError::from)
                .gql()?
                .into(),
        )
    }

    // --- API keys ------------------------------------------------------------------------

    /// Creates a partner's API key with scopes; the key is shown once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<String>,
    ) -> Result<CreatedApiKey> {
        let s = staff(ctx, Permission::ManageApiKeys)?;
        let a = app(ctx);
        let name = validate::text("name", &name).map_err(gql)?;
        check_scopes(&scopes).map_err(gql)?;
        let key = auth::new_api_key();
        let scopes_json = serde_json::to_string(&scopes).unwrap_or_else(|_| "[]".into());
        let after = json!({ "name": name, "scopes": scopes });
        let audit = NewAudit::new(&actor(&s), "api_key.create", "").after(after.to_string());
        let k = store::create_api_key(
            &a.db,
            s.tenant,
            &name,
            &scopes_json,
            &okienko_app::tokens::hash(&key),
            Some(&audit),
            a.clock.now().timestamp(),
        )
        .await
        .map_err(ApiError::from)
        .gql()?;
        Ok(CreatedApiKey {
            api_key: k.into(),
            key,
        })
    }

    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<ApiKey> {
        let s = staff(ctx, Permission::ManageApiKeys)?;
        let a = app(ctx);
        let id = parse_id("id", &id)?;
        let audit = NewAudit::new(&actor(&s), "api_key.revoke", &format!("api_key:{id}"));
        Ok(
            store::revoke_api_key(&a.db, s.tenant, id, Some(&audit), a.clock.now().timestamp())
                .await
                .map_err(ApiError::from)
                .gql()?
                .into(),
        )
    }

    // --- policy --------------------------------------------------------------------------

    /// Compiles a new version of the city's policy script and runs its tests; only when all
    /// pass does it become active (P-6). Otherwise the old version stays and the error carries
    /// the report (POLICY_COMPILE_FAILED, POLICY_TESTS_FAILED).
    async fn activate_policy(
        &self,
        ctx: &Context<'_>,
        source: String,
        tests: Vec<PolicyTestFileInput>,
    ) -> Result<PolicyActivation> {
        let s = staff(ctx, Permission::ManagePolicy)?;
        let a = app(ctx);
        let t = tenant(ctx);
        let files: Vec<(String, String)> = tests.into_iter().map(|f| (f.name, f.content)).collect();
        let who = actor(&s);
        let now = a.clock.now().timestamp();
        use okienko_app::policy_host::ActivationError as E;
        match okienko_app::policy_host::activate(
            &a.db,
            &a.policies,
            t.id,
            &t.cfg,
            &source,
            &files,
            &who,
            now,
        )
        .await
        {
            Ok((row, report)) => {
                let audit =
                    NewAudit::new(&who, "policy.activate", &format!("policy:{}", row.version))
                        .after(json!({ "version": row.version, "hash": row.hash }).to_string());
                store::record_audit(&a.db, Scope::Tenant(t.id), &audit, now)
                    .await
                    .map_err(ApiError::from)
                    .gql()?;
                Ok(PolicyActivation {
                    policy: row.into(),
                    report,
                })
            }
            Err(E::Compile(m)) => Err(gql(DomainError::PolicyCompileFailed(m.clone()))
                .extend_with(|_, e| e.set("report", m.clone()))),
            Err(E::TestsFailed(report)) => Err(gql(DomainError::PolicyTestsFailed(report.clone()))
                .extend_with(|_, e| e.set("report", report.clone()))),
            Err(E::NoTests) => Err(gql(DomainError::invalid(
                "tests",
                "skrypt zasad aktywuje się tylko razem z testami",
            ))),
            Err(E::TestsUnreadable(m)) => Err(gql(DomainError::invalid(
                "tests",
                format!("testów nie da się odczytać: {m}"),
            ))),
            Err(E::Store(e)) => Err(crate::gql_errors::api(ApiError::from(e))),
        }
    }
}

async fn set_user_status(ctx: &Context<'_>, id: ID, status: &'static str) -> Result<User> {
    let s = staff(ctx, Permission::ManageUsers)?;
    let a = app(ctx);
    let id = parse_id("id", &id)?;
    if id == s.user.id {
        return Err(gql(DomainError::ChangeNotAllowed(
            "nie można zmienić stanu własnego konta.".into(),
        )));
    }
    let scope = Scope::Tenant(s.tenant);
    let before = store::user_by_id(&a.db, scope, id)
        .await
        .map_err(ApiError::from)
        .gql()?
        .ok_or_else(|| gql(DomainError::NotFound))?;
    let mut after = before.clone();
    after.status = status.to_string();
    let action = if status == "active" {
        "user.resume"
    } else {
        "user.suspend"
    };
    let audit = NewAudit::new(&actor(&s), action, &format!("user:{id}"))
        .before(user_json(&before))
        .after(user_json(&after));
    let now = a.clock.now().timestamp();
    let u = store::set_user_status(&a.db, scope, id, status, Some(&audit), now)
        .await
        .map_err(ApiError::from)
        .gql()?;
    Ok(User::from_row(&u, now))
}
