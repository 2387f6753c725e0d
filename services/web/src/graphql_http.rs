//! GraphQL over HTTP for the public, admin and platform schemas (the queue's are in
//! `queue_http`): reading and parsing the body, the caller from its bearer token, rate limits,
//! the availability answers kept whole, and GraphiQL for each endpoint.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use okienko_app::records::Scope;
use okienko_app::{auth, usage_cache, App};
use okienko_domain::Code;
use okienko_graphql::answers::reads_only_availability;

use crate::admission;
use crate::bearer::bearer;
use crate::rate_limit;
use crate::respond::{
    error_json, failed_before_graphql, graphql_response, json_answer, rate_limited,
};
use crate::state::{tenant_of, HttpState};

pub async fn graphiql(State(s): State<HttpState>, Path(slug): Path<String>) -> Response {
    tenant_graphiql(&s, &slug, None)
}

pub async fn admin_graphiql(State(s): State<HttpState>, Path(slug): Path<String>) -> Response {
    tenant_graphiql(&s, &slug, Some("admin"))
}

/// GraphiQL for one of a tenant's APIs: the public one at `/t/{slug}/graphql` (`api` none),
/// the others at `/t/{slug}/{api}/graphql`; 404 for an unknown tenant.
pub fn tenant_graphiql(s: &HttpState, slug: &str, api: Option<&str>) -> Response {
    let t = match tenant_of(&s.app, slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let name = &t.cfg.branding.display_name;
    match api {
        None => graphiql_page(
            &s.app,
            &format!("/t/{}/graphql", t.slug),
            &format!("GraphiQL – {name} – okienko"),
        ),
        Some(api) => graphiql_page(
            &s.app,
            &format!("/t/{}/{api}/graphql", t.slug),
            &format!("GraphiQL – {api} – {name} – okienko"),
        ),
    }
}

pub async fn platform_graphiql(State(s): State<HttpState>) -> Response {
    graphiql_page(&s.app, "/platform/graphql", "GraphiQL – platform – okienko")
}

pub fn graphiql_page(app: &App, endpoint: &str, title: &str) -> Response {
    crate::graphiql::page(app, endpoint, title)
}

/// Reads the body and parses it as a GraphQL request: 413 past the limit, 400 when malformed.
#[allow(clippy::result_large_err)]
pub async fn graphql_request(
    s: &HttpState,
    headers: &HeaderMap,
    body: Body,
) -> Result<async_graphql::Request, Response> {
    let bytes = read_body(headers, body, s.settings.admission.body_limit).await?;
    let req: async_graphql::Request = serde_json::from_slice(&bytes).map_err(|e| {
        error_json(
            StatusCode::BAD_REQUEST,
            Code::BadRequest,
            &format!("Treść zapytania nie jest poprawnym żądaniem GraphQL w JSON: {e}"),
        )
    })?;
    crate::trace_layer::record_operation(req.operation_name.as_deref());
    Ok(req)
}

/// The caller of a staff or platform request, from its bearer token, within `scope`.
#[allow(clippy::result_large_err)]
pub async fn caller(app: &App, scope: Scope, headers: &HeaderMap) -> Result<auth::Auth, Response> {
    auth::authenticate(app, scope, bearer(headers))
        .await
        .map_err(|e| failed_before_graphql(&e.domain()))
}

/// Defines the `POST` handler `$name` of one of a tenant's staff or device APIs: the request
/// read and its caller resolved ([`tenant_request`]), then answered by the schema in
/// `HttpState::$schema`.
macro_rules! tenant_graphql_handler {
    ($(#[$doc:meta])* $name:ident => $schema:ident) => {
        $(#[$doc])*
        pub async fn $name(
            axum::extract::State(s): axum::extract::State<$crate::state::HttpState>,
            axum::extract::Path(slug): axum::extract::Path<String>,
            headers: axum::http::HeaderMap,
            body: axum::body::Body,
        ) -> axum::response::Response {
            match $crate::graphql_http::tenant_request(&s, &slug, &headers, body).await {
                Ok(req) => $crate::respond::graphql_response(s.$schema.execute(req).await),
                Err(r) => r,
            }
        }
    };
}
pub(crate) use tenant_graphql_handler;

tenant_graphql_handler!(
    /// `POST /t/{slug}/admin/graphql`
    admin_graphql => admin
);

/// A staff or device request to one tenant's endpoint: the tenant (404 when unknown), the parsed
/// GraphQL request (400/413), and the caller resolved from its bearer token within that tenant,
/// all put in the request's data with the application and the display event bus.
#[allow(clippy::result_large_err)]
pub async fn tenant_request(
    s: &HttpState,
    slug: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<async_graphql::Request, Response> {
    let t = tenant_of(&s.app, slug)?;
    let req = graphql_request(s, headers, body).await?;
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

pub async fn platform_graphql(
    State(s): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let req = match graphql_request(&s, &headers, body).await {
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
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
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

pub async fn graphql(
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
    let client = rate_limit::client_ip(peer, &headers, &s.settings.admission.trusted_proxies);
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
    let bytes = match read_body(&headers, body, s.settings.admission.body_limit).await {
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
    crate::trace_layer::record_operation(req.operation_name.as_deref());
    let keepable = reads_only_availability(&mut req);
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
