//! Policy script versions per tenant (P-6): all kept, one active.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::policies;
use crate::{in_tx, on_read, Db, Result, TenantId};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = policies)]
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
    let row = in_tx!(db, c => {
        let last: Option<i64> = policies::table
            .filter(policies::tenant_id.eq(tenant.0))
            .select(diesel::dsl::max(policies::version))
            .first(c)
            .await?;
        diesel::update(policies::table)
            .filter(policies::tenant_id.eq(tenant.0).and(policies::active.eq(1)))
            .set(policies::active.eq(0))
            .execute(c)
            .await?;
        Ok(diesel::insert_into(policies::table)
            .values((
                policies::tenant_id.eq(tenant.0),
                policies::version.eq(last.unwrap_or(0) + 1),
                policies::hash.eq(hash),
                policies::source.eq(source),
                policies::author.eq(author),
                policies::test_report.eq(test_report),
                policies::active.eq(1),
                policies::created_at.eq(now),
            ))
            .returning(PolicyRow::as_returning())
            .get_result(c)
            .await?)
    })?;
    crate::usage_events::config_changed(db, Some(tenant)).await;
    Ok(row)
}

pub async fn active_policy(db: &Db, tenant: TenantId) -> Result<Option<PolicyRow>> {
    on_read!(db, c => Ok(policies::table
        .filter(policies::tenant_id.eq(tenant.0).and(policies::active.eq(1)))
        .select(PolicyRow::as_select())
        .first(c)
        .await
        .optional()?))
}

/// Every version of a tenant's policy, newest first.
pub async fn policy_history(db: &Db, tenant: TenantId) -> Result<Vec<PolicyRow>> {
    on_read!(db, c => Ok(policies::table
        .filter(policies::tenant_id.eq(tenant.0))
        .order(policies::version.desc())
        .select(PolicyRow::as_select())
        .load(c)
        .await?))
}
