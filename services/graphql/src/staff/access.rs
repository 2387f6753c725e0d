//! The caller of a staff operation and the argument checks every resolver shares.

use async_graphql::{Context, Result, ID};
use chrono::{DateTime, Utc};
use okienko_domain::DomainError;

use crate::ctx::tenant;
use crate::gql_errors::to_gql;
use okienko_app::auth::{Auth, Permission, StaffRef};

// ---------------------------------------------------------------------------------------------
// Shared helpers

pub(crate) fn gql(e: DomainError) -> async_graphql::Error {
    to_gql(&e)
}

/// The caller, if it is a staff member of this tenant whose role allows `p`. Checked before
/// anything else, so a caller without access learns nothing from the arguments.
pub(crate) fn staff(ctx: &Context<'_>, p: Permission) -> Result<StaffRef> {
    let t = tenant(ctx);
    ctx.data_unchecked::<Auth>()
        .principal()
        .and_then(|pr| pr.staff_allowed(t.id, p))
        .map_err(gql)
}

pub(crate) fn parse_id(field: &str, id: &ID) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| gql(DomainError::invalid(field, "niepoprawny identyfikator")))
}

pub(crate) fn ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}
