//! The audit log: who changed what, with the state before and after. A change and its audit
//! row are written in one transaction where the store makes the change.

use sqlx::FromRow;

use crate::{on_db, on_read, Db, Result, Scope};

/// One audit entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    /// Who acted, e.g. `user:12 admin@um.example.pl`, `operator:1 ops@okienko`, `cli`.
    pub actor: String,
    /// What was done, e.g. `config.add_closure_day`, `user.create`.
    pub action: String,
    /// What it was done to, e.g. `office:ratusz`, `user:14`.
    pub target: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

impl NewAudit {
    pub fn new(actor: &str, action: &str, target: &str) -> NewAudit {
        NewAudit {
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            before_json: None,
            after_json: None,
        }
    }

    pub fn before(mut self, json: impl Into<String>) -> NewAudit {
        self.before_json = Some(json.into());
        self
    }

    pub fn after(mut self, json: impl Into<String>) -> NewAudit {
        self.after_json = Some(json.into());
        self
    }
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub at: i64,
}

pub(crate) async fn insert_audit<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    scope: Scope,
    a: &NewAudit,
    now: i64,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
{
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, target, before_json, after_json, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(scope.tenant_id())
    .bind(a.actor.as_str())
    .bind(a.action.as_str())
    .bind(a.target.as_str())
    .bind(a.before_json.as_deref())
    .bind(a.after_json.as_deref())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes one audit row on its own (for changes the store does not make itself).
pub async fn record_audit(db: &Db, scope: Scope, a: &NewAudit, now: i64) -> Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        insert_audit(&mut tx, scope, a, now).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// One page of a scope's audit log, newest first: rows with an id below `before` (all when
/// `None`), at most `limit`. The last row's id is the cursor of the next page.
pub async fn audit_page(
    db: &Db,
    scope: Scope,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let sql = format!(
        "SELECT id, tenant_id, actor, action, target, before_json, after_json, at FROM audit_log \
         WHERE {} AND id < $2 ORDER BY id DESC LIMIT $3",
        scope.cond("tenant_id")
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, AuditRow>(&sql)
        .bind(scope.tenant_id())
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await?))
}
