//! Policy script versions per tenant (P-6): all kept, one active.

use sqlx::FromRow;

use crate::{on_db, on_read, Db, Result, TenantId};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PolicyRow {
    pub id: i64,
    pub tenant_id: i64,
    pub version: i64,
    pub hash: String,
    pub source: String,
    pub author: String,
    pub test_report: String,
    pub active: i64,
    pub created_at: i64,
}

const POLICY_COLUMNS: &str =
    "id, tenant_id, version, hash, source, author, test_report, active, created_at";

/// Stores a new version and makes it the active one, in one transaction; the other servers on
/// the database are told to reload (`usage_events::config_changed`).
pub async fn activate_policy(
    db: &Db,
    tenant: TenantId,
    hash: &str,
    source: &str,
    author: &str,
    test_report: &str,
    now: i64,
) -> Result<PolicyRow> {
    let row = on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE policies SET active = 0 WHERE tenant_id = $1 AND active = 1")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query_as::<_, PolicyRow>(&format!(
            "INSERT INTO policies (tenant_id, version, hash, source, author, test_report, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING {POLICY_COLUMNS}"
        ))
        .bind(tenant.0)
        .bind(next)
        .bind(hash)
        .bind(source)
        .bind(author)
        .bind(test_report)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        row
    });
    crate::usage_events::config_changed(db, Some(tenant)).await;
    Ok(row)
}

pub async fn active_policy(db: &Db, tenant: TenantId) -> Result<Option<PolicyRow>> {
    on_read!(db, pool => Ok(sqlx::query_as::<_, PolicyRow>(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE tenant_id = $1 AND active = 1"
    ))
    .bind(tenant.0)
    .fetch_optional(pool)
    .await?))
}

/// Every version of a tenant's policy, newest first.
pub async fn policy_history(db: &Db, tenant: TenantId) -> Result<Vec<PolicyRow>> {
    on_read!(db, pool => Ok(sqlx::query_as::<_, PolicyRow>(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE tenant_id = $1 ORDER BY version DESC"
    ))
    .bind(tenant.0)
    .fetch_all(pool)
    .await?))
}
