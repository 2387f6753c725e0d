//! What every handler shares: the application, the six schemas, the display bus, the
//! admission and WebSocket registries; and the tenant a path names.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use okienko_app::queue::Bus;
use okienko_app::{App, TenantCtx};
use okienko_domain::Code;
use okienko_graphql::admin::AdminSchema;
use okienko_graphql::desk::DeskSchema;
use okienko_graphql::display::DisplaySchema;
use okienko_graphql::kiosk::KioskSchema;
use okienko_graphql::platform::PlatformSchema;
use okienko_graphql::public::PublicSchema;

use crate::admission::Admission;
use crate::respond::error_json;
use crate::{ws_limits, WebSettings};

#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<App>,
    /// The HTTP layer's own settings (admission, WebSockets).
    pub settings: Arc<WebSettings>,
    pub public: PublicSchema,
    pub admin: AdminSchema,
    pub platform: PlatformSchema,
    pub kiosk: KioskSchema,
    pub desk: DeskSchema,
    pub display: DisplaySchema,
    /// The call displays' events, per office (in process).
    pub bus: Arc<Bus>,
    /// Requests' turns (`admission`), read by `/readyz`.
    pub admission: Arc<Admission>,
    /// The display WebSockets open, per address and device (`ws_limits`).
    pub websockets: Arc<ws_limits::Registry>,
}

fn unknown_tenant(slug: &str) -> Response {
    let shown: String = slug.chars().take(64).collect();
    error_json(
        StatusCode::NOT_FOUND,
        Code::TenantNotFound,
        &format!("Nie ma urzędu o identyfikatorze „{shown}” w tym serwisie."),
    )
}

// The error is the finished response handlers return as is; boxing it buys nothing here.
#[allow(clippy::result_large_err)]
pub fn tenant_of(app: &App, slug: &str) -> Result<Arc<TenantCtx>, Response> {
    app.catalog.get(slug).ok_or_else(|| unknown_tenant(slug))
}
