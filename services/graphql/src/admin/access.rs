//! The caller of an admin request and the checks every resolver makes first.

use async_graphql::{Context, Result, ID};
use chrono::{DateTime, Utc};
use okienko_domain::DomainError;

use crate::ctx::tenant;
use crate::gql_errors::to_gql;
use okienko_app::auth::{self, Auth, Permission, StaffRef};

pub(crate) fn caller<'a>(ctx: &'a Context<'_>) -> &'a Auth {
    ctx.data_unchecked::<Auth>()
}

pub(crate) fn gql(e: DomainError) -> async_graphql::Error {
    to_gql(&e)
}

/// The caller, if it is a staff member of this tenant whose role allows `p`.
pub(crate) fn staff(ctx: &Context<'_>, p: Permission) -> Result<StaffRef> {
    let t = tenant(ctx);
    caller(ctx)
        .principal()
        .and_then(|pr| pr.staff_allowed(t.id, p))
        .map_err(gql)
}

pub(crate) fn actor(s: &StaffRef) -> String {
    format!("user:{} {} ({})", s.user.id, s.user.login, s.role.as_str())
}

pub(crate) fn ts(t: i64) -> DateTime<Utc> {
    auth::ts(t)
}

pub(crate) fn parse_id(field: &str, id: &ID) -> Result<i64> {
    id.parse::<i64>()
        .map_err(|_| gql(DomainError::invalid(field, "niepoprawny identyfikator")))
}
