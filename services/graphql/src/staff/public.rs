//! `fileComplaint`, merged into the public API's `Mutation`.

use async_graphql::{Context, Object, Result};

use super::access::ts;
use super::complaints::{ComplaintInput, ComplaintReceipt};
use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use okienko_app::staff_ops::complaints;

/// `fileComplaint`, merged into the public API's `Mutation`.
#[derive(Default)]
pub struct PublicComplaints;

#[Object]
impl PublicComplaints {
    /// Files a complaint (reklamacja, CI-23); it is answered within 14 calendar days. With a
    /// contact e-mail the acknowledgement and the answer are sent there.
    async fn file_complaint(
        &self,
        ctx: &Context<'_>,
        input: ComplaintInput,
    ) -> Result<ComplaintReceipt> {
        let t = tenant(ctx);
        let c = complaints::file(
            app(ctx),
            &t,
            None,
            complaints::Channel::Online,
            complaints::Filing {
                text: input.text,
                contact_email: input.contact_email,
                booking_code: input.booking_code,
            },
        )
        .await
        .gql()?;
        Ok(ComplaintReceipt {
            reference: complaints::reference(&c),
            filed_at: ts(c.filed_at),
            deadline: complaints::deadline_day(ts(c.filed_at)),
        })
    }
}
