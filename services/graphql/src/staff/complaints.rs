//! Complaints as staff and clients see them (CI-23).

use async_graphql::connection::Connection;
use async_graphql::{Enum, InputObject, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use okienko_app::records::ComplaintRow;

use super::access::ts;
use okienko_app::staff_ops::complaints;

// ---------------------------------------------------------------------------------------------
// Complaints

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ComplaintStatus {
    Open,
    Answered,
    Closed,
}

impl ComplaintStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ComplaintStatus::Open => "open",
            ComplaintStatus::Answered => "answered",
            ComplaintStatus::Closed => "closed",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ComplaintChannel {
    /// Through the public API.
    Online,
    Letter,
    Email,
    Phone,
    InPerson,
}

impl From<ComplaintChannel> for complaints::Channel {
    fn from(c: ComplaintChannel) -> Self {
        match c {
            ComplaintChannel::Online => complaints::Channel::Online,
            ComplaintChannel::Letter => complaints::Channel::Letter,
            ComplaintChannel::Email => complaints::Channel::Email,
            ComplaintChannel::Phone => complaints::Channel::Phone,
            ComplaintChannel::InPerson => complaints::Channel::InPerson,
        }
    }
}

impl From<complaints::Channel> for ComplaintChannel {
    fn from(c: complaints::Channel) -> Self {
        match c {
            complaints::Channel::Online => ComplaintChannel::Online,
            complaints::Channel::Letter => ComplaintChannel::Letter,
            complaints::Channel::Email => ComplaintChannel::Email,
            complaints::Channel::Phone => ComplaintChannel::Phone,
            complaints::Channel::InPerson => ComplaintChannel::InPerson,
        }
    }
}

/// A complaint (reklamacja, CI-23).
#[derive(SimpleObject)]
pub struct Complaint {
    id: ID,
    number: i64,
    /// How the client refers to it, e.g. "RK-12".
    reference: String,
    channel: ComplaintChannel,
    status: ComplaintStatus,
    text: Option<String>,
    contact_email: Option<String>,
    /// The booking code as given.
    booking_code: Option<String>,
    /// The booking with that code, when there is one.
    booking_id: Option<ID>,
    filed_at: DateTime<Utc>,
    /// The staff member who registered it; null when filed online.
    filed_by: Option<String>,
    /// The last day for the answer: 14 calendar days after filing.
    deadline: NaiveDate,
    /// Open past its deadline.
    overdue: bool,
    answer: Option<String>,
    answered_at: Option<DateTime<Utc>>,
    answered_by: Option<String>,
    closed_at: Option<DateTime<Utc>>,
    erased_at: Option<DateTime<Utc>>,
}

impl Complaint {
    pub(crate) fn from_row(c: &ComplaintRow, now: i64) -> Complaint {
        Complaint {
            id: ID(c.id.to_string()),
            number: c.number,
            reference: complaints::reference(c),
            channel: complaints::Channel::parse(&c.channel)
                .unwrap_or(complaints::Channel::Online)
                .into(),
            status: match c.status.as_str() {
                "answered" => ComplaintStatus::Answered,
                "closed" => ComplaintStatus::Closed,
                _ => ComplaintStatus::Open,
            },
            text: c.body.clone(),
            contact_email: c.contact_email.clone(),
            booking_code: c.booking_code.clone(),
            booking_id: c.booking_id.map(|id| ID(id.to_string())),
            filed_at: ts(c.filed_at),
            filed_by: c.filed_by.clone(),
            deadline: complaints::deadline_day(ts(c.filed_at)),
            overdue: complaints::is_overdue(c, now),
            answer: c.answer.clone(),
            answered_at: c.answered_at.map(ts),
            answered_by: c.answered_by.clone(),
            closed_at: c.closed_at.map(ts),
            erased_at: c.erased_at.map(ts),
        }
    }
}

pub type ComplaintConnection = Connection<String, Complaint>;

#[derive(InputObject)]
pub struct StaffComplaintInput {
    /// How it arrived (CI-23: by letter or e-mail).
    pub(crate) channel: ComplaintChannel,
    pub(crate) text: String,
    /// Where the answer goes.
    pub(crate) contact_email: Option<String>,
    pub(crate) booking_code: Option<String>,
}

/// A complaint filed through the public API.
#[derive(InputObject)]
pub struct ComplaintInput {
    /// What the complaint is about (10–5000 characters).
    pub(crate) text: String,
    /// Where the acknowledgement and the answer go.
    pub(crate) contact_email: Option<String>,
    /// The booking it concerns, if any.
    pub(crate) booking_code: Option<String>,
}

#[derive(SimpleObject)]
pub struct ComplaintReceipt {
    /// Quote it in any further correspondence, e.g. "RK-12".
    pub(crate) reference: String,
    pub(crate) filed_at: DateTime<Utc>,
    /// The answer comes at the latest on this day (14 calendar days, CI-23).
    pub(crate) deadline: NaiveDate,
}
