//! okienko's policies: each city's rules beyond configuration, written as a rhai script
//! (`policies/<slug>/policy.rhai`) with optional hook functions (P-6).
//!
//! The host compiles a script once per (tenant, version) with [`PolicyEngine::compile`], checks
//! which hooks it defines ([`Policy::has_hook`]) and calls them with one plain map
//! ([`Policy::call`]). Scripts are untrusted: operations, call depth, expression depth, string,
//! array and map sizes and the wall-clock time of every call are limited ([`Limits`]); `eval`,
//! modules and `import` do not exist; `print` and `debug` go to the log with the tenant's slug.
//! Top-level statements are dropped at compile time: a policy is its functions.
//!
//! # Refusing
//!
//! A hook refuses with `throw #{ code: "VIN_INVALID", message: "…", field: "fields.vin_tail" }`:
//! `code` in SCREAMING_SNAKE, a non-empty Polish `message`, `field` optional (the form field, as
//! `client.email` or `fields.<key>`). That becomes [`PolicyError::Rejected`]. Anything else that
//! goes wrong (a runtime error, a limit, the deadline, `throw 42`, a return value of the wrong
//! shape) is [`PolicyError::Failed`]: clients see `POLICY_ERROR` and a generic message, the log
//! has the details.
//!
//! # Hooks
//!
//! All optional; each is `fn name(ctx)` with one map argument. Missing values are `()`; reading
//! a key a map does not have also gives `()`.
//!
//! ## `form_fields(ctx)`
//! `ctx = #{ service: #{ key, name, department, letter }, fields: [ #{ key, label, kind, required, help } … ] }`
//! (the service's fields from `tenant.toml`). Returns an array of field maps
//! (`key`, Polish `label`, `kind` as in `tenant.toml`, `required`, `help`, optional `pattern`,
//! a regular expression the form may check) that replaces the configured list, or `()` to keep it.
//!
//! ## `validate_booking(ctx)`
//! ```text
//! ctx = #{
//!   tenant, source: "online" | "phone",
//!   service: #{ key, name, department, letter },
//!   client: #{ name, email, phone },
//!   fields: #{ <key>: <text>, … },
//!   slot: #{ start: RFC 3339, local_date: "YYYY-MM-DD", local_time: "HH:MM", weekday: 1..7 (Monday = 1) },
//!   now: RFC 3339,
//!   settings: #{ …the tenant's [policy] table… },
//!   history: #{
//!     active_by_identity: #{ "<kind>:<value>": count, … },
//!     active: [ #{ service, department, start, local_date, identities: ["<kind>:<value>", …] } … ],
//!     no_shows: [ #{ at: RFC 3339, department, identity } … ],
//!     cancelled_recently: count,
//!   },
//! }
//! ```
//! `history` describes the client's other bookings, found by the keys `identity_keys` returned
//! for this booking: `active_by_identity` counts active (pending or confirmed, not yet past)
//! bookings per key; `active` lists those bookings (each once, with the keys it shares);
//! `no_shows` the visits they did not come to; `cancelled_recently` their recent cancellations.
//! Returns `()` to accept, or `#{ client: #{…}, fields: #{…} }` with normalised values: each
//! key given replaces the value the client typed, keys not given are kept. Refuses with `throw`.
//!
//! ## `identity_keys(ctx)`
//! The same `ctx` as `validate_booking` without `history`. Returns an array of
//! `#{ kind, value }` (`kind` one of `email`, `phone`, `registration_number`, `vin_tail`,
//! `application_number`) the booking counts against. The host stores them with the booking and
//! fills `history` from them; the key strings in `history` are `"<kind>:<value>"`.
//!
//! ## `map_claims(ctx)`
//! `ctx = #{ claims: #{ …the verified token's claims… }, settings }` (GD-5, the resident card).
//! Returns `#{ name, email, phone }` (each text or `()`), or refuses.
//!
//! ## `validate_change(ctx)`
//! `ctx = #{ kind: "reschedule" | "update_client", before: #{ client, slot, service }, after: #{ client, slot, service }, settings }`.
//! Returns `()` to allow, or refuses (CI-21: no rescheduling; GD-12: no change of person).
//!
//! ## `queue_order(ctx)`
//! `ctx = #{ tickets: [ #{ id, number, queue, kind: "booked" | "walk_in", booked_at, issued_at, checked_in_at } … ], now }`.
//! Returns the ticket ids in the order to call them.
//!
//! # Settings
//!
//! `settings` is the tenant's `[policy]` table. The shipped scripts read `identity_cap`
//! (active bookings per identity; absent → no cap) and Opole's `no_show_block_days`.
//! `cancel_release_delay_minutes` is read by the host, not by scripts: a cancelled seat is
//! offered again only after that delay, so a booking cannot be handed over by cancelling it
//! while the new holder books the freed seat at once (ZG-12, GD-12, OP-11).
//!
//! Host functions available to scripts are listed in [`helpers`].

pub mod engine;
pub mod error;
pub mod helpers;
pub mod hooks;
pub mod testing;

pub use engine::{Limits, Policy, PolicyEngine};
pub use error::PolicyError;
