//! The administration API of one tenant (`/t/{slug}/admin/graphql`): staff login, the city's
//! configuration, users, devices, API keys, the audit log and the policy script.
//!
//! Every operation but `login` needs a staff session of this tenant (`Authorization: Bearer`);
//! a token of another tenant is unknown here (UNAUTHENTICATED), and a role without the needed
//! permission gets FORBIDDEN. Every change writes an audit row.

mod access;
mod accounts;
mod config;
mod devices;
mod mutation;
mod query;
mod queue;

pub(crate) use access::gql;
pub use accounts::{audit_page, AuditEntry, AuditPage, LoginPayload, StaffRole, User};
pub use config::Configuration;
pub use queue::QueueMutation;

use mutation::Mutation;
use query::Query;

use async_graphql::{EmptySubscription, MergedObject, Schema};

pub type AdminSchema = Schema<AdminQuery, AdminMutation, EmptySubscription>;

// The admin API's roots: configuration and accounts here, staff operations on bookings in
// `staff_ops`; the merged roots keep the names `Query` and `Mutation`.
#[derive(MergedObject)]
#[graphql(name = "Query")]
pub struct AdminQuery(Query, crate::staff::StaffQuery);

#[derive(MergedObject)]
#[graphql(name = "Mutation")]
pub struct AdminMutation(Mutation, crate::staff::StaffMutation, QueueMutation);

pub fn schema() -> AdminSchema {
    crate::query_limits::limited(
        AdminQuery(Query, crate::staff::StaffQuery),
        AdminMutation(Mutation, crate::staff::StaffMutation, QueueMutation),
        EmptySubscription,
    )
}

/// The SDL as checked in at `schema/admin.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}
