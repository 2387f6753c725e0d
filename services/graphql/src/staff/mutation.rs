//! The staff operations' changes, merged into the admin API's `Mutation`.

use async_graphql::{Context, Object, Result, ID};
use okienko_domain::config::RetentionRules;

use super::access::{parse_id, staff};
use super::bookings::{StaffBooking, VisitOutcome};
use super::complaints::{Complaint, StaffComplaintInput};
use super::inputs::{
    ClientSelectorInput, ErasureReport, PhoneBookingInput, PhoneBookingPayload, RetentionSchedule,
};
use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use okienko_app::auth::Permission;
use okienko_app::booking::ClientData;
use okienko_app::config_edit;
use okienko_app::staff_ops::{complaints, decisions, personal_data, phone, staff_actor};

// ---------------------------------------------------------------------------------------------
// Root: mutations

/// The staff mutations, merged into the admin API's `Mutation`.
#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Books a visit for a caller on the staff quota (ZG-10, GD-2, OP-3, CI-22): confirmed at
    /// once; read the returned `code` out; with an e-mail the confirmation with number, desk,
    /// date and time is sent (GD-4).
    async fn create_phone_booking(
        &self,
        ctx: &Context<'_>,
        input: PhoneBookingInput,
    ) -> Result<PhoneBookingPayload> {
        let s = staff(ctx, Permission::BookForClients)?;
        let t = tenant(ctx);
        let req = phone::PhoneRequest {
            service_id: input.service_id.to_string(),
            start: input.start,
            client: ClientData {
                name: Some(input.client.name),
                email: input.client.email,
                phone: input.client.phone,
            },
            fields: input.fields.into_iter().map(|f| (f.key, f.value)).collect(),
            consents: input.consents,
            idempotency_key: input.idempotency_key,
        };
        let made = phone::create(app(ctx), &t, &s, req).await.gql()?;
        Ok(PhoneBookingPayload {
            code: made.booking.booking.code.clone(),
            booking: StaffBooking::from_row(t, &made.booking),
            replayed: made.replayed,
        })
    }

    /// Cancels a booking for its client (e.g. on the phone, GD-13), under the city's
    /// cancellation cutoff; the client is e-mailed.
    async fn cancel_booking_for_client(&self, ctx: &Context<'_>, id: ID) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::BookForClients)?;
        let id = parse_id("id", &id)?;
        let t = tenant(ctx);
        let row = phone::cancel_for_client(app(ctx), &t, &s, id).await.gql()?;
        Ok(StaffBooking::from_row(t, &row))
    }

    /// Rejects a booking with a reason the client is e-mailed (ZG-13: fictitious vehicle data,
    /// the wrong service); the seat is free again at once.
    async fn reject_booking(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::RejectBookings)?;
        let id = parse_id("id", &id)?;
        let t = tenant(ctx);
        let row = decisions::reject(app(ctx), &t, &s, id, &reason)
            .await
            .gql()?;
        Ok(StaffBooking::from_row(t, &row))
    }

    /// Records how a confirmed visit went (ZG-14: a refusal needs a note); a no-show counts
    /// against the client (OP-14).
    async fn record_visit_outcome(
        &self,
        ctx: &Context<'_>,
        id: ID,
        outcome: VisitOutcome,
        note: Option<String>,
    ) -> Result<StaffBooking> {
        let s = staff(ctx, Permission::DeskWork)?;
        let id = parse_id("id", &id)?;
        let t = tenant(ctx);
        let row = decisions::record_outcome(app(ctx), &t, &s, id, outcome.into(), note.as_deref())
            .await
            .gql()?;
        Ok(StaffBooking::from_row(t, &row))
    }

    /// Corrects a client's name, e-mail or phone on all their bookings not yet erased (P-5).
    async fn correct_client_data(
        &self,
        ctx: &Context<'_>,
        client: ClientSelectorInput,
        name: Option<String>,
        email: Option<String>,
        phone: Option<String>,
    ) -> Result<Vec<StaffBooking>> {
        let s = staff(ctx, Permission::ManagePersonalData)?;
        let sel = client.selector()?;
        let t = tenant(ctx);
        let rows =
            personal_data::correct(app(ctx), &t, &s, &sel, ClientData { name, email, phone })
                .await
                .gql()?;
        Ok(rows
            .iter()
            .map(|r| StaffBooking::from_row(t.clone(), r))
            .collect())
    }

    /// Erases a client's personal data on their request, with the reason (P-5). Bookings keep
    /// status, service and slot; an active booking must be cancelled or rejected first.
    async fn erase_client_data(
        &self,
        ctx: &Context<'_>,
        client: ClientSelectorInput,
        reason: String,
    ) -> Result<ErasureReport> {
        let s = staff(ctx, Permission::ManagePersonalData)?;
        let sel = client.selector()?;
        let e = personal_data::erase(app(ctx), &tenant(ctx), &s, &sel, &reason)
            .await
            .gql()?;
        let n = |x: u64| i32::try_from(x).unwrap_or(i32::MAX);
        Ok(ErasureReport {
            bookings: n(e.bookings as u64),
            complaints: n(e.complaints as u64),
            messages: n(e.messages),
        })
    }

    /// Registers a complaint received by letter, e-mail, phone or in person (CI-23).
    async fn register_complaint(
        &self,
        ctx: &Context<'_>,
        input: StaffComplaintInput,
    ) -> Result<Complaint> {
        let s = staff(ctx, Permission::FileComplaints)?;
        let a = app(ctx);
        let c = complaints::file(
            a,
            &tenant(ctx),
            Some(&s),
            input.channel.into(),
            complaints::Filing {
                text: input.text,
                contact_email: input.contact_email,
                booking_code: input.booking_code,
            },
        )
        .await
        .gql()?;
        Ok(Complaint::from_row(&c, a.clock.now().timestamp()))
    }

    /// Answers an open complaint; the answer is e-mailed to its contact address.
    async fn answer_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        answer: String,
    ) -> Result<Complaint> {
        let s = staff(ctx, Permission::AnswerComplaints)?;
        let id = parse_id("id", &id)?;
        let a = app(ctx);
        let c = complaints::answer(a, &tenant(ctx), &s, id, &answer)
            .await
            .gql()?;
        Ok(Complaint::from_row(&c, a.clock.now().timestamp()))
    }

    async fn close_complaint(&self, ctx: &Context<'_>, id: ID) -> Result<Complaint> {
        let s = staff(ctx, Permission::AnswerComplaints)?;
        let id = parse_id("id", &id)?;
        let a = app(ctx);
        let c = complaints::close(a, &tenant(ctx), &s, id).await.gql()?;
        Ok(Complaint::from_row(&c, a.clock.now().timestamp()))
    }

    /// Sets how long personal data are kept after the visit (P-5), and for phone bookings
    /// (GD-14: 0, until the visit day). Applied by the retention worker from now on.
    async fn set_retention(
        &self,
        ctx: &Context<'_>,
        days_after_visit: u32,
        phone_days_after_visit: Option<u32>,
    ) -> Result<RetentionSchedule> {
        let s = staff(ctx, Permission::EditConfig)?;
        let rules = RetentionRules {
            days_after_visit,
            phone_days_after_visit,
        };
        let cfg = config_edit::edit(
            app(ctx),
            s.tenant,
            &staff_actor(&s),
            "config.set_retention",
            "retention",
            move |c| {
                c.retention = rules;
                Ok(())
            },
        )
        .await
        .gql()?;
        Ok(RetentionSchedule {
            days_after_visit: cfg.retention.days_after_visit,
            phone_days_after_visit: cfg.retention.phone_days_after_visit,
        })
    }
}
