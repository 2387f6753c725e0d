//! Bounds on the call displays' WebSockets (issue 11): how many are open in all, per client
//! address and per display device; how long a socket may stay without authenticating; pings
//! for idle ones; and small buffers, so that an idle socket costs a few kilobytes.
//!
//! The GraphQL protocol itself (graphql-transport-ws, graphql-ws) is async-graphql's. It has
//! no connection-initialisation timeout and pings only in one of the protocols, so the socket
//! is driven here: async-graphql writes into a small channel, and one loop forwards that to
//! the socket, sends pings, and closes the socket when its time is up.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Data, Executor};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;

/// How display WebSockets are bounded; from the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A socket that has not sent an accepted `connection_init` by then is closed with 4408
    /// (`OKIENKO_WS_INIT_TIMEOUT_MS`).
    pub init_timeout: Duration,
    /// An idle socket is pinged this often, and closed when it has not been heard from for two
    /// of these (`OKIENKO_WS_PING_MS`).
    pub ping_every: Duration,
    /// Sockets open at once (`OKIENKO_MAX_WEBSOCKETS`).
    pub max_sockets: usize,
    /// Of those, sockets from one client address (`OKIENKO_MAX_WEBSOCKETS_PER_CLIENT`).
    pub per_client: usize,
    /// Of those, sockets of one display device (`OKIENKO_MAX_WEBSOCKETS_PER_DEVICE`).
    pub per_device: usize,
}

pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_PING_EVERY: Duration = Duration::from_secs(30);
/// At most this many sockets unless `OKIENKO_MAX_WEBSOCKETS` says otherwise, and never more
/// than half the server's connection bound, so normal requests keep the other half.
pub const DEFAULT_MAX_SOCKETS: usize = 4096;
pub const DEFAULT_PER_CLIENT: usize = 16;
/// A display that reconnects may hold its old socket until the ping finds it dead.
pub const DEFAULT_PER_DEVICE: usize = 2;

/// Buffers of one socket: a display receives short events and sends almost nothing.
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 4 * 1024;
const MAX_MESSAGE: usize = 16 * 1024;
/// Messages async-graphql may have ready for the socket before it waits.
const OUTGOING: usize = 8;
/// How long one message may take to leave; a client that reads nothing is closed after it.
const SEND_WITHIN: Duration = Duration::from_secs(10);

/// The close code graphql-transport-ws defines for a socket not initialised in time.
pub const INIT_TIMEOUT_CLOSE: u16 = 4408;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            init_timeout: DEFAULT_INIT_TIMEOUT,
            ping_every: DEFAULT_PING_EVERY,
            max_sockets: DEFAULT_MAX_SOCKETS,
            per_client: DEFAULT_PER_CLIENT,
            per_device: DEFAULT_PER_DEVICE,
        }
    }
}

/// The default bound on sockets under a bound on connections.
pub fn max_sockets_for(max_connections: usize) -> usize {
    DEFAULT_MAX_SOCKETS.min(max_connections / 2).max(1)
}

/// The sockets open: in all, per client address, per device.
#[derive(Debug, Default)]
pub struct Registry {
    settings: Settings,
    /// On at shutdown: open sockets close with 1012 (`shutdown`).
    stopping: crate::shutdown::Stopping,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
    per_device: HashMap<i64, usize>,
}

/// Why a socket is not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Server,
    Client,
    Device,
}

impl Registry {
    pub fn new(settings: Settings) -> Arc<Registry> {
        Registry::with_stopping(settings, Default::default())
    }

    /// A registry whose sockets close with [`crate::shutdown::SERVICE_RESTART_CLOSE`] once
    /// `stopping` turns on.
    pub fn with_stopping(settings: Settings, stopping: crate::shutdown::Stopping) -> Arc<Registry> {
        Arc::new(Registry {
            settings,
            stopping,
            counts: Mutex::default(),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counters only: a panic elsewhere leaves nothing half-done here.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a socket from `client` (before the upgrade), or says which bound it would pass.
    pub fn open(self: &Arc<Self>, client: Option<IpAddr>) -> Result<Socket, Full> {
        let mut c = self.lock();
        if c.total >= self.settings.max_sockets {
            return Err(Full::Server);
        }
        if let Some(ip) = client {
            let n = c.per_client.entry(ip).or_insert(0);
            if *n >= self.settings.per_client {
                return Err(Full::Client);
            }
            *n += 1;
        }
        c.total += 1;
        Ok(Socket {
            registry: self.clone(),
            client,
            device: Mutex::new(None),
            authenticated: AtomicBool::new(false),
        })
    }

    /// Sockets open now.
    pub fn total(&self) -> usize {
        self.lock().total
    }
}

/// One counted socket; uncounted when dropped.
#[derive(Debug)]
pub struct Socket {
    registry: Arc<Registry>,
    client: Option<IpAddr>,
    device: Mutex<Option<i64>>,
    authenticated: AtomicBool,
}

impl Socket {
    /// Counts the socket against its display `device` and marks it authenticated, or says the
    /// device holds as many sockets as it may.
    pub fn authenticate(&self, device: i64) -> Result<(), Full> {
        let mut mine = self.device.lock().unwrap_or_else(|e| e.into_inner());
        if *mine == Some(device) {
            return Ok(());
        }
        let mut c = self.registry.lock();
        let n = c.per_device.entry(device).or_insert(0);
        if *n >= self.registry.settings.per_device {
            return Err(Full::Device);
        }
        *n += 1;
        if let Some(old) = mine.replace(device) {
            decrement(&mut c.per_device, &old);
        }
        self.authenticated.store(true, Ordering::Release);
        Ok(())
    }

    fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Acquire)
    }
}

fn decrement<K: std::hash::Hash + Eq>(m: &mut HashMap<K, usize>, k: &K) {
    if let Some(n) = m.get_mut(k) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            m.remove(k);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let device = self.device.get_mut().map(|d| d.take()).unwrap_or(None);
        let mut c = self.registry.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(ip) = self.client {
            decrement(&mut c.per_client, &ip);
        }
        if let Some(d) = device {
            decrement(&mut c.per_device, &d);
        }
    }
}

