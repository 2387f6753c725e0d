//! HTTP endpoints of the electronic queue: the kiosk, desk and display GraphQL APIs and the
//! displays' WebSocket. The printable admission list (OP-9) is an office page
//! (`office/admission_list.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Data;
use async_graphql_axum::GraphQLProtocol;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use okienko_app::records::Scope;
use okienko_domain::{Code, DomainError};

use crate::bearer::bearer;
use crate::conn_limits;
use crate::graphql_http::{tenant_graphiql, tenant_graphql_handler};
use crate::rate_limit::{client_ip, Peer};
use crate::respond::{error_json, failed_before_graphql};
use crate::state::{tenant_of, HttpState};
use crate::ws_limits;
use okienko_app::auth::{self, Auth, DeviceKind, Principal};
use okienko_app::TenantCtx;

/// `GET /t/{slug}/kiosk/graphql`
pub async fn queue_graphiql_kiosk(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
) -> Response {
    tenant_graphiql(&s, &slug, Some("kiosk"))
}

/// `GET /t/{slug}/desk/graphql`
pub async fn queue_graphiql_desk(State(s): State<HttpState>, Path(slug): Path<String>) -> Response {
    tenant_graphiql(&s, &slug, Some("desk"))
}

/// `GET /t/{slug}/display/graphql`
pub async fn queue_graphiql_display(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
) -> Response {
    tenant_graphiql(&s, &slug, Some("display"))
}

tenant_graphql_handler!(
    /// `POST /t/{slug}/kiosk/graphql`: a kiosk's device token.
    kiosk_graphql => kiosk
);

tenant_graphql_handler!(
    /// `POST /t/{slug}/desk/graphql`: a staff session (clerk or administrator).
    desk_graphql => desk
);

tenant_graphql_handler!(
    /// `POST /t/{slug}/display/graphql`: a display's device token; the `board` query.
    display_graphql => display
);

fn bearer_headers(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        h.insert(header::AUTHORIZATION, v);
    }
    h
}

/// The display token of a WebSocket's `connection_init` payload: `token`, or `Authorization`
/// (also as `authorization`) with or without "Bearer ".
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let text = |k: &str| payload.get(k).and_then(serde_json::Value::as_str);
    let raw = text("token")
        .or_else(|| text("Authorization"))
        .or_else(|| text("authorization"))?
        .trim();
    let t = raw
        .strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .unwrap_or(raw)
        .trim();
    (!t.is_empty() && t.len() <= 256).then(|| t.to_string())
}

/// The display device behind `a`, when it is a display of tenant `t`.
fn display_of(t: &TenantCtx, a: &Auth) -> Result<i64, DomainError> {
    match a.principal()? {
        Principal::Device {
            tenant,
            kind: DeviceKind::Display,
            id,
            ..
        } if *tenant == t.id => Ok(*id),
        _ => Err(DomainError::Forbidden(
            "z tej usługi korzystają tylko wyświetlacze (token urządzenia typu DISPLAY).".into(),
        )),
    }
}

/// The display paired with this browser, by its device cookie (`office::session`), when the
/// upgrade comes from this site's own page.
///
/// Why the cookie: the display page's script cannot read the HTTP-only cookie to put its token
/// in `connection_init`, but the browser sends the cookie with the upgrade request to the same
/// origin. The alternative, a short-lived ticket embedded in the page, would be one more
/// credential to issue, expire and refuse; the cookie is the one the page itself was served
/// with, revoked with the device. The upgrade is cross-origin when another site's page opens
/// the socket (cross-site WebSocket hijacking): then the cookie is not used, as for the pages'
/// POSTs (`site::csrf::same_origin`; the cookie is `SameSite=Strict` besides). A cookie that is
/// not a display of this city is ignored: the socket must authenticate in `connection_init`
/// as before, or is closed with 4408.
async fn cookie_display(s: &HttpState, t: &TenantCtx, headers: &HeaderMap) -> Option<(Auth, i64)> {
    let token = crate::login::cookie(headers, crate::office::session::DEVICE_COOKIE)?;
    if !crate::site::csrf::same_origin(headers) {
        return None;
    }
    let a = auth::authenticate(&s.app, Scope::Tenant(t.id), Some(token))
        .await
        .ok()?;
    let device = display_of(t, &a).ok()?;
    Some((a, device))
}

