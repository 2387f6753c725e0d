//! Counts every request of the public router (docs/metrics.md, "HTTP"): by the route pattern
//! that matched (never the path, which carries tokens), the method, the tenant when the path
//! names a configured city (`none` otherwise) and the status; its latency from arrival to the
//! answer's head; and, on the GraphQL routes, the `extensions.code` of every error the answer
//! carries (`respond::ErrorCodes`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use okienko_app::metrics::labels::{GraphqlError, Http, HttpTiming};
use okienko_app::metrics::NO_TENANT;
use okienko_app::App;

use crate::respond::ErrorCodes;

/// Wraps every route of `router` (and its fallback): outermost, so the time includes reading
/// the body and waiting for a turn.
pub fn count<S>(router: Router<S>, app: Arc<App>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::from_fn_with_state(app, count_one))
}

async fn count_one(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let began = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(req.method()).to_string();
    let tenant = tenant_label(&app, &route, req.uri().path());
    let resp = next.run(req).await;
    let m = &app.metrics;
    m.http_duration
        .get_or_create(&HttpTiming {
            route: route.clone(),
            method: method.clone(),
            tenant: tenant.clone(),
        })
        .observe(began.elapsed().as_secs_f64());
    if let (Some(api), Some(codes)) = (api_of(&route), resp.extensions().get::<ErrorCodes>()) {
        for code in &codes.0 {
            m.graphql_errors
                .get_or_create(&GraphqlError {
                    api: api.into(),
                    tenant: tenant.clone(),
                    code: (*code).into(),
                })
                .inc();
        }
    }
    m.http_requests
        .get_or_create(&Http {
            route,
            method,
            tenant,
            status: resp.status().as_str().to_string(),
        })
        .inc();
    resp
}

/// Standard methods by name; anything else is `other`.
pub(crate) fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The city a `/t/{slug}/…` route names, when it is configured; `none` otherwise.
pub(crate) fn tenant_label(app: &App, route: &str, path: &str) -> String {
    if !route.starts_with("/t/{slug}") {
        return NO_TENANT.into();
    }
    path.split('/')
        .nth(2)
        .filter(|slug| app.catalog.get(slug).is_some())
        .map_or_else(|| NO_TENANT.into(), str::to_string)
}

/// Which GraphQL API a route serves, if any.
fn api_of(route: &str) -> Option<&'static str> {
    Some(match route {
        "/t/{slug}/graphql" => "public",
        "/t/{slug}/admin/graphql" => "admin",
        "/platform/graphql" => "platform",
        "/t/{slug}/kiosk/graphql" => "kiosk",
        "/t/{slug}/desk/graphql" => "desk",
        "/t/{slug}/display/graphql" | crate::routes::DISPLAY_WS => "display",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_graphql_routes_name_an_api() {
        assert_eq!(api_of("/t/{slug}/graphql"), Some("public"));
        assert_eq!(api_of("/platform/graphql"), Some("platform"));
        assert_eq!(api_of("/t/{slug}/rezerwacja/{token}"), None);
        assert_eq!(api_of("unmatched"), None);
    }

    #[test]
    fn unusual_methods_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").unwrap_or(Method::TRACE);
        assert_eq!(method_label(&odd), "other");
    }
}
