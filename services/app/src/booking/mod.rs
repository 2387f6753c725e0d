//! The booking use cases: availability, create, confirm, look up, cancel, expire.
//! Shared by every API surface; each takes the tenant it acts for.

mod availability;
mod change;
mod create;
mod expiry;
mod manage;
mod messages;
mod types;
mod validate;

pub use availability::*;
pub use change::*;
pub use create::*;
pub use expiry::*;
pub use manage::*;
pub use messages::*;
pub use types::*;
pub(crate) use validate::*;
