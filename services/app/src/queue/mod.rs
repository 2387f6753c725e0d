//! The electronic queue's use cases (issue 4), shared by the kiosk, desk and display APIs and
//! the lateness worker: issuing tickets (CI-3, CI-4, CI-6), checking booked visits in (CI-16,
//! DG-4, DG-8), calling (CI-7, CI-8, CI-18 … CI-20, DG-3), serving, transfers, refusals
//! (ZG-14), cancelling late bookings (CI-17, GD-11, DG-8), the admission list (OP-9) and the
//! anonymous statistics (P-5).
//!
//! Calls reach the office's displays through [`Bus`], a fan-out per office. On PostgreSQL a
//! call made on one server reaches displays connected to the others: the server hands what is
//! published here to `NOTIFY okienko_display` ([`Bus::replicate`]) and what other servers
//! published to [`Bus::deliver`].

mod admission;
mod bus;
mod desk;
mod kiosk;
mod lateness;
mod lookup;
mod statistics;

pub use admission::*;
pub use bus::*;
pub use desk::*;
pub use kiosk::*;
pub use lateness::*;
pub use lookup::*;
pub use statistics::*;
