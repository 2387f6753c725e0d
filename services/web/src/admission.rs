//! Admission of a request to the handlers: its body read first (bounded in size and time, and
//! holding no permit), then a turn among the requests of its client address, then a turn among
//! all requests in flight, the whole within the request timeout (issue 6, issue 11).
//!
//! A body that arrives slowly, or never, costs its connection and nothing else: it holds no
//! in-flight permit, so 128 stalled uploads do not keep everyone else waiting. One client
//! address holds at most `per_client` of the in-flight permits, so one busy address cannot take
//! them all. How long the oldest waiting request has waited for its turn is what `/readyz`
//! reports as saturation.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use okienko_domain::{Code, DomainError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::rate_limit::{client_ip, Peer};
use crate::respond::error_json;
use crate::routes::DISPLAY_WS;

/// How requests are admitted; from the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a request may take once its body is read (`OKIENKO_REQUEST_TIMEOUT_MS`).
    pub request_timeout: Duration,
    /// How long its body may take to arrive (`OKIENKO_BODY_TIMEOUT_MS`).
    pub body_timeout: Duration,
    /// Largest body accepted, in bytes (413 past it).
    pub body_limit: usize,
    /// Requests handled at once (`OKIENKO_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// Of those, requests of one client address (`OKIENKO_MAX_IN_FLIGHT_PER_CLIENT`).
    pub per_client: usize,
    /// `/readyz` says "not ready" once a request has waited this long for its turn
    /// (`OKIENKO_READY_MAX_WAIT_MS`).
    pub ready_max_wait: Duration,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The request timeout when `OKIENKO_REQUEST_TIMEOUT_MS` does not set one.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The body timeout when `OKIENKO_BODY_TIMEOUT_MS` does not set one.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests in flight when `OKIENKO_MAX_IN_FLIGHT` does not say (defined beside the policy
/// turns that derive from it).
pub use okienko_app::policy_sched::DEFAULT_MAX_IN_FLIGHT;
/// Requests in flight of one client address when `OKIENKO_MAX_IN_FLIGHT_PER_CLIENT` does not say.
pub const DEFAULT_PER_CLIENT: usize = 16;
/// The wait for a turn past which `/readyz` reports saturation, unless
/// `OKIENKO_READY_MAX_WAIT_MS` says otherwise.
pub const DEFAULT_READY_MAX_WAIT: Duration = Duration::from_secs(2);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            body_limit: 256 * 1024,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            per_client: DEFAULT_PER_CLIENT,
            ready_max_wait: DEFAULT_READY_MAX_WAIT,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The permits and the queue of requests waiting for one; shared by the router and `/readyz`.
#[derive(Debug)]
pub struct Admission {
    settings: Settings,
    in_flight: Arc<Semaphore>,
    clients: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
    waiting: Mutex<BTreeMap<u64, Instant>>,
    next_ticket: AtomicU64,
}

/// What `/readyz` knows of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub in_flight: usize,
    pub waiting: usize,
    /// How long the request waiting longest has waited for its turn.
    pub oldest_wait: Duration,
    /// Whether that is past `ready_max_wait`: the server cannot serve through this load.
    pub saturated: bool,
}

