//! Staff operations on bookings (issue 5, phase B), as use cases: phone bookings on the staff
//! quota, cancellation for a client, rejection, the visit's outcome, the client's personal-data
//! rights and complaints. Their GraphQL face is `okienko_graphql::staff`.

pub mod complaints;
pub mod decisions;
pub mod personal_data;
pub mod phone;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use okienko_domain::calendar::{local_date, local_to_utc};
use okienko_domain::DomainError;

use crate::auth::StaffRef;

/// How the audit log and the history name a staff member.
pub fn staff_actor(s: &StaffRef) -> String {
    format!("user:{} {} ({})", s.user.id, s.user.login, s.role.as_str())
}

/// Free text staff or clients write: trimmed, `min..=max` characters, no control characters
/// but line breaks and tabs.
pub fn check_text(field: &str, s: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(DomainError::invalid(
            field,
            format!("wpisz co najmniej {min} znaki"),
        ));
    }
    if n > max {
        return Err(DomainError::invalid(
            field,
            format!("za długie (najwyżej {max} znaków)"),
        ));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(field, "zawiera niedozwolone znaki"));
    }
    Ok(t.to_string())
}

/// The start of local day `d`, as a UNIX timestamp.
pub fn midnight(d: NaiveDate) -> i64 {
    local_to_utc(d.and_time(NaiveTime::MIN))
        .map(|t| t.timestamp())
        .unwrap_or_else(|| d.and_time(NaiveTime::MIN).and_utc().timestamp())
}

/// Visits before this instant are past a retention of `days` at `now`: the start of the local
/// day `days` days before today (kept through the `days`-th day after the visit day).
pub fn cutoff(now: DateTime<Utc>, days: u32) -> i64 {
    midnight(local_date(now) - Duration::days(i64::from(days)))
}

/// When the personal data of a visit at `visit` are erased under a retention of `days`: the
/// start of the local day after the `days`-th day after the visit day.
pub fn expiry_after(visit: DateTime<Utc>, days: u32) -> i64 {
    midnight(local_date(visit) + Duration::days(i64::from(days) + 1))
}
