//! The accept loop: each connection paced by its address's accept rate and counted against
//! its address's and the server's bounds (`conn_limits`, `accept_rate`), served by hyper's
//! HTTP/1 connection with a header timeout, and ended gracefully at shutdown (issue 11). A
//! refused connection is answered 503 or, in an address's penalty window, closed at once.
//!
//! `axum::serve` offers neither a header timeout nor a say over which connections are taken,
//! so the loop is here, on hyper's own connection builder.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use okienko_domain::{Code, DomainError};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

use crate::admission::closing;
use crate::conn_limits::{Connections, Open, Refusal};
use crate::respond::error_json;

/// Largest request head accepted (request line and headers); past it hyper answers 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Refusals being answered at once; connections refused beyond are closed without an answer.
const MAX_REFUSING: usize = 64;
/// How long a refused connection has to send its request head before it is closed.
const REFUSAL_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the accept loop rests after the process ran out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long shutdown waits for open connections to finish their requests, unless the server
/// says otherwise (`OKIENKO_SHUTDOWN_TIMEOUT_MS`).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting (the
/// listening socket is closed) and lets open connections finish the requests they are in, at
/// most `finish_within`; idle kept-alive connections are closed at once.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    connections: Arc<Connections>,
    shutdown: impl Future<Output = ()>,
    finish_within: Duration,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, `recv` answers `None`.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let refusing = Arc::new(AtomicUsize::new(0));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors (or a connection reset before it was taken): rest
                // a moment instead of spinning, and go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        match connections.accept(peer.ip(), Instant::now()) {
            Ok(open) => {
                let (router, stop, alive) = (router.clone(), stop_rx.clone(), alive_tx.clone());
                let header_timeout = connections.settings().header_timeout;
                tokio::spawn(async move {
                    serve_one(stream, peer, open, router, header_timeout, stop).await;
                    drop(alive);
                });
            }
            Err(refusal) => refuse(stream, peer, refusal, &refusing, &connections),
        }
    }
    // No new connections from here on: the port refuses them.
    drop(listener);
    let _ = stop_tx.send(true);
    drop(alive_tx);
    if tokio::time::timeout(finish_within, alive_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            within_ms = finish_within.as_millis() as u64,
            "requests still in flight at the shutdown timeout are cut"
        );
    }
}

async fn serve_one(
    stream: TcpStream,
    peer: SocketAddr,
    open: Open,
    router: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // Requests carry the connection's count, so a WebSocket that outlives the connection's
    // HTTP part (the upgrade) keeps it counted for as long as it is open.
    let open = Arc::new(open);
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(open.clone());
        router.clone().oneshot(req.map(Body::new))
    });
    let conn = builder(header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let ended = tokio::select! {
        r = conn.as_mut() => r,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

fn builder(header_timeout: Duration) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    b
}

/// Answers a connection that is not taken with 503 `TOO_MANY_CONNECTIONS`, `Retry-After` and
/// `Connection: close`, once its request head has arrived; closes it at once, unanswered, when
/// its address is in a penalty window past its first refusals, or with [`MAX_REFUSING`]
/// refusals under way. Either way it is counted.
fn refuse(
    stream: TcpStream,
    peer: SocketAddr,
    refusal: Refusal,
    refusing: &Arc<AtomicUsize>,
    connections: &Connections,
) {
    let Refusal { why, answer } = refusal;
    tracing::debug!(%peer, ?why, answer, "connection refused");
    let answer = answer && {
        let taken = refusing.fetch_add(1, Ordering::AcqRel) < MAX_REFUSING;
        if !taken {
            refusing.fetch_sub(1, Ordering::AcqRel);
        }
        taken
    };
    connections.count_refused(why, answer);
    if !answer {
        // Closed with a reset: nothing read or written, and no TIME_WAIT left behind.
        let _ = stream.set_zero_linger();
        return;
    }
    let refusing = refusing.clone();
    tokio::spawn(async move {
        let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(too_many_connections())
        });
        let _ = builder(REFUSAL_HEADER_TIMEOUT)
            .keep_alive(false)
            .serve_connection(TokioIo::new(stream), service)
            .await;
        refusing.fetch_sub(1, Ordering::AcqRel);
    });
}

fn too_many_connections() -> Response {
    let d = DomainError::TooManyConnections;
    let mut r = closing(error_json(
        StatusCode::SERVICE_UNAVAILABLE,
        d.listed_code().unwrap_or(Code::TooManyConnections),
        &d.to_string(),
    ));
    if let Some(secs) = d.retry_after() {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}
