//! Tenants and their configuration. The parsed `tenant.toml` is kept as JSON on the tenant row
//! (the source of truth after import); offices and services get rows of their own so that
//! bookings reference stable ids.

use sqlx::FromRow;

use crate::audit::{insert_audit, NewAudit};
use crate::{on_db, on_read, unique, Db, Result, Scope, StoreError, TenantId};

#[derive(Debug, Clone, FromRow)]
pub struct TenantRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub config_json: String,
    pub config_hash: String,
    pub status: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct OfficeRow {
    pub id: i64,
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone, FromRow)]
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
    let outcomes: Vec<ImportOutcome> = on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut outcomes = Vec::with_capacity(items.len());
        for t in items {
            let existing: Option<(i64, String)> =
                sqlx::query_as("SELECT id, config_hash FROM tenants WHERE slug = $1")
                    .bind(&t.slug)
                    .fetch_optional(&mut *tx)
                    .await?;
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
                    sqlx::query(
                        "UPDATE tenants SET name = $2, config_json = $3, config_hash = $4, updated_at = $5 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(&t.name)
                    .bind(&t.config_json)
                    .bind(&t.config_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    (id, ImportOutcome::Updated)
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO tenants (slug, name, config_json, config_hash, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                    )
                    .bind(&t.slug)
                    .bind(&t.name)
                    .bind(&t.config_json)
                    .bind(&t.config_hash)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    (id, ImportOutcome::Created)
                }
            };
            sync_rows(&mut tx, TenantId(tenant_id), &t.offices, &t.services).await?;
            outcomes.push(outcome);
        }
        tx.commit().await?;
        outcomes
    });
    if outcomes
        .iter()
        .any(|o| matches!(o, ImportOutcome::Created | ImportOutcome::Updated))
    {
        crate::usage_events::config_changed(db, None).await;
    }
    Ok(outcomes)
}

pub async fn list_tenants(db: &Db) -> Result<Vec<TenantRow>> {
    on_read!(db, pool => Ok(sqlx::query_as::<_, TenantRow>(
        "SELECT id, slug, name, config_json, config_hash, status FROM tenants ORDER BY slug",
    )
    .fetch_all(pool)
    .await?))
}

pub async fn tenant_by_slug(db: &Db, slug: &str) -> Result<Option<TenantRow>> {
    on_read!(db, pool => Ok(sqlx::query_as::<_, TenantRow>(
        "SELECT id, slug, name, config_json, config_hash, status FROM tenants WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await?))
}

pub async fn active_offices(db: &Db, tenant: TenantId) -> Result<Vec<OfficeRow>> {
    on_read!(db, pool => Ok(sqlx::query_as::<_, OfficeRow>(
        "SELECT id, key, name FROM offices WHERE tenant_id = $1 AND active = 1 ORDER BY id",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?))
}

pub async fn active_services(db: &Db, tenant: TenantId) -> Result<Vec<ServiceRow>> {
    on_read!(db, pool => Ok(sqlx::query_as::<_, ServiceRow>(
        "SELECT id, office_id, key, name FROM services WHERE tenant_id = $1 AND active = 1 ORDER BY id",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?))
}

/// Keeps the office and service rows in step with a configuration: new keys get rows, keys
/// no longer configured become inactive, existing keys keep their ids (bookings point at them).
async fn sync_rows<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    tenant: TenantId,
    offices: &[(String, String)],
    services: &[(String, String, String)],
) -> Result<()>
where
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
{
    sqlx::query("UPDATE offices SET active = 0 WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(&mut **tx)
        .await?;
    for (key, name) in offices {
        sqlx::query(
            "INSERT INTO offices (tenant_id, key, name, active) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (tenant_id, key) DO UPDATE SET name = excluded.name, active = 1",
        )
        .bind(tenant.0)
        .bind(key.as_str())
        .bind(name.as_str())
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE services SET active = 0 WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(&mut **tx)
        .await?;
    for (key, office, name) in services {
        sqlx::query(
            "INSERT INTO services (tenant_id, office_id, key, name, active) \
             SELECT $1, o.id, $3, $4, 1 FROM offices o WHERE o.tenant_id = $1 AND o.key = $2 \
             ON CONFLICT (tenant_id, key) DO UPDATE SET office_id = excluded.office_id, name = excluded.name, active = 1",
        )
        .bind(tenant.0)
        .bind(office.as_str())
        .bind(key.as_str())
        .bind(name.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn tenant_by_id(db: &Db, tenant: TenantId) -> Result<Option<TenantRow>> {
    on_db!(db, pool => Ok(sqlx::query_as::<_, TenantRow>(
        "SELECT id, slug, name, config_json, config_hash, status FROM tenants WHERE id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(pool)
    .await?))
}

/// Creates a new tenant with its office and service rows, and a platform audit row.
/// `Unique("slug")` when the slug is taken. The other servers on the database are told to reload.
pub async fn create_tenant(
    db: &Db,
    t: &TenantImport,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<TenantId> {
    let id = on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tenants (slug, name, config_json, config_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(&t.slug)
        .bind(&t.name)
        .bind(&t.config_json)
        .bind(&t.config_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique(e, &["slug"]))?;
        sync_rows(&mut tx, TenantId(id), &t.offices, &t.services).await?;
        if let Some(a) = audit {
            insert_audit(&mut tx, Scope::Platform, a, now).await?;
        }
        tx.commit().await?;
        TenantId(id)
    });
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
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(
            "UPDATE tenants SET name = $2, config_json = $3, config_hash = $4, updated_at = $5 \
             WHERE id = $1 AND config_hash = $6",
        )
        .bind(tenant.0)
        .bind(&change.name)
        .bind(&change.config_json)
        .bind(&change.config_hash)
        .bind(now)
        .bind(previous_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict);
        }
        sync_rows(&mut tx, tenant, &change.offices, &change.services).await?;
        if let Some(a) = audit {
            insert_audit(&mut tx, Scope::Tenant(tenant), a, now).await?;
        }
        tx.commit().await?;
    });
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
    let row = on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, TenantRow>(
            "UPDATE tenants SET status = $2, updated_at = $3 WHERE id = $1 \
             RETURNING id, slug, name, config_json, config_hash, status",
        )
        .bind(tenant.0)
        .bind(status)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if let Some(a) = audit {
            insert_audit(&mut tx, Scope::Platform, a, now).await?;
        }
        tx.commit().await?;
        row
    });
    crate::usage_events::config_changed(db, Some(tenant)).await;
    Ok(row)
}
