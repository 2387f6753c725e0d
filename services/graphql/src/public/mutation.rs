//! The public API's booking changes: create, confirm, cancel, reschedule; each counted
//! against the client's rate limits first.

use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use okienko_app::rate_limit::{ClientIp, Kind};

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{
    Booking, ClientInput, ConfirmationChannel, CreateBookingInput, CreateBookingPayload,
};
use okienko_app::booking::{self, ClientData, CodeChannel, CreateRequest};
use okienko_app::catalog::TenantCtx;

/// Counts one request of `kind` from the client's address (`rate_limit`).
pub(crate) async fn limit(
    ctx: &Context<'_>,
    t: &TenantCtx,
    kind: Kind,
    per_minute: u32,
) -> Result<()> {
    let client = ctx.data_opt::<ClientIp>().and_then(|c| c.0);
    app(ctx)
        .rate_limits
        .check(kind, t.id.0, &client, per_minute)
        .await
        .map_err(crate::gql_errors::limited)
}

pub struct Mutation;

// Merged into the root `Mutation` (see `PublicMutation`); the part's own name never shows.
#[Object(name = "BookingMutation")]
impl Mutation {
    async fn create_booking(
        &self,
        ctx: &Context<'_>,
        input: CreateBookingInput,
    ) -> Result<CreateBookingPayload> {
        let t = tenant(ctx);
        limit(
            ctx,
            &t,
            Kind::Booking,
            t.cfg.rate_limits.bookings_per_minute,
        )
        .await?;
        let req = CreateRequest {
            service_id: input.service_id.to_string(),
            start: input.start,
            client: ClientData {
                name: input.client.name,
                email: input.client.email,
                phone: input.client.phone,
            },
            fields: input.fields.into_iter().map(|f| (f.key, f.value)).collect(),
            accepted_terms_version: input.accepted_terms_version,
            consents: input.consents,
            channel: match input.confirmation_channel {
                ConfirmationChannel::Email => CodeChannel::Email,
                ConfirmationChannel::Sms => CodeChannel::Sms,
            },
            idempotency_key: input.idempotency_key,
            resident_token: input.resident_token,
        };
        let created = booking::create(app(ctx), &t, req).await.gql()?;
        Ok(CreateBookingPayload {
            booking: Booking::from_row(t, &created.booking),
            management_token: created.token,
            replayed: created.replayed,
        })
    }

    /// Confirms a pending booking: with the token from the e-mailed link, or with the
    /// management token and the code from the e-mail or SMS.
    async fn confirm_booking(
        &self,
        ctx: &Context<'_>,
        token: String,
        code: Option<String>,
    ) -> Result<Booking> {
        let t = tenant(ctx);
        if code.is_some() {
            limit(
                ctx,
                &t,
                Kind::Code,
                t.cfg.rate_limits.code_attempts_per_minute,
            )
            .await?;
        }
        let b = booking::confirm(app(ctx), &t, &token, code.as_deref())
            .await
            .gql()?;
        Ok(Booking::from_row(t, &b))
    }

    /// Moves a booking to another slot of its service, where the city allows it (CI-21 does not).
    async fn reschedule_booking(
        &self,
        ctx: &Context<'_>,
        token: String,
        start: DateTime<Utc>,
    ) -> Result<Booking> {
        let t = tenant(ctx);
        let b = booking::reschedule(app(ctx), &t, &token, start)
            .await
            .gql()?;
        Ok(Booking::from_row(t, &b))
    }

    /// Corrects the client's contact data; the person named cannot change where the city
    /// forbids it (GD-12).
    async fn update_booking_client(
        &self,
        ctx: &Context<'_>,
        token: String,
        client: ClientInput,
    ) -> Result<Booking> {
        let t = tenant(ctx);
        let data = ClientData {
            name: client.name,
            email: client.email,
            phone: client.phone,
        };
        let b = booking::update_client(app(ctx), &t, &token, data)
            .await
            .gql()?;
        Ok(Booking::from_row(t, &b))
    }

    async fn cancel_booking(&self, ctx: &Context<'_>, token: String) -> Result<Booking> {
        let t = tenant(ctx);
        let b = booking::cancel(app(ctx), &t, &token).await.gql()?;
        Ok(Booking::from_row(t, &b))
    }
}
