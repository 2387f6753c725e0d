//! Time as a dependency: every component asks a `Clock`, so tests and the dev server can move it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Starts at a given instant and runs on at the real pace (the dev server's `OKIENKO_NOW`).
#[derive(Debug)]
pub struct OffsetClock {
    start: DateTime<Utc>,
    since: Instant,
}

impl OffsetClock {
    pub fn starting_at(start: DateTime<Utc>) -> OffsetClock {
        OffsetClock {
            start,
            since: Instant::now(),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Duration::from_std(self.since.elapsed()).unwrap_or(Duration::zero());
        self.start + elapsed
    }
}

/// A clock that only moves when told (tests).
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    pub fn at(t: DateTime<Utc>) -> ManualClock {
        ManualClock {
            micros: AtomicI64::new(t.timestamp_micros()),
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.micros.store(t.timestamp_micros(), Ordering::SeqCst);
    }

    pub fn advance(&self, d: Duration) {
        self.micros
            .fetch_add(d.num_microseconds().unwrap_or(0), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let c = ManualClock::at(t);
        assert_eq!(c.now(), t);
        c.advance(Duration::minutes(61));
        assert_eq!(c.now(), t + Duration::minutes(61));
    }

    #[test]
    fn offset_clock_starts_at_its_instant() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let c = OffsetClock::starting_at(t);
        let n = c.now();
        assert!(n >= t && n < t + Duration::minutes(1));
    }
}
