//! Calendars: Polish public holidays, weekly hours, the booking window and the slots of a day.
//! Everything is computed in Europe/Warsaw local time and turned into UTC instants at the end,
//! so a slot is correct on the days the clocks change (P-2).

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::config::{BookingRules, MinNotice};
use crate::error::DomainError;
pub use crate::week::{local_date, local_to_utc, to_local, Weekday7, WeeklyHours, TZ};

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(NaiveDate::MIN)
}

/// The name of the Polish public holiday on this day, if it is one
/// (ustawa o dniach wolnych od pracy; 24 December since 2025).
pub fn public_holiday(d: NaiveDate) -> Option<&'static str> {
    let fixed = match (d.month(), d.day()) {
        (1, 1) => Some("Nowy Rok"),
        (1, 6) => Some("Święto Trzech Króli"),
        (5, 1) => Some("Święto Pracy"),
        (5, 3) => Some("Święto Konstytucji 3 Maja"),
        (8, 15) => Some("Wniebowzięcie Najświętszej Maryi Panny"),
        (11, 1) => Some("Wszystkich Świętych"),
        (11, 11) => Some("Narodowe Święto Niepodległości"),
        (12, 24) if d.year() >= 2025 => Some("Wigilia Bożego Narodzenia"),
        (12, 25) => Some("Boże Narodzenie (pierwszy dzień)"),
        (12, 26) => Some("Boże Narodzenie (drugi dzień)"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let easter = easter_sunday(d.year());
    let offset = (d - easter).num_days();
    match offset {
        0 => Some("Wielkanoc"),
        1 => Some("Poniedziałek Wielkanocny"),
        49 => Some("Zielone Świątki"),
        60 => Some("Boże Ciało"),
        _ => None,
    }
}

/// What makes a day open or closed for one bookable service.
#[derive(Debug, Clone)]
pub struct Calendar<'a> {
    pub hours: &'a WeeklyHours,
    pub closures: &'a [NaiveDate],
    pub slot_minutes: u32,
}

/// Why a day has no slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayClosed {
    Holiday(&'static str),
    Closure,
    NoHours,
}

impl Calendar<'_> {
    pub fn closed(&self, d: NaiveDate) -> Option<DayClosed> {
        if let Some(name) = public_holiday(d) {
            return Some(DayClosed::Holiday(name));
        }
        if self.closures.contains(&d) {
            return Some(DayClosed::Closure);
        }
        if self.hours.on(d).is_empty() {
            return Some(DayClosed::NoHours);
        }
        None
    }

    /// A working day: open for this calendar.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.closed(d).is_none()
    }

    /// The slots of one local day, in order. Local times that do not exist (the spring
    /// change) are skipped; ambiguous ones (the autumn change) take the earlier instant.
    pub fn slots_on(&self, d: NaiveDate) -> Vec<Slot> {
        if self.closed(d).is_some() || self.slot_minutes == 0 {
            return Vec::new();
        }
        let step = Duration::minutes(i64::from(self.slot_minutes));
        let mut out = Vec::new();
        for &(open, close) in self.hours.on(d) {
            let mut t = d.and_time(open);
            let end = d.and_time(close);
            while t + step <= end {
                if let Some(start) = local_to_utc(t) {
                    out.push(Slot {
                        start,
                        end: start + step,
                        local: t,
                    });
                }
                t += step;
            }
        }
        out
    }
}

/// One bookable interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub local: NaiveDateTime,
}

/// The days and the earliest instant a client may book now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingWindow {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// No slot starting before this instant is offered.
    pub earliest: DateTime<Utc>,
}

