//! The HTTP face: the axum router (`http`), GraphQL over HTTP and WebSocket for the six
//! schemas of `okienko-graphql` (`graphql_http`, `queue_http`), the pages behind e-mailed links
//! (`pages`, over `okienko-app` directly), the resident-card login (`login`), GraphiQL and static assets, and the bounds on what
//! clients may hold: admission and timeouts, connections, WebSockets, rate limits and the
//! client's address behind trusted proxies.

pub mod accept_rate;
pub mod admission;
pub mod assets;
pub mod bearer;
pub mod conn_limits;
pub mod graphiql;
pub mod graphql_http;
pub mod http;
pub mod listener;
pub mod login;
pub mod metrics_http;
pub mod metrics_layer;
pub mod office;
pub mod pages;
pub mod queue_http;
pub mod rate_limit;
pub mod refused;
pub mod respond;
pub mod routes;
pub mod shutdown;
pub mod site;
pub mod state;
pub mod trace_layer;
pub mod ws_limits;

/// Settings of the HTTP layer from the server's configuration.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Timeouts, the body limit, requests in flight, the client's address behind proxies
    /// (`admission`).
    pub admission: admission::Settings,
    /// The display WebSockets' bounds (`ws_limits`).
    pub websockets: ws_limits::Settings,
    /// On once shutdown began: `/readyz` answers 503, display WebSockets close (`shutdown`).
    pub stopping: shutdown::Stopping,
}
