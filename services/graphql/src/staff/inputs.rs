//! Inputs and payloads of the staff operations: phone bookings, client selectors,
//! erasure reports and the retention schedule.

use async_graphql::{InputObject, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::access::parse_id;
use super::bookings::StaffBooking;
use okienko_app::staff_ops::personal_data;

// ---------------------------------------------------------------------------------------------
// Inputs and payloads

#[derive(InputObject)]
pub struct PhoneClientInput {
    /// Required (GD-2).
    pub(crate) name: String,
    /// Optional; with it the confirmation is e-mailed (GD-4).
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

#[derive(InputObject)]
pub struct PhoneFieldInput {
    pub(crate) key: String,
    pub(crate) value: String,
}

#[derive(InputObject)]
pub struct PhoneBookingInput {
    pub(crate) service_id: ID,
    pub(crate) start: DateTime<Utc>,
    pub(crate) client: PhoneClientInput,
    #[graphql(default)]
    pub(crate) fields: Vec<PhoneFieldInput>,
    /// Keys of the consents the caller gave on the phone (recorded with their versions, P-4).
    #[graphql(default)]
    pub(crate) consents: Vec<String>,
    /// A retried request with the same key returns the first booking.
    pub(crate) idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct PhoneBookingPayload {
    /// The reservation number to read out to the caller (GD-4, CI-22).
    pub(crate) code: String,
    pub(crate) booking: StaffBooking,
    /// True when the idempotency key had been used and this is the first request's booking.
    pub(crate) replayed: bool,
}

/// Whose personal data: any of an e-mail address, a phone number or one booking.
#[derive(InputObject)]
pub struct ClientSelectorInput {
    email: Option<String>,
    phone: Option<String>,
    booking_id: Option<ID>,
}

impl ClientSelectorInput {
    pub(crate) fn selector(&self) -> Result<personal_data::Selector> {
        Ok(personal_data::Selector {
            email: self.email.clone(),
            phone: self.phone.clone(),
            booking_id: match &self.booking_id {
                Some(id) => Some(parse_id("client.bookingId", id)?),
                None => None,
            },
        })
    }
}

#[derive(SimpleObject)]
pub struct ErasureReport {
    /// Bookings whose personal data were erased now.
    pub(crate) bookings: i32,
    pub(crate) complaints: i32,
    /// Messages scrubbed besides those of the bookings.
    pub(crate) messages: i32,
}

#[derive(SimpleObject)]
pub struct RetentionSchedule {
    /// Days after the visit day that personal data are kept (P-5).
    pub(crate) days_after_visit: u32,
    /// For phone bookings, when shorter (GD-14: 0).
    pub(crate) phone_days_after_visit: Option<u32>,
}
