//! Several servers on one PostgreSQL database (issue 6): what is changed through one of them —
//! a service's capacity, a closure day, the city's policy, a tenant's status, a booking — is in
//! force on the others without a restart (`NOTIFY okienko_reload` and `okienko_invalidate`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const SLUG: &str = "dabrowa-gornicza";
/// What a server logs after reloading for a change made elsewhere (or a new listener).
const RELOADED: &str = "catalog and policies reloaded after a change elsewhere";
const SERVICE: &str = "rejestracja-dzialalnosci";

/// A policy whose form has one more field and which refuses every booking with a code of its own.
const PAUSED_POLICY: &str = r#"
fn form_fields(ctx) {
    let out = ctx.fields;
    out.push(#{ key: "znacznik_wersji", label: "Pole nowej wersji zasad", kind: "text", required: false });
    out
}

fn validate_booking(ctx) {
    throw #{ code: "BOOKINGS_PAUSED", message: "Rezerwacje w tym urzędzie są chwilowo wstrzymane." };
}
"#;

const PAUSED_TESTS: &str = r#"
[[case]]
name = "każda rezerwacja wstrzymana"
input.service = { key = "rejestracja-dzialalnosci" }
input.client = { name = "Jan Kowalski", phone = "600100200" }
expect = { error = "BOOKINGS_PAUSED" }

[[case]]
name = "formularz z dodatkowym polem"
hook = "form_fields"
input.service = { key = "rejestracja-dzialalnosci" }
input.fields = []
expect = { returns = [ { key = "znacznik_wersji" } ] }
"#;

fn input(service: &str, start: &str) -> Value {
    rodo_input(
        service,
        start,
        json!({ "name": "Piotr Zieliński", "email": "p@example.pl", "phone": "662138278" }),
    )
}

/// Asks until `check` holds, at most about 10 s: another server's change arrives by NOTIFY.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> Result<(), String>) {
    let mut last = String::new();
    for _ in 0..100 {
        match check().await {
            Ok(()) => return,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not seen on the other server; last answer: {last}");
}

fn local_date(start: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(start)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Warsaw)
        .date_naive()
        .to_string()
}

async fn day(s: &Server, service: &str, date: &str) -> Value {
    let v = s
        .gql(
            SLUG,
            "query($s: ID!, $d: NaiveDate!) { availability(serviceId: $s, from: $d, to: $d) { date closedReason slots { start remaining } } }",
            json!({ "s": service, "d": date }),
        )
        .await;
    v["data"]["availability"][0].clone()
}

/// The keys of the service's form fields, as the public API shows them.
async fn form(s: &Server, service: &str) -> Vec<String> {
    let v = s
        .gql(
            SLUG,
            "query($s: ID!) { service(id: $s) { fields { key } } }",
            json!({ "s": service }),
        )
        .await;
    v["data"]["service"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn changes_made_on_one_server_are_in_force_on_another() {
    let Some((_db, a, b)) = Server::two_on_postgres().await else {
        return;
    };
    let op = a.operator_token().await;
    let admin = a.admin_token(&op, SLUG).await;
    let service = a.service_id(SLUG, SERVICE).await;
    let (start, remaining) = a.first_free_slot(SLUG, &service, "2026-12-02").await;
    assert_eq!(remaining, 2);
    // Both servers have the day in their availability caches.
    assert_eq!(b.remaining(SLUG, &service, &start).await, 2);

    // A service's capacity.
    let v = a
        .admin(
            SLUG,
            Some(&admin),
            "mutation { setCapacity(serviceKey: \"rejestracja-dzialalnosci\", online: 5, staff: 1) { hash } }",
            json!({}),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    assert_eq!(a.remaining(SLUG, &service, &start).await, 5);
    eventually("the new capacity", async || {
        match b.remaining(SLUG, &service, &start).await {
            5 => Ok(()),
            n => Err(format!("{n} seats")),
        }
    })
    .await;

    // A booking (the usage of the slot).
    let v = a.book(SLUG, input(&service, &start)).await;
    assert_eq!(created_status(&v), "CONFIRMED", "{v}");
    eventually("the booking made elsewhere", async || {
        match b.remaining(SLUG, &service, &start).await {
            4 => Ok(()),
            n => Err(format!("{n} seats")),
        }
    })
    .await;

    // A closure day.
    let date = local_date(&start);
    let v = a
        .admin(
            SLUG,
            Some(&admin),
            "mutation($d: NaiveDate!) { addClosureDay(date: $d) { hash } }",
            json!({ "d": date }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    eventually("the closure day", async || {
        let d = day(&b, &service, &date).await;
        if d["slots"].as_array().is_some_and(Vec::is_empty) && d["closedReason"].is_string() {
            Ok(())
        } else {
            Err(d.to_string())
        }
    })
    .await;

    // The city's policy.
    assert!(!form(&b, &service)
        .await
        .contains(&"znacznik_wersji".to_string()));
    let v = a
        .admin(
            SLUG,
            Some(&admin),
            "mutation($s: String!, $t: [PolicyTestFileInput!]!) { activatePolicy(source: $s, tests: $t) { policy { version active } } }",
            json!({ "s": PAUSED_POLICY, "t": [{ "name": "wstrzymanie.toml", "content": PAUSED_TESTS }] }),
        )
        .await;
    assert_eq!(v["data"]["activatePolicy"]["policy"]["active"], true, "{v}");
    eventually("the new policy", async || {
        let keys = form(&b, &service).await;
        if keys.contains(&"znacznik_wersji".to_string()) {
            Ok(())
        } else {
            Err(format!("{keys:?}"))
        }
    })
    .await;
    let (next, _) = b.first_free_slot(SLUG, &service, "2026-12-09").await;
    let v = b.book(SLUG, input(&service, &next)).await;
    assert_eq!(code_of(&v), "BOOKINGS_PAUSED", "{v}");
    assert_eq!(
        v["errors"][0]["message"],
        "Rezerwacje w tym urzędzie są chwilowo wstrzymane."
    );

    // The tenant's status (platform API).
    let v = a.change_tenant(&op, "suspendTenant", SLUG).await;
    assert_eq!(v["data"]["suspendTenant"]["status"], "SUSPENDED", "{v}");
    eventually("the suspension", async || {
        match b.tenant_answer(SLUG).await {
            (404, v) if code_of(&v) == "TENANT_NOT_FOUND" => Ok(()),
            (status, v) => Err(format!("HTTP {status}: {v}")),
        }
    })
    .await;
    let v = a.change_tenant(&op, "resumeTenant", SLUG).await;
    assert_eq!(v["data"]["resumeTenant"]["status"], "ACTIVE", "{v}");
    eventually("the resumption", async || {
        match b.tenant_answer(SLUG).await {
            (200, _) => Ok(()),
            (status, v) => Err(format!("HTTP {status}: {v}")),
        }
    })
    .await;

    // The server that made the changes reloaded once for each, not again for its own notices.
    let reloads = a.log().matches(RELOADED).count();
    assert!(reloads <= 1, "{}", a.log());
}

/// Notifications sent while a server's listener had no connection are lost: once it listens
/// again, the server reloads whatever changed meanwhile.
#[tokio::test]
async fn a_server_reloads_when_its_listener_reconnects() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let s = Server::builder().database(&db.url).start().await;
    use diesel::sql_types::{Bool, Text};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName, PartialEq, Debug)]
    struct Cut {
        #[diesel(sql_type = Bool)]
        cut: bool,
    }
    let mut pg = AsyncPgConnection::establish(&db.url).await.unwrap();
    // The listener listens and the reload that follows is done.
    eventually("the first reload", async || {
        if s.log().contains(RELOADED) {
            Ok(())
        } else {
            Err(s.log())
        }
    })
    .await;

    // A change nobody is told of, as if its notice had been lost.
    let n = diesel::sql_query("UPDATE tenants SET status = 'suspended' WHERE slug = $1")
        .bind::<Text, _>(SLUG)
        .execute(&mut pg)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let (status, v) = s.tenant_answer(SLUG).await;
    assert_eq!(status, 200, "reloaded without a reason: {v}");

    // The listener's connection is cut; the server reconnects and reloads.
    let cut: Vec<Cut> = diesel::sql_query(
        "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .load(&mut pg)
    .await
    .unwrap();
    assert_eq!(cut, vec![Cut { cut: true }], "{}", s.log());
    eventually("the change made while not listening", async || {
        match s.tenant_answer(SLUG).await {
            (404, v) if code_of(&v) == "TENANT_NOT_FOUND" => Ok(()),
            (status, v) => Err(format!("HTTP {status}: {v}")),
        }
    })
    .await;
    drop(pg);
}
