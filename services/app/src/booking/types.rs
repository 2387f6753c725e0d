//! What the booking use cases take and give: requests, answers, limits, a booking's status.

use chrono::{DateTime, Utc};
use okienko_domain::booking::BookingStatus;
use okienko_domain::config::ConfirmationMode;
use okienko_domain::DomainError;
use okienko_store::BookingRow;
use serde::Serialize;

use crate::catalog::{ServiceCtx, TenantCtx};

/// After this many wrong codes a booking can no longer be confirmed by code.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// The longest availability range one request may ask for.
pub const MAX_RANGE_DAYS: i64 = 62;
pub(crate) const MAX_FIELDS: usize = 20;

pub use crate::client::ClientData;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CodeChannel {
    Email,
    Sms,
}

#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub service_id: String,
    pub start: DateTime<Utc>,
    pub client: ClientData,
    pub fields: Vec<(String, String)>,
    pub accepted_terms_version: String,
    pub consents: Vec<String>,
    pub channel: CodeChannel,
    pub idempotency_key: Option<String>,
    /// A resident-card login (GD-5): the client's data come from its claims.
    pub resident_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CreatedBooking {
    pub booking: BookingRow,
    pub token: String,
    pub replayed: bool,
}

pub fn service_by_id<'a>(tenant: &'a TenantCtx, id: &str) -> Result<&'a ServiceCtx, DomainError> {
    id.trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| tenant.service(n))
        .ok_or(DomainError::NotFound)
}

pub(crate) fn mode_str(m: ConfirmationMode) -> &'static str {
    match m {
        ConfirmationMode::Immediate => "immediate",
        ConfirmationMode::EmailLink => "email_link",
        ConfirmationMode::EmailCode => "email_code",
    }
}

pub fn status_of(b: &BookingRow) -> BookingStatus {
    BookingStatus::parse(&b.status).unwrap_or(BookingStatus::Cancelled)
}
