//! The availability cache: every change of seats is in the next availability answer, in
//! the process that made it and, on PostgreSQL, in another server on the same database.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const RESCHEDULE: &str =
    "mutation($t: String!, $s: DateTime!) { rescheduleBooking(token: $t, start: $s) { start status } }";
const SLUG: &str = "dabrowa-gornicza";

fn input(service: &str, start: &str) -> Value {
    rodo_input(
        service,
        start,
        json!({ "name": "Piotr", "email": "p@example.pl", "phone": "662138278" }),
    )
}

/// Asks `s` until the slot shows `want` seats (another server's change arrives by NOTIFY).
async fn wait_remaining(s: &Server, service: &str, start: &str, want: i64) {
    let mut last = 0;
    for _ in 0..50 {
        last = s.remaining(SLUG, service, start).await;
        if last == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("slot {start}: {last} seats left, expected {want}");
}

/// A booking and its reschedule (both slots) change the next answers, cached or not.
async fn booking_and_reschedule(a: &Server, b: &Server) {
    let service = a.service_id(SLUG, "rejestracja-dzialalnosci").await;
    let (first, before_first) = a.first_free_slot(SLUG, &service, "2026-12-02").await;
    let (second, before_second) = b.first_free_slot(SLUG, &service, "2026-12-04").await;
    // Both servers have the ranges in their caches.
    for s in [a, b] {
        assert_eq!(s.remaining(SLUG, &service, &first).await, before_first);
        assert_eq!(s.remaining(SLUG, &service, &second).await, before_second);
    }

    let v = a.book(SLUG, input(&service, &first)).await;
    let token = management_token(&v);
    assert_eq!(a.remaining(SLUG, &service, &first).await, before_first - 1);
    wait_remaining(b, &service, &first, before_first - 1).await;

    let v = a
        .gql(SLUG, RESCHEDULE, json!({ "t": token, "s": second }))
        .await;
    assert_eq!(v["data"]["rescheduleBooking"]["status"], "CONFIRMED", "{v}");
    assert_eq!(a.remaining(SLUG, &service, &first).await, before_first);
    assert_eq!(
        a.remaining(SLUG, &service, &second).await,
        before_second - 1
    );
    wait_remaining(b, &service, &first, before_first).await;
    wait_remaining(b, &service, &second, before_second - 1).await;
}

#[tokio::test]
async fn changes_visible_at_once_in_one_process() {
    let s = Server::start().await;
    booking_and_reschedule(&s, &s).await;
}

/// Two replicas on one PostgreSQL database: a booking on one invalidates the other's cache.
#[tokio::test]
async fn changes_reach_another_server_on_postgres() {
    let Some((_db, a, b)) = Server::two_on_postgres().await else {
        return;
    };
    booking_and_reschedule(&a, &b).await;
}
