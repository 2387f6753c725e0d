//! Rate limits: 429 with `Retry-After` and `RATE_LIMITED`; the client's address from
//! `X-Forwarded-For` only behind a trusted proxy.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const SLUG: &str = "zielona-gora";

/// One createBooking (for a service that does not exist: refused, but counted) with the
/// given `X-Forwarded-For`; (status, Retry-After, body).
/// A server with rate limits on (the other tests run with them off), and `more` set.
async fn limited(more: &[(&str, &str)]) -> Server {
    Server::with_env(&[&[("OKIENKO_RATE_LIMITS", "on")], more].concat()).await
}

async fn book(s: &Server, xff: &str) -> (u16, Option<String>, Value) {
    let body = json!({ "query": CREATE, "variables": { "i": {
        "serviceId": "0", "start": "2026-12-02T08:00:00Z", "client": { "email": "a@example.pl" },
        "acceptedTermsVersion": "1.0", "consents": [] } } });
    let r = reqwest::Client::new()
        .post(format!("{}/t/{SLUG}/graphql", s.base))
        .header("x-forwarded-for", xff)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_retry_json(r).await
}

/// The default limit of the tenant: ten bookings a minute from one address.
async fn exhaust(s: &Server, xff: &str) {
    for i in 0..10 {
        let (status, _, v) = book(s, xff).await;
        assert_eq!(status, 200, "request {i}: {v}");
        assert_ne!(code_of(&v), "RATE_LIMITED", "request {i}: {v}");
    }
    let (status, retry, v) = book(s, xff).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(code_of(&v), "RATE_LIMITED", "{v}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("Zbyt wiele zapytań"), "{msg}");
}

#[tokio::test]
async fn booking_limit_ignores_forwarded_for_from_untrusted_peers() {
    let s = limited(&[]).await;
    exhaust(&s, "203.0.113.1").await;
    // Another claimed address from the same peer is the same client.
    let (status, retry, v) = book(&s, "203.0.113.2").await;
    assert_eq!(status, 429, "{v}");
    assert!(retry.is_some());
    // Reads have their own, larger limit.
    let v = s.gql(SLUG, "{ services { key } }", json!({})).await;
    assert!(v["errors"].is_null(), "{v}");
}

#[tokio::test]
async fn trusted_proxy_names_the_client() {
    let s = limited(&[("OKIENKO_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).await;
    exhaust(&s, "203.0.113.1").await;
    let (status, _, v) = book(&s, "203.0.113.2").await;
    assert_eq!(status, 200, "{v}");
    assert_ne!(code_of(&v), "RATE_LIMITED", "{v}");
    // The nearest untrusted address counts: the client's own claim before it does not.
    let (status, _, v) = book(&s, "198.51.100.7, 203.0.113.1, 10.1.2.3").await;
    assert_eq!(status, 429, "{v}");
}

#[tokio::test]
async fn rate_limits_off_only_in_dev_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okienko"))
        .env("OKIENKO_DATA_DIR", dir.path())
        .env("OKIENKO_RATE_LIMITS", "off")
        .env_remove("OKIENKO_DEV")
        .env_remove("OKIENKO_NOW")
        .env("OKIENKO_LISTEN", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_refused_without_dev(&out);
}

/// Query limits: too deep and too complex queries are refused with codes of their own.
#[tokio::test]
async fn query_depth_and_complexity_refused_with_codes() {
    let s = Server::start().await;
    let mut deep = String::from("name");
    for _ in 0..14 {
        deep = format!("ofType {{ {deep} }}");
    }
    let v = s
        .gql(
            SLUG,
            &format!("{{ __schema {{ types {{ fields {{ type {{ {deep} }} }} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(code_of(&v), "QUERY_TOO_DEEP", "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("zbyt głęboko"));

    let wide: String = (0..1100)
        .map(|i| format!("s{i}: services {{ key }} "))
        .collect();
    let v = s.gql(SLUG, &format!("{{ {wide} }}"), json!({})).await;
    assert_eq!(code_of(&v), "QUERY_TOO_COMPLEX", "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("zbyt złożone"));
}
