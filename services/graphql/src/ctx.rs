//! What every GraphQL schema of the API shares: the request's app and tenant, and the sorted
//! SDL checked in under `schema/`.

use std::sync::Arc;

use async_graphql::{Context, ObjectType, Schema, SubscriptionType};

use okienko_app::{App, TenantCtx};

/// The app, put into every request by the HTTP layer.
pub(crate) fn app<'a>(ctx: &'a Context<'_>) -> &'a App {
    ctx.data_unchecked::<Arc<App>>()
}

/// The tenant the request is addressed to, put into every tenant request by the HTTP layer.
pub(crate) fn tenant(ctx: &Context<'_>) -> Arc<TenantCtx> {
    ctx.data_unchecked::<Arc<TenantCtx>>().clone()
}

/// A schema's SDL with fields, enum items and arguments sorted, as checked in.
pub(crate) fn sorted_sdl<Q, M, S>(schema: &Schema<Q, M, S>) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .sorted_fields()
            .sorted_enum_items()
            .sorted_arguments(),
    )
}
