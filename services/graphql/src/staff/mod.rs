//! Staff operations on bookings (issue 5, phase B), merged into the admin API
//! (`/t/{slug}/admin/graphql`): phone bookings on the staff quota, cancellation for a client,
//! rejection, the day's bookings in Relay pages with each booking's history, the visit's
//! outcome, the client's personal-data rights, complaints and the retention schedule; and
//! `fileComplaint` on the public API.
//!
//! Who may do what (`auth::Role::allows`):
//!
//! | operation | admin | call centre | clerk |
//! | --- | --- | --- | --- |
//! | `createPhoneBooking`, `cancelBookingForClient`, `staffAvailability` | yes | yes | no |
//! | `bookings`, `booking`, `bookingByCode` | yes | yes | yes |
//! | `recordVisitOutcome` | yes | no | yes |
//! | `rejectBooking` | yes | no | no |
//! | `exportClientData`, `correctClientData`, `eraseClientData` | yes | no | no |
//! | `complaints`, `overdueComplaints`, `complaint`, `registerComplaint` | yes | yes | no |
//! | `answerComplaint`, `closeComplaint`, `setRetention` | yes | no | no |
//!
//! Kiosks, displays and API keys have none of these. Every change writes an audit row.

mod access;
mod bookings;
mod complaints;
mod inputs;
mod mutation;
mod public;
mod query;

pub use bookings::*;
pub use complaints::*;
pub use inputs::*;
pub use mutation::StaffMutation;
pub use public::PublicComplaints;
pub use query::StaffQuery;
