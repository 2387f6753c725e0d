//! The public GraphQL API of one tenant (`/t/{slug}/graphql`): citizens' pages and partners.

mod mutation;
mod query;
pub mod types;

pub use types::*;

use mutation::Mutation;
use query::Query;

use async_graphql::{EmptySubscription, MergedObject, Schema};

pub type PublicSchema = Schema<Query, PublicMutation, EmptySubscription>;

// The public API's mutations: bookings here, complaints (CI-23) in `staff_ops`; the merged
// root keeps the name `Mutation`.
#[derive(MergedObject)]
#[graphql(name = "Mutation")]
pub struct PublicMutation(Mutation, crate::staff::PublicComplaints);

pub fn schema() -> PublicSchema {
    crate::query_limits::limited(
        Query,
        PublicMutation(Mutation, crate::staff::PublicComplaints),
        EmptySubscription,
    )
}

/// The SDL as checked in at `schema/public.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}
