//! okienko's domain: the model and rules of visit booking, with no I/O.

pub mod booking;
pub mod calendar;
pub mod clock;
pub mod codes;
pub mod config;
pub mod error;
pub mod queue;
pub mod queue_config;
pub mod validate;
pub mod week;

pub use codes::Code;
pub use error::DomainError;
