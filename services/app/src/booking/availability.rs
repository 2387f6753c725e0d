//! Availability: the free seats of one service's slots over a range of days.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use okienko_domain::booking::Quota;
use okienko_domain::calendar::{BookingWindow, DayClosed};
use okienko_domain::DomainError;

use super::types::{service_by_id, MAX_RANGE_DAYS};
use crate::catalog::TenantCtx;
use crate::error::ApiResult;
use crate::usage_cache::ReadDeps;
use crate::App;

// ---------------------------------------------------------------------------------------------
// Availability

#[derive(Debug, Clone)]
pub struct DaySlots {
    pub date: NaiveDate,
    /// Why the day has no slots, in Polish.
    pub closed: Option<String>,
    pub slots: Vec<SlotSeats>,
}

#[derive(Debug, Clone, Copy)]
pub struct SlotSeats {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub remaining: i64,
}

/// The days of `[from, to]` with their slots and remaining online seats.
pub async fn availability(
    app: &App,
    tenant: &TenantCtx,
    service_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<DaySlots>> {
    availability_of(app, tenant, service_id, from, to, Quota::Online).await
}

/// The days of `[from, to]` with their slots and the seats remaining in `quota` (staff
/// bookings draw on their own, P-3).
pub async fn availability_of(
    app: &App,
    tenant: &TenantCtx,
    service_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    quota: Quota,
) -> ApiResult<Vec<DaySlots>> {
    let service = service_by_id(tenant, service_id)?;
    if !service.cfg.bookable {
        return Err(DomainError::NotBookable.into());
    }
    if to < from {
        return Err(DomainError::InvalidRange("data końcowa jest przed początkową".into()).into());
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(DomainError::InvalidRange(format!(
            "najwyżej {MAX_RANGE_DAYS} dni w jednym zapytaniu"
        ))
        .into());
    }
    let now = app.clock.now();
    let cal = tenant.calendar(service);
    let window = BookingWindow::compute(&tenant.cfg.booking, &cal, now);
    let mut days = Vec::new();
    let mut d = from;
    while d <= to {
        let mut day = DaySlots {
            date: d,
            closed: None,
            slots: Vec::new(),
        };
        if !window.contains_day(d) {
            day.closed = Some("Poza okresem, w którym można rezerwować".into());
        } else {
            match cal.closed(d) {
                Some(DayClosed::Holiday(name)) => day.closed = Some(format!("Święto: {name}")),
                Some(DayClosed::Closure) => day.closed = Some("Urząd nieczynny".into()),
                Some(DayClosed::NoHours) => day.closed = Some("Brak godzin przyjęć".into()),
                None => {
                    day.slots = cal
                        .slots_on(d)
                        .into_iter()
                        .filter(|s| s.start >= window.earliest && s.start > now)
                        .map(|s| SlotSeats {
                            start: s.start,
                            end: s.end,
                            remaining: 0,
                        })
                        .collect();
                }
            }
        }
        days.push(day);
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    let (Some(first), Some(last)) = (
        days.iter()
            .flat_map(|d| d.slots.first())
            .next()
            .map(|s| s.start),
        days.iter()
            .rev()
            .flat_map(|d| d.slots.last())
            .next()
            .map(|s| s.start),
    ) else {
        return Ok(days);
    };
    let used = app
        .usage_cache
        .slot_usage(
            &app.db,
            tenant.id,
            service.id,
            quota.as_str(),
            first.timestamp(),
            last.timestamp() + 1,
        )
        .await?;
    let capacity = i64::from(match quota {
        Quota::Online => service.cfg.capacity_online,
        Quota::Staff => service.cfg.capacity_staff,
    });
    for day in &mut days {
        for s in &mut day.slots {
            let taken = used.get(&s.start.timestamp()).copied().unwrap_or(0);
            s.remaining = (capacity - taken).max(0);
        }
    }
    Ok(days)
}

/// The days of `[from, to]` with a free online seat, and how many slots each has free: what the
/// citizens' day page shows. Kept in the usage cache's answers like a whole availability answer
/// of the API (for its minute, while the service's usage stands): a month's slots computed anew
/// for every visitor of a release's day page were the page's main cost.
pub async fn free_days(
    app: &App,
    tenant: &TenantCtx,
    service_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<BTreeMap<NaiveDate, usize>> {
    let service = service_by_id(tenant, service_id)?;
    let key = format!("free-days|{}|{from}|{to}", service.id);
    let began = app.clock.now();
    if let Some(kept) = app
        .usage_cache
        .answer(tenant.id, key.as_bytes(), began)
        .await
    {
        if let Some(days) = decode_free_days(&kept) {
            return Ok(days);
        }
    }
    // Noted before the read: a change racing with it leaves the kept answer stale, never wrong.
    let deps = ReadDeps::default();
    deps.note(tenant.id, service.id);
    let days: BTreeMap<NaiveDate, usize> = availability(app, tenant, service_id, from, to)
        .await?
        .into_iter()
        .filter_map(|d| {
            let free = d.slots.iter().filter(|x| x.remaining > 0).count();
            (free > 0).then_some((d.date, free))
        })
        .collect();
    let body = days
        .iter()
        .map(|(d, n)| format!("{d}={n}"))
        .collect::<Vec<_>>()
        .join(";");
    app.usage_cache
        .keep_answer(
            tenant.id,
            Bytes::from(key),
            &deps,
            began,
            app.clock.now(),
            Bytes::from(body),
        )
        .await;
    Ok(days)
}

/// `2027-01-04=12;2027-01-05=3` back into days (None for anything else).
fn decode_free_days(kept: &[u8]) -> Option<BTreeMap<NaiveDate, usize>> {
    let text = std::str::from_utf8(kept).ok()?;
    text.split(';')
        .filter(|x| !x.is_empty())
        .map(|x| {
            let (d, n) = x.split_once('=')?;
            Some((d.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kept_free_days_read_back_as_they_were() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let days = BTreeMap::from([(d("2027-01-04"), 12), (d("2027-01-05"), 3)]);
        assert_eq!(decode_free_days(b"2027-01-04=12;2027-01-05=3"), Some(days));
        assert_eq!(decode_free_days(b""), Some(BTreeMap::new()));
        assert_eq!(decode_free_days(b"2027-01-04"), None);
        assert_eq!(decode_free_days(b"{\"data\":1}"), None);
    }
}
