//! The public API's reads: the city, its services and their availability, a booking by
//! its token.

use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use chrono::NaiveDate;
use okienko_domain::calendar::{to_local, BookingWindow};

use super::types::{
    AvailabilityDay, AvailableSlot, Booking, BookingWindowInfo, Office, Service, Tenant,
};
use okienko_app::booking::{self};

// ---------------------------------------------------------------------------------------------
// Root

pub struct Query;

#[Object]
impl Query {
    async fn tenant(&self, ctx: &Context<'_>) -> Tenant {
        Tenant(tenant(ctx))
    }

    async fn offices(&self, ctx: &Context<'_>) -> Vec<Office> {
        let t = tenant(ctx);
        t.offices
            .iter()
            .map(|o| Office {
                tenant: t.clone(),
                id: o.id,
            })
            .collect()
    }

    /// Services, optionally of one office.
    async fn services(&self, ctx: &Context<'_>, office_id: Option<ID>) -> Vec<Service> {
        let t = tenant(ctx);
        let office = office_id.map(|id| id.parse::<i64>().unwrap_or(-1));
        t.services
            .iter()
            .filter(|s| office.is_none_or(|o| s.office_id == o))
            .map(|s| Service {
                tenant: t.clone(),
                id: s.id,
            })
            .collect()
    }

    async fn service(&self, ctx: &Context<'_>, id: ID) -> Result<Service> {
        let t = tenant(ctx);
        let s = booking::service_by_id(&t, &id).map_err(|e| crate::gql_errors::to_gql(&e))?;
        Ok(Service {
            id: s.id,
            tenant: t.clone(),
        })
    }

    /// The days from the first bookable one to the last, for a service.
    async fn booking_window(&self, ctx: &Context<'_>, service_id: ID) -> Result<BookingWindowInfo> {
        let t = tenant(ctx);
        let s =
            booking::service_by_id(&t, &service_id).map_err(|e| crate::gql_errors::to_gql(&e))?;
        let w = BookingWindow::compute(&t.cfg.booking, &t.calendar(s), app(ctx).clock.now());
        Ok(BookingWindowInfo {
            first_day: w.first_day,
            last_day: w.last_day,
        })
    }

    /// Slots and remaining online seats per day of `[from, to]` (at most 62 days).
    async fn availability(
        &self,
        ctx: &Context<'_>,
        service_id: ID,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AvailabilityDay>> {
        let t = tenant(ctx);
        // The HTTP layer may keep this answer (`usage_cache::Answers`): it must know, from
        // before the read, the usage generation the answer stands on.
        if let Some(deps) = ctx.data_opt::<Arc<okienko_app::usage_cache::ReadDeps>>() {
            if let Ok(service) = booking::service_by_id(&t, &service_id) {
                deps.note(t.id, service.id);
            }
        }
        let days = booking::availability(app(ctx), &t, &service_id, from, to)
            .await
            .gql()?;
        Ok(days
            .into_iter()
            .map(|d| AvailabilityDay {
                date: d.date,
                closed_reason: d.closed,
                slots: d
                    .slots
                    .into_iter()
                    .map(|s| AvailableSlot {
                        start: s.start,
                        end: s.end,
                        time: to_local(s.start).format("%H:%M").to_string(),
                        remaining: s.remaining,
                    })
                    .collect(),
            })
            .collect())
    }

    /// A booking by its management token.
    async fn booking(&self, ctx: &Context<'_>, token: String) -> Result<Booking> {
        let t = tenant(ctx);
        let b = booking::by_token(app(ctx), &t, &token).await.gql()?;
        Ok(Booking::from_row(t, &b))
    }
}
