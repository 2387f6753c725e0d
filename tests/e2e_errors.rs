//! Bad input gets a clear error with a stable code and a Polish message, and stores nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

fn zg_input(service: &str, start: &str) -> serde_json::Value {
    json!({
        "serviceId": service, "start": start,
        "client": { "name": "Jan Kowalski", "email": "jan@example.pl", "phone": "601234567" },
        "fields": [ { "key": "owner_name", "value": "Jan Kowalski" }, { "key": "registration_number", "value": "FZ 4K7R2" } ],
        "acceptedTermsVersion": "1.0", "consents": ["rodo", "komunikacja_elektroniczna"]
    })
}

#[tokio::test]
async fn malformed_requests_are_400_with_codes() {
    let s = Server::start().await;
    let (status, v) = s.post_raw("zielona-gora", "{ not json").await;
    assert_eq!(status, 400);
    assert_code(&v, "BAD_REQUEST");

    let (status, v) = s
        .post_raw(
            "zielona-gora",
            json!({ "query": "{ services { id " }).to_string(),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_code(&v, "INVALID_QUERY");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Niepoprawne zapytanie"));

    let (status, v) = s
        .post_raw("zielona-gora", json!({ "query": "{ nope }" }).to_string())
        .await;
    assert_eq!(status, 400, "{v}");
    assert_code(&v, "INVALID_QUERY");

    // Wrong types in variables.
    let (status, v) = s
        .post_raw(
            "zielona-gora",
            json!({ "query": "query($s: ID!, $f: NaiveDate!) { availability(serviceId: $s, from: $f, to: $f) { date } }",
                    "variables": { "s": 1.5, "f": "jutro" } })
            .to_string(),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_code(&v, "INVALID_QUERY");

    // A body over the limit is refused before it is parsed.
    let huge = "x".repeat(1024 * 1024);
    let (status, v) = s
        .post_raw(
            "zielona-gora",
            json!({ "query": "{ tenant { name } }", "variables": { "n": huge } }).to_string(),
        )
        .await;
    assert_eq!(status, 413, "{v}");
    assert_code(&v, "PAYLOAD_TOO_LARGE");

    // Unknown tenant: 404 with a clear body.
    let (status, v) = s.tenant_answer("nie-ma-takiego").await;
    assert_eq!(status, 404);
    assert_code(&v, "TENANT_NOT_FOUND");
    let (status, _) = s.get("/t/nie-ma-takiego/graphql").await;
    assert_eq!(status, 404);
    let (status, page) = s.get("/t/gdynia/graphql").await;
    assert_eq!(status, 200);
    assert!(page.contains("graphiql") || page.contains("GraphiQL"));
}

#[tokio::test]
async fn booking_refusals_store_nothing() {
    let s = Server::start().await;
    let (service, start, before) = s
        .free_slot_of(
            "zielona-gora",
            "odbior-dowodu-rejestracyjnego",
            "2026-12-02",
        )
        .await;

    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            {
                let mut i = zg_input(&service, &start);
                i["client"]["name"] = json!("x".repeat(100_000));
                i
            },
            "VALIDATION_FAILED",
        ),
        (
            {
                let mut i = zg_input(&service, &start);
                i["client"]["email"] = json!("jan@");
                i
            },
            "VALIDATION_FAILED",
        ),
        (
            {
                let mut i = zg_input(&service, &start);
                i["client"]["phone"] = json!("12");
                i
            },
            "VALIDATION_FAILED",
        ),
        (
            {
                let mut i = zg_input(&service, &start);
                i["client"]["phone"] = json!(null);
                i
            },
            "VALIDATION_FAILED",
        ),
        (
            {
                let mut i = zg_input(&service, &start);
                i["acceptedTermsVersion"] = json!("0.9");
                i
            },
            "TERMS_NOT_ACCEPTED",
        ),
        (
            {
                let mut i = zg_input(&service, &start);
                i["consents"] = json!(["rodo"]);
                i
            },
            "CONSENT_REQUIRED",
        ),
        (
            {
                let mut i = zg_input(&service, &start);
                i["fields"] = json!([{ "key": "nope", "value": "1" }]);
                i
            },
            "VALIDATION_FAILED",
        ),
        (
            {
                let mut i = zg_input(&service, &start);
                i["fields"] = json!([{ "key": "vin_tail", "value": "ABCIO" }]);
                i
            },
            "VALIDATION_FAILED",
        ),
        (zg_input(&service, "2026-11-30T08:00:00Z"), "SLOT_IN_PAST"),
        (zg_input(&service, "2026-12-01T08:30:00Z"), "TOO_SOON"),
        (zg_input(&service, "2027-03-01T08:00:00Z"), "BEYOND_HORIZON"),
        // 24 December 2026 (a Thursday) is a public holiday since 2025.
        (zg_input(&service, "2026-12-24T08:00:00Z"), "HOLIDAY"),
        // Saturday.
        (zg_input(&service, "2026-12-05T08:00:00Z"), "OUTSIDE_HOURS"),
        // Wednesday 05:00 local, before opening.
        (zg_input(&service, "2026-12-02T04:00:00Z"), "OUTSIDE_HOURS"),
        // Inside hours but not on a slot boundary.
        (zg_input(&service, "2026-12-02T07:07:00Z"), "OUTSIDE_HOURS"),
        (zg_input("999999", &start), "NOT_FOUND"),
        (zg_input("abc", &start), "NOT_FOUND"),
    ];
    for (input, code) in cases {
        let v = s.book("zielona-gora", input.clone()).await;
        assert_code(&v, code);
        assert!(
            v["data"].is_null() || v["data"]["createBooking"].is_null(),
            "{v}"
        );
    }
    assert_eq!(
        s.remaining("zielona-gora", &service, &start).await,
        before,
        "nothing was stored"
    );
    assert!(
        std::fs::read_dir(s.mail_dir())
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "no e-mail was queued"
    );

    // Another tenant's service id is NOT_FOUND and reveals nothing about it.
    let gdynia_service = s.service_id("gdynia", "meldunek").await;
    let v = s
        .book("zielona-gora", zg_input(&gdynia_service, &start))
        .await;
    assert_code(&v, "NOT_FOUND");
    assert_eq!(v["errors"][0]["message"], "Nie znaleziono.");
    let day = "2026-12-02";
    let v = s
        .availability_answer("zielona-gora", &gdynia_service, day, day)
        .await;
    assert_code(&v, "NOT_FOUND");
    let v = s.service_by_id("zielona-gora", &gdynia_service).await;
    assert_code(&v, "NOT_FOUND");

    // Availability ranges.
    let q = "query($s: ID!, $f: NaiveDate!, $t: NaiveDate!) { availability(serviceId: $s, from: $f, to: $t) { date } }";
    let v = s
        .gql(
            "zielona-gora",
            q,
            json!({ "s": service, "f": "2026-12-10", "t": "2026-12-01" }),
        )
        .await;
    assert_code(&v, "INVALID_RANGE");
    let v = s
        .gql(
            "zielona-gora",
            q,
            json!({ "s": service, "f": "2026-12-01", "t": "2027-12-01" }),
        )
        .await;
    assert_code(&v, "INVALID_RANGE");

    // OP-2: information-only services are not bookable.
    let info = s.service_id("opole", "wymeldowanie-postepowanie").await;
    let v = s
        .gql(
            "opole",
            q,
            json!({ "s": info, "f": "2026-12-02", "t": "2026-12-02" }),
        )
        .await;
    assert_code(&v, "SERVICE_NOT_BOOKABLE");
}

