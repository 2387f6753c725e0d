//! The metrics listener's router: `GET /metrics` and nothing else. It is served on its own
//! address (`OKIENKO_METRICS_LISTEN`), never by the public router (`http`), so the figures are
//! not reachable through the ingress.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use okienko_app::metrics;
use okienko_app::App;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(app)
}

async fn scrape(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::render(&app),
    )
}
