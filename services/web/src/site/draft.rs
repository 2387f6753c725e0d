//! The booking in progress: a server-side draft keyed by a random id in a cookie.
//!
//! Why not a signed hidden field: the flow is POST then redirect then GET (W-3), and the GET
//! must show what was typed (W-5: nothing is lost on error; the back button shows each answer
//! again). Carrying the answers through redirects would put personal data in URLs, where
//! proxies and logs keep them; a draft on the server keeps them out of URLs and out of the
//! pages except where they are shown. The id is 128 random bits, the cookie `HttpOnly` and
//! `SameSite=Lax`, and a draft belongs to one tenant (checked on every read, P-1). Drafts live
//! in memory for an hour after their last use (a bounded cache); a restart or another replica
//! loses them, and the pages then say so and start again: nothing is booked until the last POST.

use std::time::Duration;

use axum::http::HeaderMap;
use moka::future::Cache;
use rand::RngCore;

/// The cookie holding the draft's id.
pub const COOKIE: &str = "okienko_wizyta";
/// Drafts kept at most (each a few hundred bytes).
const MAX_DRAFTS: u64 = 100_000;
/// A draft unused this long is forgotten.
pub const IDLE: Duration = Duration::from_secs(3600);

/// What the booking page got after submitting.
#[derive(Debug, Clone)]
pub struct Created {
    pub code: String,
    pub token: String,
}

#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub tenant: i64,
    /// The office (and department) chosen: `office_id` or `office_id/department_key`.
    pub group: Option<String>,
    pub service: Option<i64>,
    pub day: Option<chrono::NaiveDate>,
    /// The slot's start, Unix seconds.
    pub start: Option<i64>,
    /// The service's fields as typed.
    pub fields: Vec<(String, String)>,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub sms: bool,
    pub terms: bool,
    pub consents: Vec<String>,
    /// Messages per field for the next page shown (W-5), then cleared.
    pub errors: Vec<(String, String)>,
    /// Sent once as the idempotency key: a repeated submit returns the same booking.
    pub key: String,
    pub created: Option<Created>,
    /// The steps answered that keep no value of their own (`flow::Step::slug`).
    pub done: Vec<String>,
    /// The confirmation code as typed (OP-7).
    pub typed_code: String,
}

impl Draft {
    pub fn field(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

pub struct Drafts {
    cache: Cache<String, Draft>,
}

impl Default for Drafts {
    fn default() -> Self {
        Drafts {
            cache: Cache::builder()
                .max_capacity(MAX_DRAFTS)
                .time_to_idle(IDLE)
                .build(),
        }
    }
}

pub fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

impl Drafts {
    /// The draft of this request, if it has one of this tenant.
    pub async fn of(&self, headers: &HeaderMap, tenant: i64) -> Option<(String, Draft)> {
        let id = super::cookie(headers, COOKIE)?;
        if id.len() != 32 {
            return None;
        }
        let d = self.cache.get(&id).await?;
        (d.tenant == tenant).then_some((id, d))
    }

    pub async fn put(&self, id: &str, d: Draft) {
        self.cache.insert(id.to_string(), d).await;
    }

    pub async fn start(&self, tenant: i64) -> (String, Draft) {
        let id = new_id();
        let d = Draft {
            tenant,
            key: format!("www-{}", new_id()),
            ..Draft::default()
        };
        self.put(&id, d.clone()).await;
        (id, d)
    }
}

/// The `Set-Cookie` value for a draft.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; Max-Age={}; SameSite=Lax; HttpOnly{}",
        IDLE.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}
