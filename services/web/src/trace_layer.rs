//! A span per request (issue 15 item 1): named by the method and the route pattern, with the
//! tenant as the metrics name it and the GraphQL operation once the handler read it; its parent
//! is the caller's W3C `traceparent`. Its `trace_id` and `span_id` are recorded as fields, so
//! every log line of the request carries them (the JSON formatter writes the span's fields).
//! Without an exporter (no `OTEL_EXPORTER_OTLP_ENDPOINT`) the span is a plain `tracing` span and
//! the ids are the caller's, when it sent a `traceparent`.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use okienko_app::App;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::field::Empty;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The longest GraphQL operation name kept on a span.
const MAX_OPERATION: usize = 100;

/// Wraps every route of `router`, outermost.
pub fn trace<S>(router: Router<S>, app: Arc<App>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::from_fn_with_state(app, trace_one))
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

async fn trace_one(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let method = crate::metrics_layer::method_label(req.method());
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = %route,
        tenant = %crate::metrics_layer::tenant_label(&app, &route, req.uri().path()),
        graphql.operation = Empty,
        http.response.status_code = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    let parent = TraceContextPropagator::new().extract(&Headers(req.headers()));
    let remote = parent.span().span_context().clone();
    let _ = span.set_parent(parent);
    let own = span.context().span().span_context().clone();
    let ids = if own.is_valid() { own } else { remote };
    if ids.is_valid() {
        span.record("trace_id", tracing::field::display(ids.trace_id()));
        span.record("span_id", tracing::field::display(ids.span_id()));
    }
    let resp = next.run(req).instrument(span.clone()).await;
    span.record("http.response.status_code", resp.status().as_u16());
    span.in_scope(|| tracing::debug!(status = resp.status().as_u16(), "answered"));
    resp
}

/// Notes a GraphQL request's operation name on the request's span.
pub fn record_operation(name: Option<&str>) {
    if let Some(name) = name {
        let name: String = name.chars().take(MAX_OPERATION).collect();
        tracing::Span::current().record("graphql.operation", name.as_str());
    }
}