#[tokio::test]
async fn wrong_tokens_and_cross_tenant_tokens() {
    let s = Server::start().await;
    let (service, start, _) = s
        .free_slot_of(
            "zielona-gora",
            "odbior-dowodu-rejestracyjnego",
            "2026-12-02",
        )
        .await;
    let v = s.book("zielona-gora", zg_input(&service, &start)).await;
    let token = management_token(&v);

    for t in ["", "x", &"y".repeat(5000)] {
        let v = s.gql("zielona-gora", BOOKING, json!({ "t": t })).await;
        assert_code(&v, "INVALID_TOKEN");
    }
    // Tenant B cannot read, confirm or cancel tenant A's booking with A's token.
    let v = s.gql("gdynia", BOOKING, json!({ "t": token })).await;
    assert_code(&v, "INVALID_TOKEN");
    let v = s.cancel("gdynia", &token).await;
    assert_code(&v, "INVALID_TOKEN");
    let (status, _) = s.get(&format!("/t/gdynia/rezerwacja/{token}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        s.gql("zielona-gora", BOOKING, json!({ "t": token })).await["data"]["booking"]["status"],
        "CONFIRMED"
    );
}

#[tokio::test]
async fn idempotency_key_returns_the_first_booking() {
    let s = Server::start().await;
    let (service, start, before) = s
        .free_slot_of(
            "zielona-gora",
            "odbior-dowodu-rejestracyjnego",
            "2026-12-02",
        )
        .await;
    let mut input = zg_input(&service, &start);
    input["idempotencyKey"] = json!("retry-1");
    let a = s.book("zielona-gora", input.clone()).await;
    let b = s.book("zielona-gora", input.clone()).await;
    assert_eq!(a["data"]["createBooking"]["replayed"], false, "{a}");
    assert_eq!(b["data"]["createBooking"]["replayed"], true, "{b}");
    assert_eq!(
        a["data"]["createBooking"]["booking"]["code"],
        b["data"]["createBooking"]["booking"]["code"]
    );
    assert_eq!(
        a["data"]["createBooking"]["managementToken"],
        b["data"]["createBooking"]["managementToken"]
    );
    assert_eq!(
        s.remaining("zielona-gora", &service, &start).await,
        before - 1
    );
    // The same key for a different request is a conflict, not a silent replay.
    input["client"]["name"] = json!("Inna Osoba");
    let c = s.book("zielona-gora", input).await;
    assert_code(&c, "IDEMPOTENCY_CONFLICT");
}

#[tokio::test]
async fn dev_clock_is_refused_without_dev_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okienko"))
        .env("OKIENKO_DATA_DIR", dir.path())
        .env("OKIENKO_NOW", NOW)
        .env_remove("OKIENKO_DEV")
        .env("OKIENKO_LISTEN", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_refused_without_dev(&out);
}

#[tokio::test]
async fn health_and_readiness() {
    let s = Server::start().await;
    assert_eq!(s.get("/healthz").await, (200, "ok".to_string()));
    assert_eq!(s.get("/readyz").await.0, 200);
    assert_eq!(s.get("/nie-ma").await.0, 404);
}

/// Messages meant for citizens speak to citizens (issue 10): a malformed date or time is
/// answered in Polish with an example of the right form, whether inline or in a variable; a
/// missing consent is named by its title; TOO_SOON names the first bookable slot.
#[tokio::test]
async fn citizen_messages_in_plain_polish() {
    let s = Server::start().await;
    let service = s.service_id("cieszyn", "meldunek").await;
    for (query, vars) in [
        (
            format!("mutation {{ createBooking(input: {{ serviceId: \"{service}\", start: \"2027-01-18\", client: {{ email: \"a@example.pl\" }}, acceptedTermsVersion: \"1.0\" }}) {{ replayed }} }}"),
            json!({}),
        ),
        (
            "mutation($i: CreateBookingInput!) { createBooking(input: $i) { replayed } }".to_string(),
            json!({ "i": { "serviceId": service, "start": "jutro o 8", "client": { "email": "a@example.pl" }, "acceptedTermsVersion": "1.0" } }),
        ),
    ] {
        let (status, v) = s
            .post_raw("cieszyn", json!({ "query": query, "variables": vars }).to_string())
            .await;
        assert!(status == 200 || status == 400, "{v}");
        assert_eq!(code_of(&v), "BAD_USER_INPUT", "{v}");
        let m = v["errors"][0]["message"].as_str().unwrap();
        assert!(m.starts_with("Niepoprawna data i godzina"), "{m}");
        assert!(m.contains("np. 2027-01-18T07:30:00Z"), "{m}");
        assert!(!m.contains("Failed to parse"), "{m}");
    }
    let (status, v) = s
        .post_raw(
            "cieszyn",
            json!({ "query": "query($s: ID!, $f: NaiveDate!) { availability(serviceId: $s, from: $f, to: $f) { date } }",
                    "variables": { "s": service, "f": "18.01.2027" } })
            .to_string(),
        )
        .await;
    assert!(status == 200 || status == 400, "{v}");
    assert_refused(&v, "BAD_USER_INPUT", "RRRR-MM-DD, np. 2027-01-18");

    // CI-14: from the next working day; Wednesday's first slot is at 07:30, not midnight.
    let v = s
        .book(
            "cieszyn",
            cieszyn_input(&service, "2026-12-01T12:00:00Z", "a@example.pl"),
        )
        .await;
    assert_eq!(code_of(&v), "TOO_SOON", "{v}");
    assert_eq!(
        v["errors"][0]["message"],
        "Termin jest zbyt bliski: najwcześniejszy możliwy termin to 02.12.2026, godz. 07:30.",
        "{v}"
    );

    // A missing consent by its title, not its key.
    let (start, _) = s.first_free_slot("cieszyn", &service, "2026-12-02").await;
    let v = s
        .book(
            "cieszyn",
            json!({ "serviceId": service, "start": start, "client": { "email": "a@example.pl" },
                    "acceptedTermsVersion": "1.0", "consents": ["klauzula_informacyjna"] }),
        )
        .await;
    assert_eq!(code_of(&v), "CONSENT_REQUIRED", "{v}");
    assert_eq!(
        v["errors"][0]["message"],
        "Wymagana jest zgoda: „Zgoda na przetwarzanie danych osobowych”.",
        "{v}"
    );
    let t = s
        .gql(
            "cieszyn",
            "{ tenant { consents { key title } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        t["data"]["tenant"]["consents"][1]["title"], "Zgoda na przetwarzanie danych osobowych",
        "{t}"
    );
}

/// The standard introspection query passes the depth limit over HTTP; a deeper `ofType` chain
/// and introspection carrying a deep ordinary query do not.
#[tokio::test]
async fn introspection_passes_the_depth_limit_and_nothing_more() {
    let s = Server::start().await;
    let type_ref = |n: usize| {
        let mut q = "kind name".to_string();
        for _ in 0..n {
            q = format!("kind name ofType {{ {q} }}");
        }
        q
    };
    let standard = format!(
        "query IntrospectionQuery {{ __schema {{ queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }} \
         types {{ ...FullType }} directives {{ name description locations args {{ ...InputValue }} }} }} }} \
         fragment FullType on __Type {{ kind name description fields(includeDeprecated: true) {{ name description \
         args {{ ...InputValue }} type {{ ...TypeRef }} isDeprecated deprecationReason }} inputFields {{ ...InputValue }} \
         interfaces {{ ...TypeRef }} enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }} \
         possibleTypes {{ ...TypeRef }} }} \
         fragment InputValue on __InputValue {{ name description type {{ ...TypeRef }} defaultValue }} \
         fragment TypeRef on __Type {{ {} }}",
        type_ref(8)
    );
    for path in [
        "/t/gdynia/graphql",
        "/t/gdynia/admin/graphql",
        "/platform/graphql",
    ] {
        let (status, v) = s
            .post_path(path, None, json!({ "query": standard }).to_string())
            .await;
        assert_eq!(status, 200, "{path}: {v}");
        assert!(
            v["data"]["__schema"]["types"].as_array().unwrap().len() > 10,
            "{path}"
        );
    }
    for n in [10, 30] {
        let deep = format!(
            "{{ __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}",
            type_ref(n)
        );
        let (status, v) = s
            .post_raw("gdynia", json!({ "query": deep }).to_string())
            .await;
        assert_eq!(status, 400, "{n}: {v}");
        assert_eq!(code_of(&v), "QUERY_TOO_DEEP", "{n}: {v}");
    }
    let mixed = format!(
        "{{ tenant {{ name }} __schema {{ types {{ fields {{ type {{ {} }} }} }} }} }}",
        type_ref(8)
    );
    let (status, v) = s
        .post_raw("gdynia", json!({ "query": mixed }).to_string())
        .await;
    assert_eq!(status, 400, "{v}");
    assert_refused(&v, "QUERY_TOO_DEEP", "najwyżej 12");
}
