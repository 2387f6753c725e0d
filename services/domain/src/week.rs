//! The week and the clock of the tenants: Europe/Warsaw, the weekdays, weekly opening hours
//! as configured (`"HH:MM-HH:MM"` ranges) and as parsed, and local ↔ UTC instants. A leaf of
//! the domain: the configuration, the calendars, the queue and the errors build on it.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Warsaw;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The tenants' time zone.
pub const TZ: Tz = Warsaw;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weekday7 {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<Weekday> for Weekday7 {
    fn from(w: Weekday) -> Self {
        match w {
            Weekday::Mon => Weekday7::Mon,
            Weekday::Tue => Weekday7::Tue,
            Weekday::Wed => Weekday7::Wed,
            Weekday::Thu => Weekday7::Thu,
            Weekday::Fri => Weekday7::Fri,
            Weekday::Sat => Weekday7::Sat,
            Weekday::Sun => Weekday7::Sun,
        }
    }
}

/// Opening hours by weekday, each a list of "HH:MM-HH:MM" ranges.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHoursConfig {
    #[serde(default)]
    pub mon: Vec<String>,
    #[serde(default)]
    pub tue: Vec<String>,
    #[serde(default)]
    pub wed: Vec<String>,
    #[serde(default)]
    pub thu: Vec<String>,
    #[serde(default)]
    pub fri: Vec<String>,
    #[serde(default)]
    pub sat: Vec<String>,
    #[serde(default)]
    pub sun: Vec<String>,
}

impl WeeklyHoursConfig {
    pub fn day(&self, d: Weekday7) -> &[String] {
        match d {
            Weekday7::Mon => &self.mon,
            Weekday7::Tue => &self.tue,
            Weekday7::Wed => &self.wed,
            Weekday7::Thu => &self.thu,
            Weekday7::Fri => &self.fri,
            Weekday7::Sat => &self.sat,
            Weekday7::Sun => &self.sun,
        }
    }
}

/// Parses "HH:MM-HH:MM".
pub fn parse_range(s: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("„{s}”: zakres w formacie GG:MM-GG:MM"))?;
    let p = |x: &str| {
        NaiveTime::parse_from_str(x.trim(), "%H:%M")
            .map_err(|_| format!("„{s}”: niepoprawna godzina „{x}”"))
    };
    let (a, b) = (p(a)?, p(b)?);
    if a >= b {
        return Err(format!("„{s}”: koniec musi być po początku"));
    }
    Ok((a, b))
}

/// Opening hours per weekday (Monday first), as sorted, non-overlapping ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<(NaiveTime, NaiveTime)>; 7],
}

impl WeeklyHours {
    pub fn from_config(c: &WeeklyHoursConfig) -> Result<WeeklyHours, String> {
        let mut h = WeeklyHours::default();
        for (i, wd) in ALL_DAYS.iter().enumerate() {
            let mut ranges = c
                .day(*wd)
                .iter()
                .map(|s| parse_range(s))
                .collect::<Result<Vec<_>, _>>()?;
            ranges.sort();
            if ranges.windows(2).any(|w| w[0].1 > w[1].0) {
                return Err("godziny w jednym dniu nachodzą na siebie".into());
            }
            h.days[i] = ranges;
        }
        Ok(h)
    }

    pub fn on(&self, d: NaiveDate) -> &[(NaiveTime, NaiveTime)] {
        &self.days[d.weekday().num_days_from_monday() as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }
}

const ALL_DAYS: [Weekday7; 7] = [
    Weekday7::Mon,
    Weekday7::Tue,
    Weekday7::Wed,
    Weekday7::Thu,
    Weekday7::Fri,
    Weekday7::Sat,
    Weekday7::Sun,
];

/// The local instant → UTC, or None when the local time does not exist.
pub fn local_to_utc(t: NaiveDateTime) -> Option<DateTime<Utc>> {
    TZ.from_local_datetime(&t)
        .earliest()
        .map(|x| x.with_timezone(&Utc))
}

pub fn to_local(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&TZ).naive_local()
}

pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    to_local(t).date()
}
