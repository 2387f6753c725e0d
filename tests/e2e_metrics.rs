//! Prometheus metrics (issue 15 item 2, docs/metrics.md): served on `OKIENKO_METRICS_LISTEN`
//! only, every family of the contract with its type and buckets, the counters moved by a
//! booking, a kiosk ticket and a rate-limited request with the right labels, and each server's
//! figures its own.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;

/// One sample of a scrape: its name, labels and value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed scrape: the `# TYPE` of each family and the samples.
#[derive(Debug, Default)]
struct Scrape {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

/// The text exposition format, as far as the server writes it: `# TYPE name type` lines and
/// `name{k="v",…} value` samples (label values without `"` or `,` inside: they are slugs, keys,
/// route patterns and numbers). A few lines of parsing rather than a crate for this much.
fn parse(text: &str) -> Scrape {
    let mut s = Scrape::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            s.types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (head, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match head.split_once('{') {
            Some((n, l)) => (n, l.strip_suffix('}').unwrap()),
            None => (head, ""),
        };
        let labels = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        s.samples.push(Sample {
            name: name.to_string(),
            labels,
            value: value.parse().unwrap(),
        });
    }
    s
}

impl Scrape {
    /// The value of the one sample `name` whose labels include `with`; 0 when there is none.
    fn value(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self.matching(name, with).collect();
        assert!(found.len() <= 1, "{name} {with:?}: {found:?}");
        found.first().map_or(0.0, |s| s.value)
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
        with: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

/// A server whose metrics listen on a free port of their own: (server, metrics base URL).
async fn with_metrics(b: ServerBuilder) -> (Server, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let s = b.env("OKIENKO_METRICS_LISTEN", &addr).start().await;
    (s, format!("http://{addr}"))
}

async fn scrape(metrics: &str) -> Scrape {
    let r = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.contains("openmetrics-text"), "{kind}");
    parse(&r.text().await.unwrap())
}

/// The families of docs/metrics.md's tables: (name, type, buckets of a histogram).
fn contract() -> Vec<(String, String, Vec<f64>)> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    doc.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix("`okienko_")?.strip_suffix('`')?;
            let buckets = cells
                .get(4)
                .and_then(|m| m.split("buckets ").nth(1))
                .map(|b| b.split(", ").map(|x| x.parse().unwrap()).collect())
                .unwrap_or_default();
            Some((format!("okienko_{name}"), cells[2].to_string(), buckets))
        })
        .collect()
}

/// The name of a family on its `# TYPE` line: a counter's without `_total` (OpenMetrics).
fn family_name(name: &str, kind: &str) -> String {
    match kind {
        "counter" => name.trim_end_matches("_total").to_string(),
        _ => name.to_string(),
    }
}

/// Families not served on SQLite: the PostgreSQL change listener's.
const POSTGRES_ONLY: [&str; 2] = [
    "okienko_db_listener_connected",
    "okienko_db_notifications_total",
];

fn assert_contract_served(s: &Scrape, postgres: bool) {
    let families = contract();
    assert!(families.len() >= 30, "docs/metrics.md read: {families:?}");
    for (name, kind, buckets) in families {
        if !postgres && POSTGRES_ONLY.contains(&name.as_str()) {
            assert!(
                !s.types.contains_key(&family_name(&name, &kind)),
                "{name} on SQLite"
            );
            continue;
        }
        let family = family_name(&name, &kind);
        assert_eq!(
            s.types.get(&family).map(String::as_str),
            Some(kind.as_str()),
            "{name} served as a {kind}"
        );
        // Every histogram observed so far has exactly the contract's buckets.
        let les: Vec<f64> = s
            .matching(&format!("{name}_bucket"), &[])
            .filter(|b| b.labels.get("le").map(String::as_str) != Some("+Inf"))
            .map(|b| b.labels["le"].parse().unwrap())
            .collect();
        if !les.is_empty() {
            let mut seen = les.clone();
            seen.sort_by(f64::total_cmp);
            seen.dedup();
            assert_eq!(seen, buckets, "{name}'s buckets");
        }
    }
}

const CREATE: &str =
    "mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { code } } }";

