//! Why a connection was not taken: by its address's or the server's bound on connections
//! (`conn_limits`), or by its address's accept rate (`accept_rate`).

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds `per_client` connections already.
    Client,
    /// The server holds `max_connections`.
    Server,
    /// Its address opens connections faster than its accept rate.
    Rate,
}

impl Refused {
    /// Its `reason` in `okienko_connections_refused_total`.
    pub fn reason(self) -> &'static str {
        match self {
            Refused::Client => "client",
            Refused::Server => "server",
            Refused::Rate => "rate",
        }
    }
}