impl BookingWindow {
    pub fn compute(rules: &BookingRules, cal: &Calendar<'_>, now: DateTime<Utc>) -> BookingWindow {
        let today = local_date(now);
        let mut last_day = today;
        if let Some(days) = rules.horizon_days {
            last_day = today + Duration::days(i64::from(days));
        }
        if let Some(months) = rules.horizon_months {
            let by_months = today
                .checked_add_months(Months::new(months))
                .unwrap_or(today);
            last_day = last_day.max(by_months);
        }
        match rules.min_notice {
            MinNotice::Minutes { minutes } => {
                let earliest = now + Duration::minutes(i64::from(minutes));
                BookingWindow {
                    first_day: local_date(earliest),
                    last_day,
                    earliest,
                }
            }
            MinNotice::NextWorkingDay => {
                let mut d = today + Duration::days(1);
                // A year of closed days would be a broken calendar; stop looking after that.
                for _ in 0..366 {
                    if cal.is_working_day(d) {
                        break;
                    }
                    d += Duration::days(1);
                }
                let earliest = local_to_utc(d.and_time(NaiveTime::MIN))
                    .unwrap_or(now)
                    .max(now);
                BookingWindow {
                    first_day: d,
                    last_day,
                    earliest,
                }
            }
        }
    }

    pub fn contains_day(&self, d: NaiveDate) -> bool {
        d >= self.first_day && d <= self.last_day
    }

    /// The first slot of `cal` this window offers (seats aside), if any before its last day.
    pub fn first_slot(&self, cal: &Calendar<'_>) -> Option<DateTime<Utc>> {
        let mut d = self.first_day;
        while d <= self.last_day {
            if let Some(s) = cal.slots_on(d).iter().find(|s| s.start >= self.earliest) {
                return Some(s.start);
            }
            d = d.succ_opt()?;
        }
        None
    }
}

