//! Graceful shutdown's shared flag (issue 15). It turns on at the first SIGTERM or SIGINT:
//! from then on `/readyz` answers 503 (the load balancer takes the replica out), display
//! WebSockets are closed with [`SERVICE_RESTART_CLOSE`] and new ones refused, while the
//! requests in flight finish.

use std::sync::Arc;

use tokio::sync::watch;

/// The close code of display WebSockets at shutdown: 1012 "Service Restart" (RFC 6455 §7.4,
/// IANA registry), which tells the display to reconnect (to another replica) and read `board`
/// again.
pub const SERVICE_RESTART_CLOSE: u16 = 1012;

/// Whether the server is shutting down; clones share one flag.
#[derive(Debug, Clone)]
pub struct Stopping(Arc<watch::Sender<bool>>);

impl Default for Stopping {
    fn default() -> Self {
        Stopping(Arc::new(watch::channel(false).0))
    }
}

impl Stopping {
    /// Turns the flag on (once; later calls change nothing).
    pub fn begin(&self) {
        self.0.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once the flag is on.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_share_the_flag_and_waiters_wake() {
        let s = Stopping::default();
        let c = s.clone();
        assert!(!c.is_stopping());
        let waiter = tokio::spawn(async move { c.wait().await });
        s.begin();
        waiter.await.unwrap();
        assert!(s.is_stopping());
        s.begin();
        s.wait().await;
    }
}
