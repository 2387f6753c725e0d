//! The reads and writes of the stored records that the faces need and that are no use case of
//! their own: staff accounts, devices, API keys, the audit log, tenants, and the lists staff and
//! displays page through. Each is the store's query over the app's database, its error an
//! [`ApiError`](crate::error::ApiError); the row types come along, so `okienko-graphql` and
//! `okienko-web` never reach the store themselves.

use okienko_store as store;
pub use okienko_store::{
    ApiKeyRow, AuditRow, BookingEventRow, BookingFilter, BookingKey, BookingRow, ComplaintRow,
    DeviceRow, NewAudit, NewUser, OfficeRow, PolicyRow, Scope, ServiceRow, StaffBookingRow,
    StoreError, TenantId, TenantImport, TenantRow, TicketRow, UserRow, VisitRow,
};

use crate::error::ApiResult;
use crate::App;

pub async fn active_offices(app: &App, tenant: TenantId) -> ApiResult<Vec<OfficeRow>> {
    Ok(store::active_offices(&app.db, tenant).await?)
}

pub async fn active_services(app: &App, tenant: TenantId) -> ApiResult<Vec<ServiceRow>> {
    Ok(store::active_services(&app.db, tenant).await?)
}

pub async fn audit_page(
    app: &App,
    scope: Scope,
    before: Option<i64>,
    limit: i64,
) -> ApiResult<Vec<AuditRow>> {
    Ok(store::audit_page(&app.db, scope, before, limit).await?)
}

pub async fn board_tickets(
    app: &App,
    tenant: TenantId,
    office_id: i64,
    day: &str,
    limit: i64,
) -> ApiResult<Vec<TicketRow>> {
    Ok(store::board_tickets(&app.db, tenant, office_id, day, limit).await?)
}

pub async fn booking_by_confirm_hash(
    app: &App,
    tenant: TenantId,
    hash: &str,
) -> ApiResult<Option<BookingRow>> {
    Ok(store::booking_by_confirm_hash(&app.db, tenant, hash).await?)
}

pub async fn booking_events(
    app: &App,
    tenant: TenantId,
    booking_id: i64,
) -> ApiResult<Vec<BookingEventRow>> {
    Ok(store::booking_events(&app.db, tenant, booking_id).await?)
}

pub async fn bookings_page(
    app: &App,
    tenant: TenantId,
    f: &BookingFilter,
    after: Option<BookingKey>,
    before: Option<BookingKey>,
    limit: i64,
    from_end: bool,
) -> ApiResult<Vec<StaffBookingRow>> {
    Ok(store::bookings_page(&app.db, tenant, f, after, before, limit, from_end).await?)
}

pub async fn complaints_page(
    app: &App,
    tenant: TenantId,
    status: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> ApiResult<Vec<ComplaintRow>> {
    Ok(store::complaints_page(&app.db, tenant, status, before_id, limit).await?)
}

pub async fn count_bookings(app: &App, tenant: TenantId, f: &BookingFilter) -> ApiResult<i64> {
    Ok(store::count_bookings(&app.db, tenant, f).await?)
}

pub async fn create_api_key(
    app: &App,
    tenant: TenantId,
    name: &str,
    scopes_json: &str,
    key_hash: &str,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<ApiKeyRow> {
    Ok(store::create_api_key(&app.db, tenant, name, scopes_json, key_hash, audit, now).await?)
}

#[allow(clippy::too_many_arguments)] // the store's own signature, one argument more
pub async fn create_device(
    app: &App,
    tenant: TenantId,
    office_id: i64,
    kind: &'static str,
    name: &str,
    token_hash: &str,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<DeviceRow> {
    Ok(store::create_device(
        &app.db, tenant, office_id, kind, name, token_hash, audit, now,
    )
    .await?)
}

pub async fn create_tenant(
    app: &App,
    t: &TenantImport,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<TenantId> {
    Ok(store::create_tenant(&app.db, t, audit, now).await?)
}

pub async fn create_user(
    app: &App,
    scope: Scope,
    u: &NewUser,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<UserRow> {
    Ok(store::create_user(&app.db, scope, u, audit, now).await?)
}

pub async fn list_api_keys(app: &App, tenant: TenantId) -> ApiResult<Vec<ApiKeyRow>> {
    Ok(store::list_api_keys(&app.db, tenant).await?)
}

pub async fn list_devices(app: &App, tenant: TenantId) -> ApiResult<Vec<DeviceRow>> {
    Ok(store::list_devices(&app.db, tenant).await?)
}

pub async fn list_tenants(app: &App) -> ApiResult<Vec<TenantRow>> {
    Ok(store::list_tenants(&app.db).await?)
}

pub async fn list_users(app: &App, scope: Scope) -> ApiResult<Vec<UserRow>> {
    Ok(store::list_users(&app.db, scope).await?)
}

pub async fn overdue_complaints(
    app: &App,
    tenant: TenantId,
    now: i64,
) -> ApiResult<Vec<ComplaintRow>> {
    Ok(store::overdue_complaints(&app.db, tenant, now).await?)
}

pub async fn policy_history(app: &App, tenant: TenantId) -> ApiResult<Vec<PolicyRow>> {
    Ok(store::policy_history(&app.db, tenant).await?)
}

pub async fn record_audit(app: &App, scope: Scope, a: &NewAudit, now: i64) -> ApiResult<()> {
    Ok(store::record_audit(&app.db, scope, a, now).await?)
}

pub async fn revoke_api_key(
    app: &App,
    tenant: TenantId,
    id: i64,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<ApiKeyRow> {
    Ok(store::revoke_api_key(&app.db, tenant, id, audit, now).await?)
}

pub async fn revoke_device(
    app: &App,
    tenant: TenantId,
    id: i64,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<DeviceRow> {
    Ok(store::revoke_device(&app.db, tenant, id, audit, now).await?)
}

pub async fn set_tenant_status(
    app: &App,
    tenant: TenantId,
    status: &'static str,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<TenantRow> {
    Ok(store::set_tenant_status(&app.db, tenant, status, audit, now).await?)
}

pub async fn set_user_status(
    app: &App,
    scope: Scope,
    id: i64,
    status: &'static str,
    audit: Option<&NewAudit>,
    now: i64,
) -> ApiResult<UserRow> {
    Ok(store::set_user_status(&app.db, scope, id, status, audit, now).await?)
}

pub async fn staff_booking_by_code(
    app: &App,
    tenant: TenantId,
    code: &str,
) -> ApiResult<Option<StaffBookingRow>> {
    Ok(store::staff_booking_by_code(&app.db, tenant, code).await?)
}

pub async fn tenant_by_id(app: &App, tenant: TenantId) -> ApiResult<Option<TenantRow>> {
    Ok(store::tenant_by_id(&app.db, tenant).await?)
}

pub async fn tenant_by_slug(app: &App, slug: &str) -> ApiResult<Option<TenantRow>> {
    Ok(store::tenant_by_slug(&app.db, slug).await?)
}

pub async fn tickets_of_day(
    app: &App,
    tenant: TenantId,
    office_id: i64,
    day: &str,
    states: &[&str],
) -> ApiResult<Vec<TicketRow>> {
    Ok(store::tickets_of_day(&app.db, tenant, office_id, day, states).await?)
}

pub async fn user_by_id(app: &App, scope: Scope, id: i64) -> ApiResult<Option<UserRow>> {
    Ok(store::user_by_id(&app.db, scope, id).await?)
}

pub async fn visit_by_id(app: &App, tenant: TenantId, id: i64) -> ApiResult<Option<VisitRow>> {
    Ok(store::visit_by_id(&app.db, tenant, id).await?)
}
