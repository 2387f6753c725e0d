//! Staff accounts and the audit log as the admin and platform APIs show them.

use async_graphql::{Enum, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use okienko_app::records::{self, Scope};
use okienko_domain::DomainError;

use super::access::{gql, ts};
use crate::gql_errors::OrGql;
use okienko_app::auth::{self};
use okienko_app::App;

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
    pub fn from_row(u: &records::UserRow, now: i64) -> User {
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
    let mut rows = records::audit_page(app, scope, before, limit + 1)
        .await
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
