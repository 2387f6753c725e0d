//! Notifications: Polish templates, e-mail (SMTP, `.eml` files, memory) and SMS providers,
//! and the worker that delivers the transactional outbox.

pub mod email;
pub mod message;
pub mod sms;
pub mod worker;

pub use email::EmailBackend;
pub use message::{Brand, Message, Visit};
pub use sms::{HttpSmsGateway, LogSms, SmsProvider};
pub use worker::Deliverer;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("address: {0}")]
    Address(String),
    #[error("message: {0}")]
    Build(String),
    #[error("transport: {0}")]
    Transport(String),
    #[error("configuration: {0}")]
    Config(String),
}
