//! The office's screens (W-7 … W-10): staff login and the staff's pages, pairing of devices,
//! the ticket kiosk, the hall and door displays, the desk clerk's screen.
//!
//! Each screen is a file of its own with its routes; what they share — who is asking, from
//! the staff's session cookie or the device's credential cookie — is in [`session`].
//! Staff pages render with the citizen pages' chrome (`site::Chrome`, `templates/site/base.html`);
//! the kiosk and the displays, full-screen, with their own base templates.

pub mod admission_list;
pub mod desk;
pub mod devices;
pub mod display;
pub mod kiosk;
pub mod session;
pub mod staff;

use axum::Router;

use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .merge(staff::routes())
        .merge(devices::routes())
        .merge(kiosk::routes())
        .merge(display::routes())
        .merge(desk::routes())
}
