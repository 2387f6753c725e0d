//! The six GraphQL schemas: public (citizens and partners), admin (a city's staff), platform
//! (operators), kiosk, desk and display (the queue). Each resolver checks who may call it, turns
//! GraphQL input into plain values, calls a use case of `okienko-app` and maps its answer or
//! error (`gql_errors`: the stable `extensions.code`). The checked-in SDL under `schema/` comes
//! from each schema's `sdl()`; `query_limits` bounds what one request may ask.

pub mod admin;
pub mod answers;
mod ctx;
pub mod desk;
pub mod display;
pub mod gql_errors;
pub mod kiosk;
pub mod platform;
pub mod public;
pub mod query_limits;
pub mod staff;
