//! One city's hostile policy does not take script time from another city (issue 11): while
//! Gdynia's `validate_booking` loops until its budget stops it, Dąbrowa Górnicza's bookings
//! (whose own policy runs on every booking) all go through, and Gdynia is throttled by its own
//! bounds: a queue of its own for script turns, and a hold once its calls keep ending over
//! their budget. Both are counts, not timings.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const HOSTILE: &str = "gdynia";
const OTHER: &str = "dabrowa-gornicza";

async fn activate_hostile(s: &Server) {
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, HOSTILE).await;
    let tests = json!([{
        "name": "validate_booking.toml",
        "content": "[[case]]\nname = \"pętla\"\nexpect = { error = \"POLICY_ERROR\" }\n",
    }]);
    let v = s
        .admin(
            HOSTILE,
            Some(&admin),
            "mutation($s: String!, $t: [PolicyTestFileInput!]!) { activatePolicy(source: $s, tests: $t) { policy { active } } }",
            json!({ "s": "fn validate_booking(ctx) { let i = 0; loop { i += 1; } }", "t": tests }),
        )
        .await;
    assert_eq!(v["data"]["activatePolicy"]["policy"]["active"], true, "{v}");
}

#[tokio::test]
async fn a_hostile_policy_in_one_city_leaves_another_citys_bookings_alone() {
    let s = Server::with_env(&[
        ("OKIENKO_POLICY_SLOTS_PER_TENANT", "1"),
        ("OKIENKO_POLICY_QUEUE_PER_TENANT", "12"),
        ("OKIENKO_MAX_IN_FLIGHT_PER_CLIENT", "128"),
    ])
    .await;
    activate_hostile(&s).await;
    let hostile_service = s.service_id(HOSTILE, "meldunek").await;
    let (hostile_start, _) = s
        .first_free_slot(HOSTILE, &hostile_service, "2026-12-03")
        .await;
    let service = s.service_id(OTHER, "rejestracja-dzialalnosci").await;
    let other_day = s.gql(
        OTHER,
        "query($s: ID!) { availability(serviceId: $s, from: \"2026-12-02\", to: \"2026-12-09\") { slots { start remaining } } }",
        json!({ "s": service }),
    ).await;
    let starts: Vec<String> = other_day["data"]["availability"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .filter(|s| s["remaining"].as_i64().unwrap() > 0)
        .map(|s| s["start"].as_str().unwrap().to_string())
        .take(10)
        .collect();
    assert_eq!(starts.len(), 10);

    let hostile: Vec<_> = (0..40)
        .map(|i| {
            let s_base = s.base.clone();
            let body = json!({ "query": CREATE, "variables": { "i": {
                "serviceId": hostile_service, "start": hostile_start,
                "client": { "name": format!("Wrogi {i}"), "email": format!("w{i}@example.pl") },
                "acceptedTermsVersion": "1.0", "consents": ["rodo"] } } });
            tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .post(format!("{s_base}/t/{HOSTILE}/graphql"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let other: Vec<_> = starts
        .iter()
        .enumerate()
        .map(|(i, start)| {
            let (s_base, body) = (s.base.clone(), dabrowa_booking(&service, start, i));
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{s_base}/t/{OTHER}/graphql"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            })
        })
        .collect();

    for b in other {
        let v = b.await.unwrap();
        assert_eq!(
            v["data"]["createBooking"]["booking"]["status"], "CONFIRMED",
            "another city's booking did not go through: {v}"
        );
    }
    let (mut failed, mut throttled) = (0, 0);
    for h in hostile {
        let (status, v) = h.await.unwrap();
        match code_of(&v) {
            "POLICY_ERROR" => failed += 1,
            "POLICY_THROTTLED" => {
                assert_eq!(status, 503, "{v}");
                throttled += 1;
            }
            other => panic!("hostile city answered {other}: {v}"),
        }
    }
    assert!(failed >= 1, "the hostile script never ran");
    assert!(throttled >= 1, "the hostile city was never held back");
    assert_eq!(failed + throttled, 40);

    // Its calls ended over the budget often enough: the city is on hold, with a Polish
    // message and the time to wait; the other city still books.
    let body = json!({ "query": CREATE, "variables": { "i": {
        "serviceId": hostile_service, "start": hostile_start,
        "client": { "name": "Jan", "email": "jan@example.pl" },
        "acceptedTermsVersion": "1.0", "consents": ["rodo"] } } });
    let (status, retry, v) = s.post_public(HOSTILE, &body).await;
    assert_eq!((status, code_of(&v)), (503, "POLICY_THROTTLED"), "{v}");
    let secs: u64 = retry.unwrap().parse().unwrap();
    assert!(secs >= 1, "{secs}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("chwilowo wstrzymane"), "{msg}");
    assert_eq!(v["errors"][0]["extensions"]["retryAfter"], secs, "{v}");
    let (start, _) = s.first_free_slot(OTHER, &service, "2026-12-10").await;
    let (status, _, v) = s
        .post_public(OTHER, &dabrowa_booking(&service, &start, 99))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(created_status(&v), "CONFIRMED", "{v}");
    assert!(s.log().contains("its calls are held back"), "{}", s.log());
}
