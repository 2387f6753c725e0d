//! Staff login and logout, the staff's start page, the admission list behind the session cookie (OP-9).

use axum::Router;

use crate::state::HttpState;

pub fn routes() -> Router<HttpState> {
    Router::new()
}
