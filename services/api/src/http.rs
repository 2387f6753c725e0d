//! The HTTP surface: GraphQL per tenant, the pages behind e-mailed links, health checks.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Value;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::admin::{self, AdminSchema};
use crate::auth;
use crate::desk::{self, DeskSchema};
use crate::display::{self, DisplaySchema};
use crate::kiosk::{self, KioskSchema};
use crate::pages;
use crate::platform::{self, PlatformSchema};
use crate::public::{self, PublicSchema};
use crate::queue::Bus;
use crate::queue_http;
use crate::rate_limit;
use crate::usage_cache;
use crate::{App, TenantCtx};
use okienko_domain::Code;
use okienko_store::Scope;

#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<App>,
    pub public: PublicSchema,
    pub admin: AdminSchema,
    pub platform: PlatformSchema,
    pub kiosk: KioskSchema,
    pub desk: DeskSchema,
    pub display: DisplaySchema,
    /// The call displays' events, per office (in process).
    pub bus: Arc<Bus>,
}

/// The request timeout when `OKIENKO_REQUEST_TIMEOUT_MS` does not set one.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The call displays' WebSocket: the one route the request timeout does not bound, since its
/// connection lives on after the handshake for as long as the display is on.
pub const DISPLAY_WS: &str = "/t/{slug}/display/ws";

pub fn router(app: Arc<App>) -> Router {
    let limit = app.settings.request_timeout;
    let bus = app.bus.clone();
    let state = HttpState {
        app,
        public: public::schema(),
        admin: admin::schema(),
        platform: platform::schema(),
        kiosk: kiosk::schema(),
        desk: desk::schema(),
        display: display::schema(),
        bus,
    };
    let routes = Router::new()
        .route("/", get(index))
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
        .route("/t/{slug}/staff/przyjecia", get(queue_http::admission_page))
        .route("/t/{slug}/rezerwacja/{token}", get(pages::manage_page))
        .route(
            "/t/{slug}/rezerwacja/{token}/anuluj",
            get(pages::cancel_page).post(pages::cancel_submit),
        )
        .route(
            "/t/{slug}/potwierdz/{token}",
            get(pages::confirm_page).post(pages::confirm_submit),
        )
        .fallback(not_found);
    with_request_timeout(routes, limit).with_state(state)
}

/// Bounds every request to `router` (its fallback included) by `limit`, except those to
/// [`DISPLAY_WS`]: past the limit the request is answered 503 with `Retry-After: 1` and the
/// code `REQUEST_TIMEOUT`.
///
/// The handler's future is dropped where it stands. A database transaction it had open is
/// rolled back (sqlx rolls back a transaction dropped without a commit), so a request cut off
/// changes nothing it had not committed yet. What a use case does after its commit (raising the
/// availability cache's generation and its NOTIFY, a booking's history row, waking the outbox
/// worker) may be cut off with it: the cache's entries live 30 s at most, history rows are
/// best effort by design, and the outbox worker also looks for due messages on its own.
pub fn with_request_timeout<S>(router: Router<S>, limit: Duration) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let guard = Guard {
        limit,
        in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
    };
    router.layer(axum::middleware::from_fn_with_state(guard, request_timeout))
}

/// Requests handled at once; the others wait their turn (within their time limit) holding no
/// more than their connection, so a release burst of thousands of clients costs the memory of
/// this many requests in progress.
pub const MAX_IN_FLIGHT: usize = 128;

#[derive(Clone)]
struct Guard {
    limit: Duration,
    in_flight: Arc<tokio::sync::Semaphore>,
}

async fn request_timeout(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let limit = guard.limit;
    // The route's pattern, not the path: paths carry booking tokens.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map(MatchedPath::as_str);
    if route == Some(DISPLAY_WS) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    // Health checks do not queue behind a burst: a load balancer would take the server out.
    let queues = !matches!(route, Some("/healthz" | "/readyz"));
    let run = async {
        // The semaphore is never closed, so acquiring fails never; were it to, the request runs.
        let _permit = match queues {
            true => guard.in_flight.acquire().await.ok(),
            false => None,
        };
        next.run(req).await
    };
    match tokio::time::timeout(limit, run).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                %method,
                route = route.unwrap_or("(none)"),
                limit_ms = limit.as_millis() as u64,
                "request timed out"
            );
            timed_out()
        }
    }
}

