//! Errors under a database outage say what happened (issue 11): with the test's own PostgreSQL
//! cluster stopped, a booking is answered 503 with `Retry-After` and `SERVICE_UNAVAILABLE` in
//! Polish, `/readyz` answers "not ready" instead of hanging, and once the cluster is back both
//! recover on their own.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use okienko_test_support::Cluster;

const SLUG: &str = "dabrowa-gornicza";

#[tokio::test]
async fn an_outage_is_503_service_unavailable_and_readyz_answers() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let url = cluster.database().await;
    let s = Server::builder().database(&url).start().await;
    let service = s.service_id(SLUG, "rejestracja-dzialalnosci").await;
    let (start, _) = s.first_free_slot(SLUG, &service, "2026-12-02").await;
    let (status, _, v) = s
        .post_public(SLUG, &dabrowa_booking(&service, &start, 1))
        .await;
    assert_eq!(status, 200, "{v}");
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, SLUG).await;
    let office = s.first_office(SLUG, &admin).await;
    let display = s
        .admin(
            SLUG,
            Some(&admin),
            "mutation($o: ID!) { createDevice(kind: DISPLAY, name: \"Tablica\", officeId: $o) { token } }",
            serde_json::json!({ "o": office }),
        )
        .await["data"]["createDevice"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let board = || async {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("{}/t/{SLUG}/tablica", s.base))
            .header("cookie", format!("okienko_device={display}"))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(board().await.status(), 200);

    cluster.down();
    // A paired display that reloads during the outage is told to wait, not sent to pairing.
    let r = board().await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let (status, retry, v) = s
        .post_public(SLUG, &dabrowa_booking(&service, &start, 2))
        .await;
    assert_eq!((status, code_of(&v)), (503, "SERVICE_UNAVAILABLE"), "{v}");
    assert_eq!(retry.as_deref(), Some("5"));
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("baza danych nie odpowiada"), "{msg}");
    let (status, text) = s.get("/readyz").await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("database unavailable"), "{text}");

    cluster.up();
    let mut ready = false;
    for _ in 0..100 {
        if s.get("/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "not ready after the database came back");
    let (status, _, v) = s
        .post_public(SLUG, &dabrowa_booking(&service, &start, 3))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(created_status(&v), "CONFIRMED", "{v}");
}