/// The upgrade with this module's buffer sizes.
pub fn small_buffers(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + MAX_MESSAGE)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
}

/// Serves one socket with `executor` (a schema) over `protocol` until either side ends it.
/// `on_init` checks the `connection_init` payload and must call [`Socket::authenticate`]
/// before it succeeds; until then the socket is closed with [`INIT_TIMEOUT_CLOSE`] at the
/// registry's `init_timeout`. `keep` lives as long as the socket (the connection's count).
pub async fn drive<E, F, R>(
    socket: WebSocket,
    counted: Arc<Socket>,
    executor: E,
    protocol: GraphQLProtocol,
    data: Data,
    on_init: F,
    keep: impl Send + 'static,
) where
    E: Executor,
    F: FnOnce(serde_json::Value) -> R + Send + 'static,
    R: std::future::Future<Output = async_graphql::Result<Data>> + Send + 'static,
{
    let settings = counted.registry.settings.clone();
    let stopping = counted.registry.stopping.clone();
    let shutdown = stopping.wait();
    tokio::pin!(shutdown);
    let (mut sink, stream) = socket.split();
    let heard = Arc::new(Mutex::new(Instant::now()));
    let heard_in = heard.clone();
    let stream = stream.inspect(move |_| {
        *heard_in.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    });
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(OUTGOING);
    let out =
        futures_util::sink::unfold(
            tx,
            |tx, m: Message| async move { tx.send(m).await.map(|()| tx) },
        );
    let gql = GraphQLWebSocket::new_with_pair(out, stream, executor, protocol)
        .with_data(data)
        .on_connection_init(on_init)
        .serve();
    tokio::pin!(gql);
    let init_deadline = tokio::time::sleep(settings.init_timeout);
    tokio::pin!(init_deadline);
    let mut ping =
        tokio::time::interval_at(Instant::now() + settings.ping_every, settings.ping_every);
    let close = loop {
        tokio::select! {
            // The client ended the socket, or async-graphql closed it: what it wrote goes out.
            () = &mut gql => {
                while let Ok(m) = rx.try_recv() {
                    if !send(&mut sink, m).await {
                        break;
                    }
                }
                break None;
            }
            Some(m) = rx.recv() => {
                if !send(&mut sink, m).await {
                    break None;
                }
            }
            // Issue 15: the display reconnects, to another replica behind the load balancer.
            () = &mut shutdown => {
                break Some((crate::shutdown::SERVICE_RESTART_CLOSE, "Service restart"));
            }
            () = &mut init_deadline, if !counted.is_authenticated() => {
                break Some((INIT_TIMEOUT_CLOSE, "Connection initialisation timeout"));
            }
            _ = ping.tick() => {
                let quiet = heard.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
                if quiet >= settings.ping_every * 2 {
                    break Some((1001, "No answer to pings"));
                }
                if !send(&mut sink, Message::Ping(Default::default())).await {
                    break None;
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if send(&mut sink, Message::Close(Some(frame))).await {
            // The closing handshake: the client's close ends the stream async-graphql reads.
            // Closing the connection before it would reset it, and the client could lose the
            // close frame with its reason.
            let _ = tokio::time::timeout(SEND_WITHIN, async {
                loop {
                    tokio::select! {
                        () = &mut gql => break,
                        m = rx.recv() => if m.is_none() { break },
                    }
                }
            })
            .await;
        }
    }
    let _ = tokio::time::timeout(SEND_WITHIN, sink.close()).await;
    drop(keep);
}

async fn send(sink: &mut futures_util::stream::SplitSink<WebSocket, Message>, m: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_WITHIN, sink.send(m)).await,
        Ok(Ok(()))
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bounds_in_all_per_client_and_per_device() {
        let r = Registry::new(Settings {
            max_sockets: 4,
            per_client: 2,
            per_device: 1,
            ..Settings::default()
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = r.open(Some(a)).unwrap();
        let s2 = r.open(Some(a)).unwrap();
        assert_eq!(r.open(Some(a)).unwrap_err(), Full::Client);
        let s3 = r.open(Some(b)).unwrap();
        let _s4 = r.open(None).unwrap();
        assert_eq!(r.open(Some(b)).unwrap_err(), Full::Server);
        s1.authenticate(7).unwrap();
        s1.authenticate(7).unwrap();
        assert_eq!(s2.authenticate(7).unwrap_err(), Full::Device);
        assert!(!s2.is_authenticated());
        drop(s1);
        s2.authenticate(7).unwrap();
        assert!(s2.is_authenticated());
        drop((s2, s3));
        assert_eq!(r.total(), 1);
        let c = r.lock();
        assert!(c.per_client.is_empty() && c.per_device.is_empty(), "{c:?}");
    }

    #[test]
    fn sockets_keep_half_the_connections_for_requests() {
        assert_eq!(max_sockets_for(19_872), DEFAULT_MAX_SOCKETS);
        assert_eq!(max_sockets_for(1000), 500);
    }
}
