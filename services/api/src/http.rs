//! The HTTP surface: GraphQL per tenant, the pages behind e-mailed links, health checks.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Value;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use okienko_domain::DomainError;
use serde_json::json;

use crate::admin::{self, AdminSchema};
use crate::admission::{self, Admission};
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
use crate::ws_limits;
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
    /// Requests' turns (`admission`), read by `/readyz`.
    pub admission: Arc<Admission>,
    /// The display WebSockets open, per address and device (`ws_limits`).
    pub websockets: Arc<ws_limits::Registry>,
}

/// The call displays' WebSocket: the one route the request timeout does not bound, since its
/// connection lives on after the handshake for as long as the display is on.
pub const DISPLAY_WS: &str = "/t/{slug}/display/ws";

pub fn router(app: Arc<App>) -> Router {
    let admission = Admission::new(app.settings.admission.clone());
    let websockets = ws_limits::Registry::new(app.settings.websockets.clone());
    let bus = app.bus.clone();
    let state = HttpState {
        app,
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
        .merge(crate::site::routes())
        .fallback(not_found);
    admission::admit(routes, admission).with_state(state)
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

/// How long `/readyz` waits for the database before it answers "not ready".
pub const READY_DB_WAIT: Duration = Duration::from_millis(800);

/// Ready: the database answers within [`READY_DB_WAIT`], and no request has waited for its turn
/// longer than the server's `ready_max_wait` (it would not serve through that load).
async fn readyz(State(s): State<HttpState>) -> Response {
    let not_ready = |why: String| {
        tracing::warn!(reason = %why, "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
    };
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
    let bytes = read_body(headers, body, app.settings.admission.body_limit).await?;
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
    auth::authenticate(app, scope, headers)
        .await
        .map_err(|e| failed_before_graphql(&e.domain()))
}

/// An error met before GraphQL runs (authenticating the caller): 503 with `Retry-After` when
/// the database is unavailable, 500 otherwise.
pub(crate) fn failed_before_graphql(d: &DomainError) -> Response {
    let status = match d.retry_after() {
        Some(_) => StatusCode::SERVICE_UNAVAILABLE,
        None => StatusCode::INTERNAL_SERVER_ERROR,
    };
    with_retry_after(
        error_json(
            status,
            d.listed_code().unwrap_or(Code::Internal),
            &d.to_string(),
        ),
        d.retry_after(),
    )
}

fn with_retry_after(mut r: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    r
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
    let too_large = || admission::too_large(limit);
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
    let client = rate_limit::client_ip(peer, &headers, &s.app.settings.admission.trusted_proxies);
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
    let bytes = match read_body(&headers, body, s.app.settings.admission.body_limit).await {
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
    // A refusal by a rate limit inside the operation (createBooking, codes) is a 429 too; the
    // database unavailable or the city's policies held back, a 503. Both with `Retry-After`.
    let retry = resp.errors.iter().find_map(|e| {
        let ext = e.extensions.as_ref()?;
        let secs = match ext.get("retryAfter") {
            Some(Value::Number(n)) => n.as_u64()?,
            _ => return None,
        };
        match ext.get("code") {
            Some(Value::String(c)) if c == Code::RateLimited.as_str() => {
                Some((StatusCode::TOO_MANY_REQUESTS, secs))
            }
            Some(Value::String(c))
                if c == Code::ServiceUnavailable.as_str()
                    || c == Code::PolicyThrottled.as_str() =>
            {
                Some((StatusCode::SERVICE_UNAVAILABLE, secs))
            }
            _ => None,
        }
    });
    let retry_after = retry.map(|(_, secs)| secs);
    let status = if let Some((status, _)) = retry {
        status
    } else if request_failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = serde_json::to_vec(&resp).unwrap_or_else(|_| b"{}".to_vec());
    let r = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    with_retry_after(r, retry_after)
}