/// Checks that `start` is a slot this calendar offers now, and returns it.
pub fn check_slot(
    rules: &BookingRules,
    cal: &Calendar<'_>,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
) -> Result<Slot, DomainError> {
    if start <= now {
        return Err(DomainError::SlotInPast);
    }
    let day = local_date(start);
    let window = BookingWindow::compute(rules, cal, now);
    if day > window.last_day {
        return Err(DomainError::BeyondHorizon {
            last_day: window.last_day,
        });
    }
    if start < window.earliest {
        return Err(DomainError::TooSoon {
            first: window.first_slot(cal),
        });
    }
    match cal.closed(day) {
        Some(DayClosed::Holiday(name)) => return Err(DomainError::Holiday { name }),
        Some(DayClosed::Closure) => return Err(DomainError::OfficeClosed),
        Some(DayClosed::NoHours) => return Err(DomainError::OutsideHours),
        None => {}
    }
    cal.slots_on(day)
        .into_iter()
        .find(|s| s.start == start)
        .ok_or(DomainError::OutsideHours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CancellationCutoff;
    use crate::week::WeeklyHoursConfig;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn hours(mon_fri: &str) -> WeeklyHours {
        let v = vec![mon_fri.to_string()];
        WeeklyHours::from_config(&WeeklyHoursConfig {
            mon: v.clone(),
            tue: v.clone(),
            wed: v.clone(),
            thu: v.clone(),
            fri: v,
            ..Default::default()
        })
        .expect("valid hours")
    }

    fn rules(min_notice: MinNotice) -> BookingRules {
        BookingRules {
            horizon_days: Some(30),
            horizon_months: None,
            min_notice,
            cancellation_cutoff: CancellationCutoff::SlotStart,
            required_client_fields: vec![],
            slot_minutes: 15,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    #[test]
    fn easter_dates_known() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
    }

    #[test]
    fn movable_and_fixed_holidays() {
        assert_eq!(
            public_holiday(d(2026, 4, 6)),
            Some("Poniedziałek Wielkanocny")
        );
        assert_eq!(public_holiday(d(2026, 6, 4)), Some("Boże Ciało"));
        assert_eq!(public_holiday(d(2026, 5, 24)), Some("Zielone Świątki"));
        assert_eq!(
            public_holiday(d(2026, 11, 11)),
            Some("Narodowe Święto Niepodległości")
        );
        assert!(public_holiday(d(2025, 12, 24)).is_some());
        assert!(public_holiday(d(2024, 12, 24)).is_none());
        assert!(public_holiday(d(2026, 6, 5)).is_none());
    }

    #[test]
    fn no_slots_on_holiday_or_closure() {
        let h = hours("08:00-10:00");
        let closures = [d(2026, 12, 31)];
        let cal = Calendar {
            hours: &h,
            closures: &closures,
            slot_minutes: 15,
        };
        assert!(cal.slots_on(d(2026, 6, 4)).is_empty(), "Corpus Christi");
        assert!(cal.slots_on(d(2026, 12, 31)).is_empty(), "closure day");
        assert_eq!(cal.slots_on(d(2026, 6, 5)).len(), 8);
    }

    #[test]
    fn dst_spring_day_slots_are_local() {
        // 29 March 2026: clocks go from 02:00 to 03:00. A Sunday, so give Sunday hours.
        let h = WeeklyHours::from_config(&WeeklyHoursConfig {
            sun: vec!["01:00-04:00".into()],
            mon: vec!["08:00-09:00".into()],
            ..Default::default()
        })
        .expect("valid");
        let cal = Calendar {
            hours: &h,
            closures: &[],
            slot_minutes: 30,
        };
        let slots = cal.slots_on(d(2026, 3, 29));
        let locals: Vec<String> = slots
            .iter()
            .map(|s| s.local.format("%H:%M").to_string())
            .collect();
        assert_eq!(locals, ["01:00", "01:30", "03:00", "03:30"]);
        assert_eq!(slots[0].start, utc("2026-03-29T00:00:00Z"));
        assert_eq!(slots[2].start, utc("2026-03-29T01:00:00Z"));
        // Monday after: 08:00 local is 06:00 UTC in summer time.
        let mon = cal.slots_on(d(2026, 3, 30));
        assert_eq!(mon[0].start, utc("2026-03-30T06:00:00Z"));
    }

    #[test]
    fn dst_autumn_day_offsets() {
        // 25 October 2026: back from 03:00 to 02:00; 08:00 local is 07:00 UTC.
        let h = WeeklyHours::from_config(&WeeklyHoursConfig {
            sun: vec!["08:00-09:00".into()],
            ..Default::default()
        })
        .expect("valid");
        let cal = Calendar {
            hours: &h,
            closures: &[],
            slot_minutes: 60,
        };
        assert_eq!(
            cal.slots_on(d(2026, 10, 25))[0].start,
            utc("2026-10-25T07:00:00Z")
        );
        assert_eq!(
            cal.slots_on(d(2026, 10, 18))[0].start,
            utc("2026-10-18T06:00:00Z")
        );
    }

    #[test]
    fn next_working_day_from_friday_is_monday() {
        let h = hours("08:00-15:00");
        let cal = Calendar {
            hours: &h,
            closures: &[],
            slot_minutes: 15,
        };
        // Friday 20 November 2026, 10:00 local.
        let now = utc("2026-11-20T09:00:00Z");
        let w = BookingWindow::compute(&rules(MinNotice::NextWorkingDay), &cal, now);
        assert_eq!(w.first_day, d(2026, 11, 23));
        // Tuesday 10 November → Thursday 12 November (11 November is a holiday).
        let w = BookingWindow::compute(
            &rules(MinNotice::NextWorkingDay),
            &cal,
            utc("2026-11-10T09:00:00Z"),
        );
        assert_eq!(w.first_day, d(2026, 11, 12));
    }

    #[test]
    fn horizon_edges() {
        let h = hours("08:00-15:00");
        let cal = Calendar {
            hours: &h,
            closures: &[],
            slot_minutes: 15,
        };
        let now = utc("2026-11-02T09:00:00Z"); // Monday
        let r = rules(MinNotice::Minutes { minutes: 60 });
        // Last day 2 December 2026 (Wednesday), 08:00 local = 07:00 UTC.
        assert!(check_slot(&r, &cal, now, utc("2026-12-02T07:00:00Z")).is_ok());
        assert!(matches!(
            check_slot(&r, &cal, now, utc("2026-12-03T07:00:00Z")),
            Err(DomainError::BeyondHorizon { .. })
        ));
        // 10:00 local now; 10:45 is under an hour away, 11:00 is exactly an hour.
        assert!(matches!(
            check_slot(&r, &cal, now, utc("2026-11-02T09:45:00Z")),
            Err(DomainError::TooSoon { .. })
        ));
        assert!(check_slot(&r, &cal, now, utc("2026-11-02T10:00:00Z")).is_ok());
        assert_eq!(
            check_slot(&r, &cal, now, utc("2026-11-02T08:00:00Z")),
            Err(DomainError::SlotInPast)
        );
        assert_eq!(
            check_slot(&r, &cal, now, utc("2026-11-03T07:07:00Z")),
            Err(DomainError::OutsideHours)
        );
        assert!(matches!(
            check_slot(&r, &cal, now, utc("2026-11-11T09:00:00Z")),
            Err(DomainError::Holiday { .. })
        ));
    }

    #[test]
    fn month_horizon() {
        let h = hours("08:00-15:00");
        let cal = Calendar {
            hours: &h,
            closures: &[],
            slot_minutes: 15,
        };
        let mut r = rules(MinNotice::NextWorkingDay);
        r.horizon_days = None;
        r.horizon_months = Some(1);
        let w = BookingWindow::compute(&r, &cal, utc("2027-01-31T09:00:00Z"));
        assert_eq!(w.last_day, d(2027, 2, 28));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn slots_lie_inside_hours_and_never_on_holidays(
                day in 0i64..3650,
                open_min in 0u32..(20 * 60),
                len in 1u32..(8 * 60),
                step in prop::sample::select(vec![5u32, 10, 15, 20, 30, 45, 60]),
            ) {
                let date = d(2025, 1, 1) + Duration::days(day);
                let close_min = (open_min + len).min(24 * 60 - 1);
                prop_assume!(close_min > open_min);
                let fmt = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
                let range = format!("{}-{}", fmt(open_min), fmt(close_min));
                let all = vec![range];
                let h = WeeklyHours::from_config(&WeeklyHoursConfig {
                    mon: all.clone(), tue: all.clone(), wed: all.clone(), thu: all.clone(),
                    fri: all.clone(), sat: all.clone(), sun: all,
                }).expect("valid");
                let cal = Calendar { hours: &h, closures: &[], slot_minutes: step };
                let slots = cal.slots_on(date);
                if public_holiday(date).is_some() {
                    prop_assert!(slots.is_empty());
                }
                let (open, close) = h.on(date)[0];
                for s in &slots {
                    prop_assert_eq!(s.local.date(), date);
                    prop_assert!(s.local.time() >= open);
                    prop_assert!(s.local.time() + Duration::minutes(i64::from(step)) <= close);
                    prop_assert_eq!(to_local(s.start), s.local);
                    prop_assert_eq!((s.end - s.start).num_minutes(), i64::from(step));
                }
                prop_assert!(slots.windows(2).all(|w| w[0].start < w[1].start));
            }

            #[test]
            fn check_slot_accepts_exactly_the_offered_slots(
                now_min in 0i64..(60 * 24 * 400),
                pick in 0usize..40,
                day_ahead in 0i64..40,
            ) {
                let h = hours("07:30-14:30");
                let cal = Calendar { hours: &h, closures: &[], slot_minutes: 15 };
                let r = rules(MinNotice::Minutes { minutes: 60 });
                let now = utc("2026-01-01T00:00:00Z") + Duration::minutes(now_min);
                let day = local_date(now) + Duration::days(day_ahead);
                let slots = cal.slots_on(day);
                if let Some(s) = slots.get(pick % slots.len().max(1)) {
                    let w = BookingWindow::compute(&r, &cal, now);
                    let ok = s.start >= w.earliest && s.start > now && w.contains_day(day);
                    prop_assert_eq!(check_slot(&r, &cal, now, s.start).is_ok(), ok);
                }
            }
        }
    }
}
