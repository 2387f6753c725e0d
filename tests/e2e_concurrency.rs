//! P-3 over HTTP: a burst of concurrent bookings for one slot never oversells it,
//! on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

async fn burst(backend: Backend) {
    let Some((_db, s)) = Server::for_backend(backend).await else {
        return;
    };
    // Capacity 2 online per slot.
    let (service, start, remaining) = s
        .free_slot_of("dabrowa-gornicza", "rejestracja-dzialalnosci", "2026-12-02")
        .await;
    assert_eq!(remaining, 2);

    let client = reqwest::Client::new();
    let url = format!("{}/t/dabrowa-gornicza/graphql", s.base);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let body = json!({
                "query": CREATE,
                "variables": { "i": {
                    "serviceId": service, "start": start,
                    "client": { "name": format!("Klient {i}"), "email": format!("k{i}@example.pl"), "phone": format!("601000{i:03}") },
                    "acceptedTermsVersion": "1.0", "consents": ["rodo"]
                } }
            });
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let r = client.post(&url).json(&body).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.json::<serde_json::Value>().await.unwrap()
            })
        })
        .collect();
    let (mut booked, mut full) = (0, 0);
    for t in tasks {
        let v = t.await.unwrap();
        if v["data"]["createBooking"]["booking"]["status"] == "CONFIRMED" {
            booked += 1;
        } else {
            assert_eq!(code_of(&v), "SLOT_FULL", "{v}");
            full += 1;
        }
    }
    assert_eq!((booked, full), (2, 98));
    assert_eq!(s.remaining("dabrowa-gornicza", &service, &start).await, 0);
    let backend_name = match backend {
        Backend::Postgres => "database=\"postgres\"",
        Backend::Sqlite => "database=\"sqlite\"",
    };
    assert!(
        s.log().contains(backend_name),
        "ran on the intended backend"
    );
}

on_both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 4)] hundred_concurrent_bookings_for_two_seats_sqlite, hundred_concurrent_bookings_for_two_seats_postgres => burst);
