//! Tenants and their configuration. The parsed `tenant.toml` is kept as JSON on the tenant row
//! (the source of truth after import); offices and services get rows of their own so that
//! bookings reference stable ids.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use crate::audit::{insert_audit, NewAudit};
use crate::schema::{offices, services, tenants};
use crate::{
    in_tx, on_conn, on_db, on_read, unique, AnyConn as _, Conn, Db, Result, Scope, StoreError,
    TenantId,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub config_json: String,
    pub config_hash: String,
    pub status: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = offices)]
pub struct OfficeRow {
    pub id: i64,
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = services)]
pub struct ServiceRow {
    pub id: i64,
    pub office_id: i64,
    pub key: String,
    pub name: String,
}

/// One tenant to import.
#[derive(Debug, Clone)]
pub struct TenantImport {
    pub slug: String,
    pub name: String,
    pub config_json: String,
    pub config_hash: String,
    /// (key, name)
    pub offices: Vec<(String, String)>,
    /// (key, office key, name)
    pub services: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// The tenant exists and its database copy wins (start-up import without force).
    KeptExisting,
}

/// Imports tenants in one transaction: all of them or none.
/// With `force`, an existing tenant whose file changed is updated; otherwise it is kept.
/// When a tenant was created or updated, the other servers on the database are told to reload.
pub async fn import_tenants(
    db: &Db,
    items: &[TenantImport],
    now: i64,
    force: bool,
) -> Result<Vec<ImportOutcome>> {
    let outcomes: Vec<ImportOutcome> = in_tx!(db, c => {
        let mut outcomes = Vec::with_capacity(items.len());
        for t in items {
            let existing: Option<(i64, String)> = tenants::table
                .filter(tenants::slug.eq(&t.slug))
                .select((tenants::id, tenants::config_hash))
                .first(c)
                .await
                .optional()?;
            let (tenant_id, outcome) = match existing {
                Some((_, hash)) if hash == t.config_hash => {
                    outcomes.push(ImportOutcome::Unchanged);
                    continue;
                }
                Some(_) if !force => {
                    outcomes.push(ImportOutcome::KeptExisting);
                    continue;
                }
                Some((id, _)) => {
                    diesel::update(tenants::table.find(id))
                        .set((
                            tenants::name.eq(&t.name),
                            tenants::config_json.eq(&t.config_json),
                            tenants::config_hash.eq(&t.config_hash),
                            tenants::updated_at.eq(now),
                        ))
                        .execute(c)
                        .await?;
                    (id, ImportOutcome::Updated)
                }
                None => {
                    let id: i64 = diesel::insert_into(tenants::table)
                        .values(new_tenant(t, now))
                        .returning(tenants::id)
                        .get_result(c)
                        .await?;
                    (id, ImportOutcome::Created)
                }
            };
            sync_rows(c.conn(), TenantId(tenant_id), &t.offices, &t.services).await?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    })?;
    if outcomes
        .iter()
        .any(|o| matches!(o, ImportOutcome::Created | ImportOutcome::Updated))
    {
        crate::usage_events::config_changed(db, None).await;
    }
    Ok(outcomes)
}

/// The values of a new tenant's row.
#[allow(clippy::type_complexity)]
fn new_tenant(
    t: &TenantImport,
    now: i64,
) -> (
    diesel::dsl::Eq<tenants::slug, &str>,
    diesel::dsl::Eq<tenants::name, &str>,
    diesel::dsl::Eq<tenants::config_json, &str>,
    diesel::dsl::Eq<tenants::config_hash, &str>,
    diesel::dsl::Eq<tenants::created_at, i64>,
    diesel::dsl::Eq<tenants::updated_at, i64>,
) {
    (
        tenants::slug.eq(t.slug.as_str()),
        tenants::name.eq(t.name.as_str()),
        tenants::config_json.eq(t.config_json.as_str()),
        tenants::config_hash.eq(t.config_hash.as_str()),
        tenants::created_at.eq(now),
        tenants::updated_at.eq(now),
    )
}

pub async fn list_tenants(db: &Db) -> Result<Vec<TenantRow>> {
    on_read!(db, c => Ok(tenants::table
        .order(tenants::slug)
        .select(TenantRow::as_select())
        .load(c)
        .await?))
}

pub async fn tenant_by_slug(db: &Db, slug: &str) -> Result<Option<TenantRow>> {
    on_read!(db, c => Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .select(TenantRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn active_offices(db: &Db, tenant: TenantId) -> Result<Vec<OfficeRow>> {
    on_read!(db, c => Ok(offices::table
        .filter(offices::tenant_id.eq(tenant.0).and(offices::active.eq(1)))
        .order(offices::id)
        .select(OfficeRow::as_select())
        .load(c)
        .await?))
}

pub async fn active_services(db: &Db, tenant: TenantId) -> Result<Vec<ServiceRow>> {
    on_read!(db, c => Ok(services::table
        .filter(services::tenant_id.eq(tenant.0).and(services::active.eq(1)))
        .order(services::id)
        .select(ServiceRow::as_select())
        .load(c)
        .await?))
}

/// Keeps the office and service rows in step with a configuration: new keys get rows, keys
/// no longer configured become inactive, existing keys keep their ids (bookings point at them).
/// Runs inside the caller's transaction.
async fn sync_rows(
    conn: Conn<'_>,
    tenant: TenantId,
    office_rows: &[(String, String)],
    service_rows: &[(String, String, String)],
) -> Result<()> {
    on_conn!(conn, c => {
        diesel::update(offices::table.filter(offices::tenant_id.eq(tenant.0)))
            .set(offices::active.eq(0))
            .execute(c)
            .await?;
        for (key, name) in office_rows {
            diesel::insert_into(offices::table)
                .values((
                    offices::tenant_id.eq(tenant.0),
                    offices::key.eq(key.as_str()),
                    offices::name.eq(name.as_str()),
                    offices::active.eq(1),
                ))
                .on_conflict((offices::tenant_id, offices::key))
                .do_update()
                .set((offices::name.eq(excluded(offices::name)), offices::active.eq(1)))
                .execute(c)
                .await?;
        }
        diesel::update(services::table.filter(services::tenant_id.eq(tenant.0)))
            .set(services::active.eq(0))
            .execute(c)
            .await?;
        for (key, office, name) in service_rows {
            // INSERT … SELECT: the service gets the id of the tenant's office with that key
            // (no row when the tenant has no such office).
            let of_the_office = offices::table
                .filter(offices::tenant_id.eq(tenant.0).and(offices::key.eq(office.as_str())))
                .select((
                    tenant.0.into_sql::<BigInt>(),
                    offices::id,
                    key.as_str().into_sql::<Text>(),
                    name.as_str().into_sql::<Text>(),
                    1i64.into_sql::<BigInt>(),
                ));
            diesel::insert_into(services::table)
                .values(of_the_office)
                .into_columns((
                    services::tenant_id,
                    services::office_id,
                    services::key,
                    services::name,
                    services::active,
                ))
                .on_conflict((services::tenant_id, services::key))
                .do_update()
                .set((
                    services::office_id.eq(excluded(services::office_id)),
                    services::name.eq(excluded(services::name)),
                    services::active.eq(1),
                ))
                .execute(c)
                .await?;
        }
        Ok(())
    })
}

pub async fn tenant_by_id(db: &Db, tenant: TenantId) -> Result<Option<TenantRow>> {
    on_db!(db, c => Ok(tenants::table
        .find(tenant.0)
        .select(TenantRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Creates a new tenant with its office and service rows, and a platform audit row.
/// `Unique("slug")` when the slug is taken. The other servers on the database are told to reload.
pub async fn create_tenant(
    db: &Db,
    t: &TenantImport,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<TenantId> {
    let id = in_tx!(db, c => {
        let id: i64 = diesel::insert_into(tenants::table)
            .values(new_tenant(t, now))
            .returning(tenants::id)
            .get_result(c)
            .await
            .map_err(|e| unique(e, &["slug"]))?;
        sync_rows(c.conn(), TenantId(id), &t.offices, &t.services).await?;
        if let Some(a) = audit {
            insert_audit(c.conn(), Scope::Platform, a, now).await?;
        }
        Ok(TenantId(id))
    })?;
    crate::usage_events::config_changed(db, Some(id)).await;
    Ok(id)
}

/// Stores a tenant's edited configuration and keeps its office and service rows in step, with
/// the change's audit row, in one transaction. The change applies only over `previous_hash`
/// (the version it was made from): `Conflict` when someone else changed it meanwhile. The other
/// servers on the database are told to reload.
pub async fn update_tenant_config(
    db: &Db,
    tenant: TenantId,
    change: &TenantImport,
    previous_hash: &str,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<()> {
    in_tx!(db, c => {
        let n = diesel::update(
            tenants::table.filter(
                tenants::id
                    .eq(tenant.0)
                    .and(tenants::config_hash.eq(previous_hash)),
            ),
        )
        .set((
            tenants::name.eq(&change.name),
            tenants::config_json.eq(&change.config_json),
            tenants::config_hash.eq(&change.config_hash),
            tenants::updated_at.eq(now),
        ))
        .execute(c)
        .await?;
        if n != 1 {
            return Err(StoreError::Conflict);
        }
        sync_rows(c.conn(), tenant, &change.offices, &change.services).await?;
        if let Some(a) = audit {
            insert_audit(c.conn(), Scope::Tenant(tenant), a, now).await?;
        }
        Ok(())
    })?;
    crate::usage_events::config_changed(db, Some(tenant)).await;
    Ok(())
}

/// Sets a tenant's status (`active` or `suspended`; only active tenants are served), with a
/// platform audit row. `NotFound` when there is no such tenant. The other servers on the
/// database are told to reload.
pub async fn set_tenant_status(
    db: &Db,
    tenant: TenantId,
    status: &'static str,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<TenantRow> {
    let row = in_tx!(db, c => {
        let row = diesel::update(tenants::table.find(tenant.0))
            .set((tenants::status.eq(status), tenants::updated_at.eq(now)))
            .returning(TenantRow::as_returning())
            .get_result(c)
            .await
            .optional()?
            .ok_or(StoreError::NotFound)?;
        if let Some(a) = audit {
            insert_audit(c.conn(), Scope::Platform, a, now).await?;
        }
        Ok(row)
    })?;
    crate::usage_events::config_changed(db, Some(tenant)).await;
    Ok(row)
}