impl Admission {
    pub fn new(settings: Settings) -> Arc<Admission> {
        Arc::new(Admission {
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            clients: Arc::default(),
            waiting: Mutex::default(),
            next_ticket: AtomicU64::new(0),
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn load(&self) -> Load {
        let waiting = lock(&self.waiting);
        let oldest_wait = waiting
            .values()
            .next()
            .map_or(Duration::ZERO, |since| since.elapsed());
        Load {
            in_flight: self.settings.max_in_flight.max(1) - self.in_flight.available_permits(),
            waiting: waiting.len(),
            oldest_wait,
            saturated: !waiting.is_empty() && oldest_wait >= self.settings.ready_max_wait,
        }
    }

    /// A turn among the client's requests, then among all: waits (holding nothing else) until
    /// both are free.
    ///
    /// The semaphores are never closed, so acquiring fails never; were it to, the request runs.
    async fn turn(
        &self,
        client: Option<IpAddr>,
    ) -> (Option<ClientPermit>, Option<OwnedSemaphorePermit>) {
        let own = match client {
            Some(ip) => Some(self.client_turn(ip).await),
            None => None,
        };
        let permit = match self.in_flight.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
                lock(&self.waiting).insert(ticket, Instant::now());
                let _leaves = Waiting(self, ticket);
                self.in_flight.clone().acquire_owned().await.ok()
            }
        };
        (own, permit)
    }

    async fn client_turn(&self, ip: IpAddr) -> ClientPermit {
        let sem = lock(&self.clients)
            .entry(ip)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_client.max(1))))
            .clone();
        ClientPermit {
            permit: sem.acquire_owned().await.ok(),
            ip,
            clients: self.clients.clone(),
        }
    }

    /// Client addresses holding or awaiting a turn (their entries are dropped after).
    pub fn clients_tracked(&self) -> usize {
        lock(&self.clients).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters and queues only: a panic elsewhere leaves nothing half-done here.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes a waiting request from the queue `/readyz` looks at, however its wait ends.
struct Waiting<'a>(&'a Admission, u64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.0.waiting).remove(&self.1);
    }
}

/// A turn among one client address's requests; the address's entry goes when nobody holds or
/// awaits one.
struct ClientPermit {
    permit: Option<OwnedSemaphorePermit>,
    ip: IpAddr,
    clients: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
}

impl Drop for ClientPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut clients = lock(&self.clients);
        if clients
            .get(&self.ip)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            clients.remove(&self.ip);
        }
    }
}

/// Admits every request to `router` (its fallback included) as described above; the handshake
/// of [`DISPLAY_WS`] takes its turns but no timeout, since its connection lives on after it. Past the body timeout the
/// answer is 408 `BODY_TIMEOUT`, past the size limit 413 `PAYLOAD_TOO_LARGE` (both with
/// `Connection: close`: the rest of the body is not read), past the request timeout 503
/// `REQUEST_TIMEOUT` with `Retry-After: 1`.
///
/// The handler's future is dropped where it stands at the timeout. A database transaction it
/// had open is rolled back (the pool discards a connection dropped inside a transaction, and the database rolls it back), so a
/// request cut off changes nothing it had not committed yet. What a use case does after its
/// commit (raising the availability cache's generation and its NOTIFY, a booking's history row,
/// waking the outbox worker) may be cut off with it: the cache's entries live 30 s at most,
/// history rows are best effort by design, and the outbox worker also looks for due messages on
/// its own.
pub fn admit<S>(router: Router<S>, admission: Arc<Admission>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::from_fn_with_state(admission, admit_one))
}

