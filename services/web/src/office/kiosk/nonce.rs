//! Double taps never print two tickets: every kiosk form carries a one-time nonce, and what
//! a nonce's POST printed is remembered per kiosk for a few minutes, so the same form posted
//! again (a second tap before the page changed, a reload, a browser retry) shows the ticket
//! already printed instead of issuing another.
//!
//! The nonce is 128 random bits put in the form when the screen is rendered; it needs no
//! signature, since an unknown nonce only means "a new request" and the kiosk's own device
//! cookie is what authorises it. moka's `try_get_with` runs one issue per key even when the
//! two POSTs arrive at once (the second waits for the first's answer); a refusal is not
//! remembered, so the person may try again with the same form. The memory is per process:
//! behind a load balancer without affinity, a second tap that reaches another replica within
//! the same second could still print a second ticket; kiosk.js disabling the button after the
//! first tap is the guard there.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use moka::future::Cache;
use okienko_app::error::{ApiError, ApiResult};
use rand::RngCore;

/// How long a nonce's ticket is remembered.
const KEEP: Duration = Duration::from_secs(300);
/// Entries kept at most (a few dozen bytes each).
const MAX: u64 = 50_000;

/// (kiosk device, nonce, what was asked: `walk-in:M`, `code:ABC123`, `phone:48600100200`).
type Key = (i64, String, String);

fn done() -> &'static Cache<Key, i64> {
    static C: OnceLock<Cache<Key, i64>> = OnceLock::new();
    C.get_or_init(|| {
        Cache::builder()
            .max_capacity(MAX)
            .time_to_live(KEEP)
            .build()
    })
}

/// A new nonce for a form.
pub fn fresh() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Whether `n` is a nonce as [`fresh`] makes them.
pub fn valid(n: &str) -> bool {
    n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The ticket id `issue` gives, once per (kiosk, nonce, what): later calls with the same key
/// get the first one's ticket without running `issue`.
pub async fn once<F>(device: i64, nonce: &str, what: String, issue: F) -> Result<i64, Arc<ApiError>>
where
    F: std::future::Future<Output = ApiResult<i64>>,
{
    done()
        .try_get_with((device, nonce.to_string(), what), issue)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use okienko_domain::DomainError;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn fresh_nonces_are_valid_and_distinct() {
        let (a, b) = (fresh(), fresh());
        assert!(valid(&a) && valid(&b));
        assert_ne!(a, b);
        assert!(!valid("abc") && !valid(&"z".repeat(32)));
    }

    #[tokio::test]
    async fn one_issue_per_nonce_and_refusals_are_not_kept() {
        let runs = AtomicUsize::new(0);
        let n = fresh();
        let issue = |id: i64| {
            let runs = &runs;
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<i64, ApiError>(id)
            }
        };
        let (a, b) = tokio::join!(
            once(1, &n, "walk-in:M".into(), issue(7)),
            once(1, &n, "walk-in:M".into(), issue(8))
        );
        assert_eq!((a.ok(), b.ok()), (Some(7), Some(7)));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Another kiosk or another queue is another request.
        assert_eq!(
            once(2, &n, "walk-in:M".into(), issue(9)).await.ok(),
            Some(9)
        );
        assert_eq!(
            once(1, &n, "walk-in:D".into(), issue(10)).await.ok(),
            Some(10)
        );
        let refused = once(1, &n, "code:X".into(), async {
            Err::<i64, ApiError>(DomainError::QueueFull.into())
        })
        .await;
        assert!(refused.is_err());
        assert_eq!(once(1, &n, "code:X".into(), issue(11)).await.ok(), Some(11));
    }
}
