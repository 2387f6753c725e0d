//! Tenants and their configuration. The parsed `tenant.toml` is kept as JSON on the tenant row
//! (the source of truth after import); offices and services get rows of their own so that
//! bookings reference stable ids.

use sqlx::FromRow;

use crate::{on_db, on_read, Db, Result, TenantId};

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
pub async fn import_tenants(
    db: &Db,
    items: &[TenantImport],
    now: i64,
    force: bool,
) -> Result<Vec<ImportOutcome>> {
    on_db!(db, pool => {
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
            sqlx::query("UPDATE offices SET active = 0 WHERE tenant_id = $1")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
            for (key, name) in &t.offices {
                sqlx::query(
                    "INSERT INTO offices (tenant_id, key, name, active) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (tenant_id, key) DO UPDATE SET name = excluded.name, active = 1",
                )
                .bind(tenant_id)
                .bind(key)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE services SET active = 0 WHERE tenant_id = $1")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
            for (key, office, name) in &t.services {
                sqlx::query(
                    "INSERT INTO services (tenant_id, office_id, key, name, active) \
                     SELECT $1, o.id, $3, $4, 1 FROM offices o WHERE o.tenant_id = $1 AND o.key = $2 \
                     ON CONFLICT (tenant_id, key) DO UPDATE SET office_id = excluded.office_id, name = excluded.name, active = 1",
                )
                .bind(tenant_id)
                .bind(office)
                .bind(key)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            }
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    })
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