/// A createBooking for a service that does not exist from one address: refused, but counted
/// by the booking limit (ten a minute in every shipped city).
async fn refused_booking(s: &Server, slug: &str) -> u16 {
    let body = json!({ "query": CREATE, "variables": { "i": {
        "serviceId": "0", "start": "2026-12-02T08:00:00Z", "client": { "email": "a@example.pl" },
        "acceptedTermsVersion": "1.0", "consents": [] } } });
    let r = reqwest::Client::new()
        .post(format!("{}/t/{slug}/graphql", s.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

async fn kiosk_ticket(s: &Server, slug: &str, token: &str, queue: &str) {
    let q = "mutation($q: String!) { issueTicket(queue: $q) { number } }";
    let (status, v) = s
        .post_path(
            &format!("/t/{slug}/kiosk/graphql"),
            Some(token),
            json!({ "query": q, "variables": { "q": queue } }).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["errors"].is_null(), "{v}");
}

#[tokio::test]
async fn a_booking_a_ticket_and_a_refusal_move_their_counters() {
    let (s, metrics) = with_metrics(Server::builder().env("OKIENKO_RATE_LIMITS", "on")).await;
    let before = scrape(&metrics).await;
    assert_contract_served(&before, false);
    let created = [("tenant", "cieszyn"), ("source", "online")];
    assert_eq!(
        before.value("okienko_bookings_created_total", &created),
        0.0
    );

    // A booking: one more created in Cieszyn, its request counted by route pattern.
    let route = [
        ("route", "/t/{slug}/graphql"),
        ("method", "POST"),
        ("tenant", "cieszyn"),
        ("status", "200"),
    ];
    let posts_before = before.value("okienko_http_requests_total", &route);
    let v = s.book_cieszyn("jan@example.pl").await;
    assert!(v["errors"].is_null(), "{v}");
    let after = scrape(&metrics).await;
    assert_eq!(after.value("okienko_bookings_created_total", &created), 1.0);
    assert!(
        after.value("okienko_http_requests_total", &route) >= posts_before + 1.0,
        "the booking's POST counted"
    );
    let timing = [("route", "/t/{slug}/graphql"), ("tenant", "cieszyn")];
    assert!(
        after.value(
            "okienko_http_request_duration_seconds_count",
            &[("method", "POST"), timing[0], timing[1]]
        ) >= 1.0
    );
    // No path is ever a label: the booking's token is nowhere in the scrape.
    assert!(after.samples.iter().all(|x| x
        .labels
        .get("route")
        .is_none_or(|r| !r.starts_with("/t/cieszyn"))));

    // A kiosk ticket: one walk-in in Cieszyn's queue M.
    let st = staff(&s, "cieszyn").await;
    kiosk_ticket(&s, "cieszyn", &st.kiosk, "M").await;
    let after = scrape(&metrics).await;
    let ticket = [("tenant", "cieszyn"), ("queue", "M"), ("kind", "walk_in")];
    assert_eq!(
        after.value("okienko_queue_tickets_issued_total", &ticket),
        1.0
    );
    let office = after
        .matching("okienko_queue_tickets_issued_total", &ticket)
        .next()
        .unwrap()
        .labels["office"]
        .clone();
    assert!(
        !office.is_empty() && !office.chars().all(|c| c.is_ascii_digit()),
        "a key, not an id: {office}"
    );

    // Ten refused bookings from one address, then the eleventh is rate limited.
    for _ in 0..10 {
        assert_eq!(refused_booking(&s, "zielona-gora").await, 200);
    }
    assert_eq!(refused_booking(&s, "zielona-gora").await, 429);
    let after = scrape(&metrics).await;
    let zg = ("tenant", "zielona-gora");
    assert_eq!(
        after.value("okienko_rate_limited_total", &[zg, ("kind", "booking")]),
        1.0
    );
    assert_eq!(
        after.value("okienko_rate_limited_total", &[zg, ("kind", "read")]),
        0.0
    );
    assert_eq!(
        after.value(
            "okienko_graphql_errors_total",
            &[("api", "public"), zg, ("code", "RATE_LIMITED")]
        ),
        1.0
    );
    assert_eq!(
        after.value(
            "okienko_http_requests_total",
            &[("route", "/t/{slug}/graphql"), zg, ("status", "429")]
        ),
        1.0
    );
    assert!(after.value("okienko_rate_limit_keys", &[("kind", "booking")]) >= 1.0);
    // A city that does not exist is `none`, never the slug asked for.
    assert_eq!(refused_booking(&s, "atlantyda").await, 404);
    let after = scrape(&metrics).await;
    assert!(after
        .samples
        .iter()
        .all(|x| x.labels.get("tenant").map(String::as_str) != Some("atlantyda")));
    assert!(
        after.value(
            "okienko_http_requests_total",
            &[
                ("route", "/t/{slug}/graphql"),
                ("tenant", "none"),
                ("status", "404")
            ]
        ) >= 1.0
    );

    // The seats of the next seven days, computed before the server served.
    let seats = [
        ("tenant", "cieszyn"),
        ("service", "meldunek"),
        ("quota", "online"),
    ];
    let days: Vec<&Sample> = after.matching("okienko_seats_capacity", &seats).collect();
    assert!(!days.is_empty(), "seat gauges for Cieszyn's meldunek");
    assert!(
        days.iter()
            .all(|d| ("2026-12-01".."2026-12-08").contains(&d.labels["day"].as_str())),
        "{days:?}"
    );
    for d in days {
        let left = after.value(
            "okienko_seats_left",
            &[seats[0], seats[1], seats[2], ("day", &d.labels["day"])],
        );
        assert!(left <= d.value, "{d:?}: {left} left");
    }
    assert_eq!(
        after.value(
            "okienko_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert!(
        after.value(
            "okienko_db_pool_max_connections",
            &[("pool", "sqlite_write")]
        ) >= 1.0
    );
    assert_contract_served(&after, false);
}

#[tokio::test]
async fn metrics_are_never_on_the_public_port() {
    let (s, metrics) = with_metrics(Server::builder()).await;
    let (status, _) = s.get("/metrics").await;
    assert_eq!(status, 404);
    // The metrics listener serves nothing else.
    let r = reqwest::get(format!("{metrics}/healthz")).await.unwrap();
    assert_eq!(r.status(), 404);
    let r = reqwest::get(format!("{metrics}/t/cieszyn/graphql"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Unset, no metrics listener at all: the server still starts and answers.
    let plain = Server::start().await;
    let (status, _) = plain.get("/metrics").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn two_servers_keep_their_own_figures() {
    let (a, metrics_a) = with_metrics(Server::builder()).await;
    let (_b, metrics_b) = with_metrics(Server::builder()).await;
    let v = a.book_cieszyn("ewa@example.pl").await;
    assert!(v["errors"].is_null(), "{v}");
    let created = [("tenant", "cieszyn"), ("source", "online")];
    assert_eq!(
        scrape(&metrics_a)
            .await
            .value("okienko_bookings_created_total", &created),
        1.0
    );
    assert_eq!(
        scrape(&metrics_b)
            .await
            .value("okienko_bookings_created_total", &created),
        0.0
    );
}

#[tokio::test]
async fn the_change_listener_is_served_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (_s, metrics) = with_metrics(Server::builder().database(&db.url)).await;
    let s = scrape(&metrics).await;
    assert_contract_served(&s, true);
    assert!(s.value("okienko_db_pool_max_connections", &[("pool", "postgres")]) >= 1.0);
}

/// Scrapes until `done` holds (what the server does after its answer: a delivery, a socket's
/// end), for at most 15 s.
async fn scrape_until(metrics: &str, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let s = scrape(metrics).await;
        if done(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} within 15 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn deliveries_policies_and_displays_are_counted() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let (s, metrics) = with_metrics(Server::builder()).await;
    let v = s.book_cieszyn("ola@example.pl").await;
    assert!(v["errors"].is_null(), "{v}");
    // Cieszyn's validate_booking ran once for it.
    let hook = [("tenant", "cieszyn"), ("hook", "validate_booking")];
    let after = scrape(&metrics).await;
    assert_eq!(
        after.value("okienko_policy_duration_seconds_count", &hook),
        1.0
    );
    assert_eq!(after.value("okienko_policy_failures_total", &hook), 0.0);
    // Its e-mail went out (to a file): one delivery, timed.
    let sent = [("channel", "email"), ("tenant", "cieszyn")];
    let after = scrape_until(&metrics, "the booking's e-mail delivered", |m| {
        m.value("okienko_outbox_deliveries_total", &sent) >= 1.0
    })
    .await;
    assert!(
        after.value(
            "okienko_outbox_delivery_duration_seconds_count",
            &[("channel", "email")]
        ) >= 1.0
    );
    assert!(
        after.value(
            "okienko_worker_runs_total",
            &[("worker", "outbox"), ("outcome", "ok")]
        ) >= 1.0
    );

    // A display connected to its office counts while its socket is open.
    let st = staff(&s, "cieszyn").await;
    let stream = tokio::net::TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut ws = display_socket_over(&s, "cieszyn", stream).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "token": st.display } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    let shown = |m: &Scrape| {
        m.matching("okienko_display_connections", &[("tenant", "cieszyn")])
            .map(|x| x.value)
            .sum::<f64>()
    };
    scrape_until(&metrics, "the display counted", |m| shown(m) == 1.0).await;
    ws.close(None).await.unwrap();
    scrape_until(&metrics, "the display's end counted", |m| shown(m) == 0.0).await;
}
