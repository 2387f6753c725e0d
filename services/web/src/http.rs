//! The HTTP surface: GraphQL per tenant, the pages behind e-mailed links, health checks.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use okienko_app::App;
use okienko_domain::Code;
use okienko_graphql::{admin, desk, display, kiosk, platform, public};

use crate::admission::{self, Admission};
use crate::graphql_http::{
    admin_graphiql, admin_graphql, graphiql, graphql, platform_graphiql, platform_graphql,
};
use crate::respond::error_json;
use crate::routes::DISPLAY_WS;
use crate::state::HttpState;
use crate::{login, pages, queue_http, ws_limits, WebSettings};

pub fn router(app: Arc<App>, settings: WebSettings) -> Router {
    let admission = Admission::new(settings.admission.clone());
    let websockets =
        ws_limits::Registry::with_stopping(settings.websockets.clone(), settings.stopping.clone());
    let bus = app.bus.clone();
    let in_flight = (app.metrics.http_in_flight.clone(), admission.clone());
    app.metrics.on_scrape(move || {
        let n = in_flight.1.load().in_flight;
        in_flight.0.set(i64::try_from(n).unwrap_or(i64::MAX));
    });
    let counted = app.clone();
    let state = HttpState {
        app,
        settings: Arc::new(settings),
        admission: admission.clone(),
        websockets,
        public: public::schema(),
        admin: admin::schema(),
        platform: platform::schema(),
        kiosk: kiosk::schema(),
        desk: desk::schema(),
        display: display::schema(),
        bus,
    };
    let routes = Router::new()
        .route("/", get(crate::site::index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/assets/{file}", get(crate::assets::serve))
        .route("/readyz", get(readyz))
        .route("/t/{slug}/graphql", post(graphql).get(graphiql))
        .route(
            "/t/{slug}/admin/graphql",
            post(admin_graphql).get(admin_graphiql),
        )
        .route(
            "/platform/graphql",
            post(platform_graphql).get(platform_graphiql),
        )
        .route(
            "/t/{slug}/kiosk/graphql",
            post(queue_http::kiosk_graphql).get(queue_http::queue_graphiql_kiosk),
        )
        .route(
            "/t/{slug}/desk/graphql",
            post(queue_http::desk_graphql).get(queue_http::queue_graphiql_desk),
        )
        .route(
            "/t/{slug}/display/graphql",
            post(queue_http::display_graphql).get(queue_http::queue_graphiql_display),
        )
        .route(DISPLAY_WS, get(queue_http::display_ws))
        .route(
            "/t/{slug}/staff/przyjecia",
            get(crate::office::admission_list::admission_page),
        )
        .route("/t/{slug}/logowanie", get(login::start))
        .route("/t/{slug}/logowanie/powrot", get(login::callback))
        .route(
            "/t/{slug}/wylogowanie",
            get(login::logged_in_page).post(login::logout),
        )
        .route("/t/{slug}/rezerwacja/{token}", get(pages::manage_page))
        .route(
            "/t/{slug}/rezerwacja/{token}/wizyta.ics",
            get(pages::ics_download),
        )
        .route(
            "/t/{slug}/rezerwacja/{token}/anuluj",
            get(pages::cancel_page).post(pages::cancel_submit),
        )
        .route(
            "/t/{slug}/potwierdz/{token}",
            get(pages::confirm_page).post(pages::confirm_submit),
        )
        .merge(crate::site::routes())
        .merge(crate::office::routes())
        .fallback(not_found);
    let admitted = admission::admit(routes, admission);
    let counted_too = counted.clone();
    let counted = crate::metrics_layer::count(admitted, counted);
    crate::trace_layer::trace(counted, counted_too).with_state(state)
}

async fn not_found() -> Response {
    error_json(
        StatusCode::NOT_FOUND,
        Code::NotFound,
        "Nie ma takiej strony.",
    )
}

/// How long `/readyz` waits for the database before it answers "not ready".
pub const READY_DB_WAIT: Duration = Duration::from_millis(800);

/// Ready: the database answers within [`READY_DB_WAIT`], and no request has waited for its turn
/// longer than the server's `ready_max_wait` (it would not serve through that load).
async fn readyz(State(s): State<HttpState>) -> Response {
    let not_ready = |why: String| {
        tracing::warn!(reason = %why, "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
    };
    // Issue 15: readiness goes false first, while the requests in flight finish.
    if s.settings.stopping.is_stopping() {
        return not_ready("shutting down".into());
    }
    let load = s.admission.load();
    if load.saturated {
        return not_ready(format!(
            "saturated: {} requests in flight, {} waiting, the longest for {} ms",
            load.in_flight,
            load.waiting,
            load.oldest_wait.as_millis()
        ));
    }
    match tokio::time::timeout(READY_DB_WAIT, s.app.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => not_ready(format!("database unavailable: {e}")),
        Err(_) => not_ready(format!(
            "database unavailable: no answer within {} ms",
            READY_DB_WAIT.as_millis()
        )),
    }
}
