//! Paths other modules than the router need to know.

/// The call displays' WebSocket: the one route the request timeout does not bound, since its
/// connection lives on after the handshake for as long as the display is on.
pub const DISPLAY_WS: &str = "/t/{slug}/display/ws";