/// 503 with `Retry-After: 1` and the code `REQUEST_TIMEOUT`.
fn timed_out() -> Response {
    let mut r = error_json(
        StatusCode::SERVICE_UNAVAILABLE,
        Code::RequestTimeout,
        "Serwer nie zdążył odpowiedzieć w wyznaczonym czasie. Spróbuj ponownie za chwilę.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(1u32));
    r
}

/// A JSON body in the GraphQL error shape, for answers given before GraphQL runs.
pub fn error_json(status: StatusCode, code: Code, message: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

async fn not_found() -> Response {
    error_json(
        StatusCode::NOT_FOUND,
        Code::NotFound,
        "Nie ma takiej strony.",
    )
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
pub(crate) fn tenant_of(app: &App, slug: &str) -> Result<Arc<TenantCtx>, Response> {
    app.catalog.get(slug).ok_or_else(|| unknown_tenant(slug))
}

async fn index(State(s): State<HttpState>) -> Html<String> {
    let items: String = s
        .app
        .catalog
        .slugs()
        .iter()
        .filter_map(|slug| s.app.catalog.get(slug))
        .map(|t| {
            format!(
                "<li><a href=\"/t/{}/graphql\">{}</a></li>",
                pages::escape(&t.slug),
                pages::escape(&t.cfg.branding.display_name)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"pl\"><head><meta charset=\"utf-8\"><title>okienko</title></head>\
         <body><main><h1>okienko – rezerwacja wizyt w urzędach</h1><ul>{items}</ul></main></body></html>"
    ))
}

async fn readyz(State(s): State<HttpState>) -> Response {
    match s.app.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn graphiql(State(s): State<HttpState>, Path(slug): Path<String>) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    graphiql_page(
        &s.app,
        &format!("/t/{}/graphql", t.slug),
        &format!("GraphiQL – {} – okienko", t.cfg.branding.display_name),
    )
}

async fn admin_graphiql(State(s): State<HttpState>, Path(slug): Path<String>) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    graphiql_page(
        &s.app,
        &format!("/t/{}/admin/graphql", t.slug),
        &format!(
            "GraphiQL – admin – {} – okienko",
            t.cfg.branding.display_name
        ),
    )
}

async fn platform_graphiql(State(s): State<HttpState>) -> Response {
    graphiql_page(&s.app, "/platform/graphql", "GraphiQL – platform – okienko")
}

pub(crate) fn graphiql_page(app: &App, endpoint: &str, title: &str) -> Response {
    crate::graphiql::page(app, endpoint, title)
}

/// Reads the body and parses it as a GraphQL request: 413 past the limit, 400 when malformed.
#[allow(clippy::result_large_err)]
pub(crate) async fn graphql_request(
    app: &App,
    headers: &HeaderMap,
    body: Body,
) -> Result<async_graphql::Request, Response> {
    let bytes = read_body(headers, body, app.settings.body_limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        error_json(
            StatusCode::BAD_REQUEST,
            Code::BadRequest,
            &format!("Treść zapytania nie jest poprawnym żądaniem GraphQL w JSON: {e}"),
        )
    })
}

/// The caller of a staff or platform request, from its bearer token, within `scope`.
#[allow(clippy::result_large_err)]
pub(crate) async fn caller(
    app: &App,
    scope: Scope,
    headers: &HeaderMap,
) -> Result<auth::Auth, Response> {
    auth::authenticate(app, scope, headers).await.map_err(|e| {
        let d = e.domain();
        error_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            d.listed_code().unwrap_or(Code::Internal),
            &d.to_string(),
        )
    })
}

async fn admin_graphql(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match tenant_request(&s, &slug, &headers, body).await {
        Ok(req) => graphql_response(s.admin.execute(req).await),
        Err(r) => r,
    }
}

/// A staff or device request to one tenant's endpoint: the tenant (404 when unknown), the parsed
/// GraphQL request (400/413), and the caller resolved from its bearer token within that tenant,
/// all put in the request's data with the application and the display event bus.
#[allow(clippy::result_large_err)]
pub(crate) async fn tenant_request(
    s: &HttpState,
    slug: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<async_graphql::Request, Response> {
    let t = tenant_of(&s.app, slug)?;
    let req = graphql_request(&s.app, headers, body).await?;
    let who = caller(&s.app, Scope::Tenant(t.id), headers).await?;
    if let Some(p @ auth::Principal::ApiKey { .. }) = &who.principal {
        s.app
            .rate_limits
            .check(
                rate_limit::Kind::Partner,
                t.id.0,
                &p.actor(),
                t.cfg.rate_limits.partner_per_minute,
            )
            .await
            .map_err(rate_limited)?;
    }
    Ok(req
        .data(s.app.clone())
        .data(t)
        .data(who)
        .data(s.bus.clone()))
}

async fn platform_graphql(State(s): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let req = match graphql_request(&s.app, &headers, body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let who = match caller(&s.app, Scope::Platform, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let req = req.data(s.app.clone()).data(who);
    graphql_response(s.platform.execute(req).await)
}

/// Reads the body up to the limit: 413 past it.
#[allow(clippy::result_large_err)]
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, Response> {
    let too_large = || {
        error_json(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            &format!("Zapytanie jest za duże (limit {} KiB).", limit / 1024),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// 429 with `Retry-After` and the code `RATE_LIMITED`.
pub(crate) fn rate_limited(l: rate_limit::Limited) -> Response {
    let mut r = error_json(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        &l.message(),
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(l.retry_after_secs()),
    );
    r
}

async fn graphql(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    peer: rate_limit::Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let client = rate_limit::client_ip(peer, &headers, &s.app.settings.trusted_proxies);
    if let Err(l) = s
        .app
        .rate_limits
        .check(
            rate_limit::Kind::Read,
            t.id.0,
            &client.0,
            t.cfg.rate_limits.reads_per_minute,
        )
        .await
    {
        return rate_limited(l);
    }
    let bytes = match read_body(&headers, body, s.app.settings.body_limit).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let began = s.app.clock.now();
    if let Some(answer) = s.app.usage_cache.answer(t.id, &bytes, began).await {
        return json_answer(answer);
    }
    let mut req: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return error_json(
                StatusCode::BAD_REQUEST,
                Code::BadRequest,
                &format!("Treść zapytania nie jest poprawnym żądaniem GraphQL w JSON: {e}"),
            )
        }
    };
    let keepable = usage_cache::reads_only_availability(&mut req);
    let deps = Arc::new(usage_cache::ReadDeps::default());
    let tenant_id = t.id;
    let req = req
        .data(s.app.clone())
        .data(t)
        .data(client)
        .data(deps.clone());
    let resp = s.public.execute(req).await;
    if keepable && resp.errors.is_empty() {
        if let Ok(body) = serde_json::to_vec(&resp) {
            let body = Bytes::from(body);
            let ended = s.app.clock.now();
            s.app
                .usage_cache
                .keep_answer(tenant_id, bytes, &deps, began, ended, body.clone())
                .await;
            return json_answer(body);
        }
    }
    graphql_response(resp)
}

/// A successful GraphQL answer already serialised.
fn json_answer(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn set_code(e: &mut async_graphql::ServerError, code: Code) {
    let mut ext = e.extensions.take().unwrap_or_default();
    ext.set("code", code.as_str());
    e.extensions = Some(ext);
}

/// Gives every error a stable code and a Polish message; 400 when the request itself was
/// invalid (nothing executed).
pub(crate) fn graphql_response(mut resp: async_graphql::Response) -> Response {
    let request_failed = resp.data == Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    for e in &mut resp.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        // The complexity limit of every schema, in Polish with its own code (the depth limit
        // answers so itself: `query_limits`).
        // The parser's own nesting bound (far past the depth limit) is the same refusal.
        if !has_code && e.path.is_empty() && crate::gql_errors::parser_too_deep(&e.message) {
            e.message = format!(
                "Zapytanie jest zagnieżdżone zbyt głęboko (najwyżej {} poziomów).",
                crate::public::MAX_DEPTH
            );
            set_code(e, Code::QueryTooDeep);
            continue;
        }
        if !has_code && e.path.is_empty() && e.message == "Query is too complex." {
            e.message = format!(
                "Zapytanie jest zbyt złożone (najwyżej {} pól).",
                crate::public::MAX_COMPLEXITY
            );
            set_code(e, Code::QueryTooComplex);
            continue;
        }
        if !has_code {
            if let Some(polish) = crate::gql_errors::input_value(&e.message) {
                e.message = polish;
                set_code(e, Code::BadUserInput);
                continue;
            }
            let (code, prefix) = if e.path.is_empty() {
                (Code::InvalidQuery, "Niepoprawne zapytanie GraphQL")
            } else {
                (Code::BadUserInput, "Niepoprawne dane wejściowe")
            };
            e.message = format!("{prefix}: {}", e.message);
            set_code(e, code);
        }
    }
    // A refusal by a rate limit inside the operation (createBooking, codes) is a 429 too.
    let retry_after = resp.errors.iter().find_map(|e| {
        let ext = e.extensions.as_ref()?;
        match (ext.get("code"), ext.get("retryAfter")) {
            (Some(Value::String(c)), Some(Value::Number(n))) if c == Code::RateLimited.as_str() => {
                n.as_u64()
            }
            _ => None,
        }
    });
    let status = if retry_after.is_some() {
        StatusCode::TOO_MANY_REQUESTS
    } else if request_failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = serde_json::to_vec(&resp).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    if let Some(secs) = retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::handler::Handler;
    use axum::routing::any_service;

    const LIMIT: Duration = Duration::from_secs(10);

    async fn never() -> Response {
        std::future::pending().await
    }

    async fn fast() -> Response {
        (
            StatusCode::CREATED,
            [("x-okienko", "tak")],
            "gotowe".to_string(),
        )
            .into_response()
    }

    /// Just in time: a second short of the limit.
    async fn slow() -> Response {
        tokio::time::sleep(LIMIT - Duration::from_secs(1)).await;
        fast().await
    }

    /// Sends one request through `router` (a whole router, routing and layers included).
    fn call(
        router: &Router,
        method: &str,
        uri: &str,
    ) -> impl std::future::Future<Output = Response> + Send + 'static {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        Handler::<(), ()>::call(any_service(router.clone()), req, ())
    }

    async fn body_of(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_the_limit_gets_503_with_its_code() {
        let router =
            with_request_timeout(Router::new().route("/t/{slug}/graphql", post(never)), LIMIT);
        let pending = tokio::spawn(call(&router, "POST", "/t/gdynia/graphql"));
        tokio::time::advance(LIMIT - Duration::from_millis(1)).await;
        tokio::task::yield_now().await;
        assert!(!pending.is_finished(), "answered before the limit");

        let r = pending.await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let v: serde_json::Value = serde_json::from_slice(&body_of(r).await).unwrap();
        assert_eq!(
            v["errors"][0]["extensions"]["code"], "REQUEST_TIMEOUT",
            "{v}"
        );
        assert_eq!(
            v["errors"][0]["message"],
            "Serwer nie zdążył odpowiedzieć w wyznaczonym czasie. Spróbuj ponownie za chwilę."
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answers_within_the_limit_pass_unchanged() {
        let router = with_request_timeout(
            Router::new()
                .route("/fast", get(fast))
                .route("/slow", get(slow)),
            LIMIT,
        );
        for uri in ["/fast", "/slow"] {
            let r = call(&router, "GET", uri).await;
            assert_eq!(r.status(), StatusCode::CREATED, "{uri}");
            assert_eq!(r.headers()["x-okienko"], "tak", "{uri}");
            assert!(r.headers().get(header::RETRY_AFTER).is_none(), "{uri}");
            assert_eq!(body_of(r).await, b"gotowe", "{uri}");
        }
    }

    /// At most `MAX_IN_FLIGHT` requests run at once; the rest wait, and a finished (or cut off)
    /// request lets the next one in.
    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_are_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static ENTERED: AtomicUsize = AtomicUsize::new(0);
        async fn stuck() -> Response {
            ENTERED.fetch_add(1, Ordering::SeqCst);
            std::future::pending().await
        }
        let router = with_request_timeout(
            Router::new()
                .route("/stuck", get(stuck))
                .route("/readyz", get(fast)),
            LIMIT,
        );
        let waiting: Vec<_> = (0..MAX_IN_FLIGHT + 10)
            .map(|_| tokio::spawn(call(&router, "GET", "/stuck")))
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(ENTERED.load(Ordering::SeqCst), MAX_IN_FLIGHT);
        // The health check does not wait behind them.
        let ready = tokio::spawn(call(&router, "GET", "/readyz"));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(ready.is_finished(), "the health check waited for a turn");
        assert_eq!(ready.await.unwrap().status(), StatusCode::CREATED);
        for w in waiting {
            assert_eq!(w.await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        // (Some of the ten may have got in as the first were cut off.)
        let before = ENTERED.load(Ordering::SeqCst);
        let next = tokio::spawn(call(&router, "GET", "/stuck"));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(ENTERED.load(Ordering::SeqCst), before + 1);
        assert_eq!(
            next.await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    /// The display's WebSocket route is left unbounded, the display's other routes are not.
    #[tokio::test(start_paused = true)]
    async fn the_display_websocket_is_not_bounded() {
        let router = with_request_timeout(
            Router::new()
                .route(DISPLAY_WS, get(never))
                .route("/t/{slug}/display/graphql", post(never)),
            LIMIT,
        );
        let r = call(&router, "POST", "/t/gdynia/display/graphql").await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

        let ws = tokio::time::timeout(LIMIT * 100, call(&router, "GET", "/t/gdynia/display/ws"));
        assert!(ws.await.is_err(), "the WebSocket route was cut off");
    }
}