async fn admit_one(State(a): State<Arc<Admission>>, req: Request, next: Next) -> Response {
    // The route's pattern, not the path: paths carry booking tokens.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map(MatchedPath::as_str);
    if route == Some(DISPLAY_WS) {
        // The handshake takes turns like any request (a flood of upgrades from one address waits
        // behind its own); the socket it opens lives on after it, unbounded in time.
        let client = client_ip(
            Peer::of(req.extensions()),
            req.headers(),
            &a.settings.trusted_proxies,
        );
        let _turn = a.turn(client.0).await;
        return next.run(req).await;
    }
    let method = req.method().clone();
    // Health checks do not queue behind a burst: a load balancer would take the server out.
    let queues = !matches!(route, Some("/healthz" | "/readyz"));
    let (parts, body) = req.into_parts();
    let body = match read_whole(&a.settings, &parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let client = client_ip(
        Peer::of(&parts.extensions),
        &parts.headers,
        &a.settings.trusted_proxies,
    );
    let req = Request::from_parts(parts, Body::from(body));
    let limit = a.settings.request_timeout;
    let run = async {
        let _turn = match queues {
            true => Some(a.turn(client.0).await),
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

/// The whole body, within the size limit and the body timeout.
async fn read_whole(
    s: &Settings,
    headers: &axum::http::HeaderMap,
    body: Body,
) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > s.body_limit) {
        return Err(too_large(s.body_limit));
    }
    match tokio::time::timeout(s.body_timeout, axum::body::to_bytes(body, s.body_limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(too_large(s.body_limit)),
        Err(_) => {
            let d = DomainError::BodyTimeout;
            Err(closing(error_json(
                StatusCode::REQUEST_TIMEOUT,
                d.listed_code().unwrap_or(Code::BodyTimeout),
                &d.to_string(),
            )))
        }
    }
}

/// 413 `PAYLOAD_TOO_LARGE`; the server closes the connection after it.
pub(crate) fn too_large(limit: usize) -> Response {
    closing(error_json(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::PayloadTooLarge,
        &format!("Zapytanie jest za duże (limit {} KiB).", limit / 1024),
    ))
}

/// Marks an answer after which the server closes the connection (hyper closes it on seeing
/// the header).
pub fn closing(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// 503 with `Retry-After: 1` and the code `REQUEST_TIMEOUT`.
fn timed_out() -> Response {
    let mut r = error_json(
        StatusCode::SERVICE_UNAVAILABLE,
        Code::RequestTimeout,
        "Serwer nie zdążył odpowiedzieć w wyznaczonym czasie. Spróbuj ponownie za chwilę.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(1u32));
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::handler::Handler;
    use axum::response::IntoResponse;
    use axum::routing::{any_service, get, post};
    use std::net::SocketAddr;
    use std::sync::atomic::AtomicUsize;

    const LIMIT: Duration = Duration::from_secs(10);

    fn settings() -> Settings {
        Settings {
            request_timeout: LIMIT,
            ..Settings::default()
        }
    }

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

    /// Sends one request from `peer` through `router` (routing and layers included).
    fn call_from(
        router: &Router,
        peer: [u8; 4],
        method: &str,
        uri: &str,
        body: Body,
    ) -> impl std::future::Future<Output = Response> + Send + 'static {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::from((peer, 40000))));
        Handler::<(), ()>::call(any_service(router.clone()), req, ())
    }

    fn call(
        router: &Router,
        method: &str,
        uri: &str,
    ) -> impl std::future::Future<Output = Response> + Send + 'static {
        call_from(router, [10, 0, 0, 1], method, uri, Body::empty())
    }

    async fn body_of(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    /// A body that sends half of itself, then nothing.
    fn stalled_body() -> Body {
        let first = futures_util::stream::once(async {
            Ok::<_, std::io::Error>(Bytes::from_static(b"{\"query\":"))
        });
        Body::from_stream(futures_util::StreamExt::chain(
            first,
            futures_util::stream::pending(),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_the_limit_gets_503_with_its_code() {
        let router = admit(
            Router::new().route("/t/{slug}/graphql", post(never)),
            Admission::new(settings()),
        );
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
        let router = admit(
            Router::new()
                .route("/fast", get(fast))
                .route("/slow", get(slow)),
            Admission::new(settings()),
        );
        for uri in ["/fast", "/slow"] {
            let r = call(&router, "GET", uri).await;
            assert_eq!(r.status(), StatusCode::CREATED, "{uri}");
            assert_eq!(r.headers()["x-okienko"], "tak", "{uri}");
            assert!(r.headers().get(header::RETRY_AFTER).is_none(), "{uri}");
            assert!(r.headers().get(header::CONNECTION).is_none(), "{uri}");
            assert_eq!(body_of(r).await, b"gotowe", "{uri}");
        }
    }

    /// At most `max_in_flight` requests run at once and one address holds at most
    /// `per_client` of them; the rest wait, and `/readyz`'s view of the load says so.
    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_are_bounded_overall_and_per_client() {
        static ENTERED: AtomicUsize = AtomicUsize::new(0);
        async fn stuck() -> Response {
            ENTERED.fetch_add(1, Ordering::SeqCst);
            std::future::pending().await
        }
        let admission = Admission::new(Settings {
            max_in_flight: 8,
            per_client: 3,
            ready_max_wait: Duration::from_secs(1),
            ..settings()
        });
        let router = admit(
            Router::new()
                .route("/stuck", get(stuck))
                .route("/readyz", get(fast)),
            admission.clone(),
        );
        // One address sends ten: three get in.
        let greedy: Vec<_> = (0..10)
            .map(|_| {
                tokio::spawn(call_from(
                    &router,
                    [10, 0, 0, 1],
                    "GET",
                    "/stuck",
                    Body::empty(),
                ))
            })
            .collect();
        settle().await;
        assert_eq!(ENTERED.load(Ordering::SeqCst), 3);
        assert!(!admission.load().saturated);
        // Others fill the rest; beyond, they wait.
        let others: Vec<_> = (2..=8u8)
            .map(|i| {
                tokio::spawn(call_from(
                    &router,
                    [10, 0, 0, i],
                    "GET",
                    "/stuck",
                    Body::empty(),
                ))
            })
            .collect();
        settle().await;
        assert_eq!(ENTERED.load(Ordering::SeqCst), 8);
        let load = admission.load();
        assert_eq!((load.in_flight, load.waiting), (8, 2), "{load:?}");
        assert!(!load.saturated, "saturated before anyone waited long");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(admission.load().saturated, "{:?}", admission.load());
        // The health check does not wait behind them.
        let ready = tokio::spawn(call(&router, "GET", "/readyz"));
        settle().await;
        assert!(ready.is_finished(), "the health check waited for a turn");
        for w in greedy.into_iter().chain(others) {
            assert_eq!(w.await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        assert_eq!(admission.load().waiting, 0);
        assert!(!admission.load().saturated);
        assert_eq!(
            admission.clients_tracked(),
            0,
            "client entries outlived their requests"
        );
    }

    /// Bodies that stall hold no turn: with every turn's worth of them stuck, another client is
    /// answered, and the stalled ones get 408 `BODY_TIMEOUT` with `Connection: close`.
    #[tokio::test(start_paused = true)]
    async fn stalled_bodies_take_no_turn() {
        let admission = Admission::new(Settings {
            max_in_flight: 4,
            ..settings()
        });
        let router = admit(
            Router::new().route("/t/{slug}/graphql", post(fast)),
            admission.clone(),
        );
        let stalled: Vec<_> = (0..20)
            .map(|_| {
                tokio::spawn(call_from(
                    &router,
                    [10, 0, 0, 66],
                    "POST",
                    "/t/gdynia/graphql",
                    stalled_body(),
                ))
            })
            .collect();
        settle().await;
        assert_eq!(admission.load().in_flight, 0);
        let r = call_from(
            &router,
            [10, 0, 0, 7],
            "POST",
            "/t/gdynia/graphql",
            Body::from("{}"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        for s in stalled {
            let r = s.await.unwrap();
            assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
            assert_eq!(r.headers()[header::CONNECTION], "close");
            let v: serde_json::Value = serde_json::from_slice(&body_of(r).await).unwrap();
            assert_eq!(v["errors"][0]["extensions"]["code"], "BODY_TIMEOUT", "{v}");
        }
    }

    #[tokio::test]
    async fn a_body_over_the_limit_gets_413_and_the_connection_closes() {
        let router = admit(
            Router::new().route("/t/{slug}/graphql", post(fast)),
            Admission::new(Settings {
                body_limit: 1024,
                ..settings()
            }),
        );
        let r = call_from(
            &router,
            [10, 0, 0, 1],
            "POST",
            "/t/gdynia/graphql",
            Body::from(vec![b'x'; 2048]),
        )
        .await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.headers()[header::CONNECTION], "close");
    }

    /// The display's WebSocket route is left unbounded, the display's other routes are not.
    #[tokio::test(start_paused = true)]
    async fn the_display_websocket_is_not_bounded() {
        let router = admit(
            Router::new()
                .route(DISPLAY_WS, get(never))
                .route("/t/{slug}/display/graphql", post(never)),
            Admission::new(settings()),
        );
        let r = call(&router, "POST", "/t/gdynia/display/graphql").await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

        let ws = tokio::time::timeout(LIMIT * 100, call(&router, "GET", "/t/gdynia/display/ws"));
        assert!(ws.await.is_err(), "the WebSocket route was cut off");
    }
}
