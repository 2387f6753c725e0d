//! The audit log: who changed what, with the state before and after. A change and its audit
//! row are written in one transaction where the store makes the change.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::audit_log;
use crate::{on_conn, on_db, on_read, AnyConn as _, Conn, Db, Result, Scope};

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

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
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

/// Writes an audit row inside the caller's transaction.
pub(crate) async fn insert_audit(
    conn: Conn<'_>,
    scope: Scope,
    a: &NewAudit,
    now: i64,
) -> Result<()> {
    let insert = diesel::insert_into(audit_log::table).values((
        audit_log::tenant_id.eq(scope.tenant_id()),
        audit_log::actor.eq(a.actor.as_str()),
        audit_log::action.eq(a.action.as_str()),
        audit_log::target.eq(a.target.as_str()),
        audit_log::before_json.eq(a.before_json.as_deref()),
        audit_log::after_json.eq(a.after_json.as_deref()),
        audit_log::at.eq(now),
    ));
    on_conn!(conn, c => insert.execute(c).await)?;
    Ok(())
}

/// Writes one audit row on its own (for changes the store does not make itself).
pub async fn record_audit(db: &Db, scope: Scope, a: &NewAudit, now: i64) -> Result<()> {
    on_db!(db, c => insert_audit(c.conn(), scope, a, now).await)
}

/// One page of a scope's audit log, newest first: rows with an id below `before` (all when
/// `None`), at most `limit`. The last row's id is the cursor of the next page.
pub async fn audit_page(
    db: &Db,
    scope: Scope,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    on_read!(db, c => {
        let page = audit_log::table
            .filter(audit_log::id.lt(before.unwrap_or(i64::MAX)))
            .order(audit_log::id.desc())
            .limit(limit)
            .select(AuditRow::as_select());
        Ok(match scope {
            Scope::Platform => page.filter(audit_log::tenant_id.is_null()).load(c).await?,
            Scope::Tenant(t) => page.filter(audit_log::tenant_id.eq(t.0)).load(c).await?,
        })
    })
}