/// 503 `TOO_MANY_CONNECTIONS` with `Retry-After`, before the upgrade.
fn sockets_full(why: ws_limits::Full) -> Response {
    tracing::warn!(?why, "display WebSocket refused: too many open");
    failed_before_graphql(&DomainError::TooManyConnections)
}

/// `GET /t/{slug}/display/ws`: the displays' subscriptions over WebSocket (graphql-ws and
/// graphql-transport-ws). The display token comes as the `token` query parameter (checked
/// before the upgrade: 401/403), as the display page's device cookie (`cookie_display`), or
/// in the `connection_init` payload (a wrong one closes the connection). Sockets are bounded in all, per client address and per device, and one not
/// authenticated in time is closed with 4408 (`ws_limits`).
#[allow(clippy::too_many_arguments)]
pub async fn display_ws(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    peer: Peer,
    headers: HeaderMap,
    connection: Option<Extension<Arc<conn_limits::Open>>>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let t = match tenant_of(&s.app, &slug) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (Ok(protocol), Ok(ws)) = (protocol, ws) else {
        return error_json(
            StatusCode::BAD_REQUEST,
            Code::BadRequest,
            "Ten adres przyjmuje tylko połączenia WebSocket z protokołem graphql-transport-ws albo graphql-ws.",
        );
    };
    if s.settings.stopping.is_stopping() {
        // Issue 15: this replica is going away; the display tries again and reaches another.
        let mut r = error_json(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::ShuttingDown,
            "Serwer jest właśnie zatrzymywany. Połącz się ponownie za chwilę.",
        );
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(1),
        );
        return r;
    }
    let client = client_ip(peer, &headers, &s.settings.admission.trusted_proxies);
    let counted = match s.websockets.open(client.0) {
        Ok(c) => Arc::new(c),
        Err(why) => return sockets_full(why),
    };
    let early = match params.get("token") {
        Some(token) => {
            let a = match auth::authenticate(
                &s.app,
                Scope::Tenant(t.id),
                bearer(&bearer_headers(token)),
            )
            .await
            {
                Ok(a) => a,
                Err(e) => return failed_before_graphql(&e.domain()),
            };
            match display_of(&t, &a) {
                Ok(device) => {
                    if let Err(why) = counted.authenticate(device) {
                        return sockets_full(why);
                    }
                }
                Err(d) => {
                    let status = if d.code() == "UNAUTHENTICATED" {
                        StatusCode::UNAUTHORIZED
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    return error_json(
                        status,
                        d.listed_code().unwrap_or(Code::Forbidden),
                        &d.to_string(),
                    );
                }
            }
            Some(a)
        }
        None => match cookie_display(&s, &t, &headers).await {
            Some((a, device)) => {
                if let Err(why) = counted.authenticate(device) {
                    return sockets_full(why);
                }
                Some(a)
            }
            None => None,
        },
    };
    let schema = s.display.clone();
    let mut data = Data::default();
    data.insert(s.app.clone());
    data.insert(t.clone());
    data.insert(s.bus.clone());
    let app = s.app.clone();
    let socket = counted.clone();
    let on_init = move |payload: serde_json::Value| async move {
        let a = match (early, payload_token(&payload)) {
            (_, Some(token)) => {
                auth::authenticate(&app, Scope::Tenant(t.id), bearer(&bearer_headers(&token)))
                    .await
                    .map_err(|e| async_graphql::Error::new(e.domain().to_string()))?
            }
            (Some(a), None) => a,
            (None, None) => Auth::default(),
        };
        let device = display_of(&t, &a).map_err(|d| async_graphql::Error::new(d.to_string()))?;
        socket
            .authenticate(device)
            .map_err(|_| async_graphql::Error::new(DomainError::TooManyConnections.to_string()))?;
        let mut d = Data::default();
        // Counted while the connection's data lives: until the socket closes.
        if let Ok(Principal::Device { office, .. }) = a.principal() {
            d.insert(app.metrics.display_connected(&t, *office));
        }
        d.insert(a);
        Ok(d)
    };
    ws_limits::small_buffers(ws)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |ws| {
            ws_limits::drive(ws, counted, schema, protocol, data, on_init, connection)
        })
}
