//! The client's address of a request for the rate limits (`okienko_app::rate_limit`, whose
//! limiters this re-exports): the socket's peer, or behind trusted proxies the address they
//! forwarded (`OKIENKO_TRUSTED_PROXIES`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

pub use okienko_app::rate_limit::*;

/// The peer address of the connection, when the server provides it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl Peer {
    /// The peer of the request whose extensions these are.
    pub fn of(extensions: &axum::http::Extensions) -> Peer {
        Peer(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer::of(&parts.extensions))
    }
}

/// Resolves the client's address from the peer and, for trusted proxies, the header.
pub fn client_ip(peer: Peer, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> ClientIp {
    let Some(peer) = peer.0 else {
        return ClientIp(None);
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return ClientIp(Some(peer));
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    let ip = forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer);
    ClientIp(Some(ip))
}

/// Parses `OKIENKO_TRUSTED_PROXIES`: comma-separated addresses or CIDR networks.
pub fn parse_trusted(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("not an address or CIDR network: {s:?}"))
        })
        .collect()
}
