//! Staff, admin and platform APIs end to end (issue 5): tenant isolation of every admin
//! operation (P-1), roles, lockout, live configuration changes, suspended tenants, the
//! operator CLI and policy activation.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

const UNAUTHENTICATED_MESSAGE: &str = "Zaloguj się: brak ważnego tokenu dostępu.";

const LOGIN: &str =
    "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token expiresAt user { login role } } }";

fn token_of(v: &Value, field: &str) -> String {
    v["data"][field]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// P-1: every admin operation of tenant B refuses tenant A's admin and changes nothing of B's
// ---------------------------------------------------------------------------------------------

/// What B's administrator sees of B: everything the admin API can read.
async fn snapshot(s: &Server, slug: &str, token: &str) -> Value {
    let v = s
        .admin(
            slug,
            Some(token),
            "{ configuration { hash config offices { id key } services { id key } } \
               users { id login status role } devices { id kind revokedAt } apiKeys { id scopes revokedAt } \
               auditLog(first: 200) { entries { id action target } } policyVersions { version active hash } }",
            json!({}),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let mut data = v["data"].clone();
    let staff = s
        .admin(slug, Some(token), STAFF_OPS_SNAPSHOT, json!({}))
        .await;
    assert!(staff["errors"].is_null(), "{staff}");
    data["staffOps"] = staff["data"].clone();
    data
}

/// Every query and mutation of the admin API, by introspection.
async fn admin_operations(s: &Server, slug: &str) -> BTreeSet<String> {
    let v = s
        .admin(
            slug,
            None,
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut out = BTreeSet::new();
    for root in ["queryType", "mutationType"] {
        for f in v["data"]["__schema"][root]["fields"].as_array().unwrap() {
            out.insert(f["name"].as_str().unwrap().to_string());
        }
    }
    out
}

struct BIds {
    office_id: String,
    office_key: String,
    service_key: String,
    user_id: String,
    device_id: String,
    api_key_id: String,
    /// B's service, booking and complaint (staff operations, issue 5 phase B).
    service_id: String,
    booking_id: String,
    booking_code: String,
    complaint_id: String,
}

/// (operation, query, variables) for every admin operation but `login`, aimed at B's objects.
/// `logout` comes last.
fn matrix(b: &BIds) -> Vec<(&'static str, String, Value)> {
    let hours = json!({ "mon": ["10:00-12:00"] });
    let service = |key: &str, office: &str| json!({ "key": key, "office": office, "name": "Sprawa zmieniona", "capacityOnline": 3, "capacityStaff": 1 });
    vec![
        ("me", "{ me { id login } }".into(), json!({})),
        ("configuration", "{ configuration { hash } }".into(), json!({})),
        ("users", "{ users { id login } }".into(), json!({})),
        ("devices", "{ devices { id } }".into(), json!({})),
        ("apiKeys", "{ apiKeys { id } }".into(), json!({})),
        ("auditLog", "{ auditLog(first: 10) { entries { id actor } } }".into(), json!({})),
        ("policyVersions", "{ policyVersions { version source } }".into(), json!({})),
        (
            "createOffice",
            "mutation($i: OfficeInput!) { createOffice(input: $i) { hash } }".into(),
            json!({ "i": { "key": "nowe-biuro", "name": "Nowe biuro", "address": "ul. Nowa 1", "hours": hours } }),
        ),
        (
            "updateOffice",
            "mutation($i: OfficeInput!) { updateOffice(input: $i) { hash } }".into(),
            json!({ "i": { "key": b.office_key, "name": "Przejęte", "address": "ul. Obca 1", "hours": hours } }),
        ),
        (
            "removeOffice",
            "mutation($k: String!) { removeOffice(key: $k) { hash } }".into(),
            json!({ "k": b.office_key }),
        ),
        (
            "setOfficeHours",
            "mutation($k: String!, $h: WeeklyHoursInput!) { setOfficeHours(officeKey: $k, hours: $h) { hash } }".into(),
            json!({ "k": b.office_key, "h": hours }),
        ),
        (
            "createService",
            "mutation($i: ServiceInput!) { createService(input: $i) { hash } }".into(),
            json!({ "i": service("nowa-usluga", &b.office_key) }),
        ),
        (
            "updateService",
            "mutation($i: ServiceInput!) { updateService(input: $i) { hash } }".into(),
            json!({ "i": service(&b.service_key, &b.office_key) }),
        ),
        (
            "removeService",
            "mutation($k: String!) { removeService(key: $k) { hash } }".into(),
            json!({ "k": b.service_key }),
        ),
        (
            "setServiceHours",
            "mutation($k: String!, $h: WeeklyHoursInput) { setServiceHours(serviceKey: $k, hours: $h) { hash } }".into(),
            json!({ "k": b.service_key, "h": hours }),
        ),
        (
            "setCapacity",
            "mutation($k: String!) { setCapacity(serviceKey: $k, online: 9, staff: 9) { hash } }".into(),
            json!({ "k": b.service_key }),
        ),
        (
            "addClosureDay",
            "mutation { addClosureDay(date: \"2027-01-20\") { hash } }".into(),
            json!({}),
        ),
        (
            "removeClosureDay",
            "mutation { removeClosureDay(date: \"2027-01-15\") { hash } }".into(),
            json!({}),
        ),
        (
            "setBookingRules",
            "mutation($i: BookingRulesInput!) { setBookingRules(input: $i) { hash } }".into(),
            json!({ "i": { "horizonDays": 5, "minNotice": "MINUTES", "minNoticeMinutes": 0,
                           "cancellationCutoff": "SLOT_START", "requiredClientFields": ["NAME", "EMAIL"], "slotMinutes": 30 } }),
        ),
        (
            "setConfirmation",
            "mutation { setConfirmation(input: { mode: IMMEDIATE }) { hash } }".into(),
            json!({}),
        ),
        (
            "setBranding",
            "mutation { setBranding(input: { displayName: \"Przejęte\", primaryColor: \"#000000\" }) { hash } }".into(),
            json!({}),
        ),
        (
            "setMessages",
            "mutation { setMessages(dateFormat: SLASHED, phoneAsIdentifier: true) { hash } }".into(),
            json!({}),
        ),
        (
            "publishTerms",
            "mutation { publishTerms(version: \"9.9\", title: \"Obcy\", text: \"Obcy regulamin\") { hash } }".into(),
            json!({}),
        ),
        (
            "setConsents",
            "mutation { setConsents(consents: []) { hash } }".into(),
            json!({}),
        ),
        (
            "createQueue",
            "mutation($i: QueueInput!) { createQueue(input: $i) { hash } }".into(),
            json!({ "i": { "office": b.office_key, "letter": "X", "name": "Obca kolejka" } }),
        ),
        (
            "updateQueue",
            "mutation($i: QueueInput!) { updateQueue(input: $i) { hash } }".into(),
            json!({ "i": { "office": b.office_key, "letter": "D", "name": "Przejęta", "dailyCapacity": 1 } }),
        ),
        (
            "removeQueue",
            "mutation($o: String!) { removeQueue(office: $o, letter: \"P\") { hash } }".into(),
            json!({ "o": b.office_key }),
        ),
        (
            "createDesk",
            "mutation($i: DeskInput!) { createDesk(input: $i) { hash } }".into(),
            json!({ "i": { "office": b.office_key, "number": 9, "queues": ["D"] } }),
        ),
        (
            "updateDesk",
            "mutation($i: DeskInput!) { updateDesk(input: $i) { hash } }".into(),
            json!({ "i": { "office": b.office_key, "number": 1, "queues": ["O"] } }),
        ),
        (
            "removeDesk",
            "mutation($o: String!) { removeDesk(office: $o, number: 3) { hash } }".into(),
            json!({ "o": b.office_key }),
        ),
        (
            "setQueueRules",
            "mutation { setQueueRules(input: { checkInBeforeMinutes: 5, cancelUncheckedAfterMinutes: 0 }) { hash } }".into(),
            json!({}),
        ),
        (
            "createUser",
            "mutation { createUser(login: \"intruz@example.pl\", displayName: \"Intruz\", role: ADMIN, password: \"bardzo-dlugie-haslo-1\") { id } }".into(),
            json!({}),
        ),
        (
            "suspendUser",
            "mutation($id: ID!) { suspendUser(id: $id) { id status } }".into(),
            json!({ "id": b.user_id }),
        ),
        (
            "resumeUser",
            "mutation($id: ID!) { resumeUser(id: $id) { id status } }".into(),
            json!({ "id": b.user_id }),
        ),
        (
            "createDevice",
            "mutation($o: ID!) { createDevice(officeId: $o, kind: KIOSK, name: \"Obcy kiosk\") { token } }".into(),
            json!({ "o": b.office_id }),
        ),
        (
            "revokeDevice",
            "mutation($id: ID!) { revokeDevice(id: $id) { id revokedAt } }".into(),
            json!({ "id": b.device_id }),
        ),
        (
            "createPairingCode",
            "mutation($o: ID!) { createPairingCode(officeId: $o, kind: KIOSK, name: \"Obcy kiosk\") { code } }".into(),
            json!({ "o": b.office_id }),
        ),
        (
            "createApiKey",
            "mutation { createApiKey(name: \"Obcy\", scopes: [\"bookings:read\"]) { key } }".into(),
            json!({}),
        ),
        (
            "revokeApiKey",
            "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }".into(),
            json!({ "id": b.api_key_id }),
        ),
        (
            "activatePolicy",
            "mutation { activatePolicy(source: \"fn (\", tests: [{ name: \"t.toml\", content: \"\" }]) { report } }".into(),
            json!({}),
        ),
        ("logout", "mutation { logout }".into(), json!({})),
    ]
}

/// What B's administrator sees of B's bookings and complaints.
const STAFF_OPS_SNAPSHOT: &str = "{ bookings(first: 100) { totalCount edges { node { id code status clientName clientEmail \
    clientPhone fields outcome erasedAt cancelReason history { kind } } } } \
    complaints(first: 100) { edges { node { id status text contactEmail answer } } } overdueComplaints { id } }";

/// A confirmed phone booking of B (with an e-mail) and a complaint about it, made by B.
async fn staff_ops_objects(s: &Server, b: &str, b_tok: &str) -> (String, String, String, String) {
    let service_id = s.service_id(b, "zaswiadczenie").await;
    let v = s
        .admin(
            b,
            Some(b_tok),
            "query($s: ID!) { staffAvailability(serviceId: $s, from: \"2026-12-02\", to: \"2026-12-10\") { slots { start remaining } } }",
            json!({ "s": service_id }),
        )
        .await;
    let start = v["data"]["staffAvailability"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .find(|x| x["remaining"].as_i64().unwrap() > 0)
        .unwrap()["start"]
        .clone();
    let v = s
        .admin(
            b,
            Some(b_tok),
            "mutation($i: PhoneBookingInput!) { createPhoneBooking(input: $i) { code booking { id } } }",
            json!({ "i": { "serviceId": service_id, "start": start,
                "client": { "name": "Bogdan Opolski", "email": "bogdan@opole.example.pl", "phone": "601999888" } } }),
        )
        .await;
    let made = &v["data"]["createPhoneBooking"];
    let code = made["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let booking_id = made["booking"]["id"].as_str().unwrap().to_string();
    let v = s
        .gql(
            b,
            "mutation($i: ComplaintInput!) { fileComplaint(input: $i) { reference } }",
            json!({ "i": { "text": "Reklamacja dotycząca wizyty w Opolu.", "contactEmail": "bogdan@opole.example.pl", "bookingCode": code } }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = s
        .admin(
            b,
            Some(b_tok),
            "{ complaints(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let complaint_id = v["data"]["complaints"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    (service_id, booking_id, code, complaint_id)
}

/// The staff operations (issue 5, phase B), aimed at B's objects.
fn staff_ops_matrix(b: &BIds) -> Vec<(&'static str, String, Value)> {
    let client = json!({ "email": "bogdan@opole.example.pl", "phone": "601999888", "bookingId": b.booking_id });
    vec![
        (
            "staffAvailability",
            "query($s: ID!) { staffAvailability(serviceId: $s, from: \"2026-12-02\", to: \"2026-12-03\") { date } }".into(),
            json!({ "s": b.service_id }),
        ),
        (
            "bookings",
            "query($s: ID!) { bookings(serviceId: $s, first: 10) { totalCount edges { node { code } } } }".into(),
            json!({ "s": b.service_id }),
        ),
        ("booking", "query($id: ID!) { booking(id: $id) { code clientName } }".into(), json!({ "id": b.booking_id })),
        ("bookingByCode", "query($c: String!) { bookingByCode(code: $c) { id } }".into(), json!({ "c": b.booking_code })),
        ("complaints", "{ complaints { edges { node { id text } } } }".into(), json!({})),
        ("overdueComplaints", "{ overdueComplaints { id } }".into(), json!({})),
        ("complaint", "query($id: ID!) { complaint(id: $id) { text } }".into(), json!({ "id": b.complaint_id })),
        (
            "exportClientData",
            "query($c: ClientSelectorInput!) { exportClientData(client: $c) }".into(),
            json!({ "c": client }),
        ),
        (
            "createPhoneBooking",
            "mutation($s: ID!) { createPhoneBooking(input: { serviceId: $s, start: \"2026-12-02T08:00:00Z\", client: { name: \"Intruz Obcy\" } }) { code } }".into(),
            json!({ "s": b.service_id }),
        ),
        ("cancelBookingForClient", "mutation($id: ID!) { cancelBookingForClient(id: $id) { status } }".into(), json!({ "id": b.booking_id })),
        (
            "rejectBooking",
            "mutation($id: ID!) { rejectBooking(id: $id, reason: \"Odrzucona przez obcy urząd\") { status } }".into(),
            json!({ "id": b.booking_id }),
        ),
        (
            "recordVisitOutcome",
            "mutation($id: ID!) { recordVisitOutcome(id: $id, outcome: NO_SHOW) { outcome } }".into(),
            json!({ "id": b.booking_id }),
        ),
        (
            "correctClientData",
            "mutation($c: ClientSelectorInput!) { correctClientData(client: $c, name: \"Przejęty Klient\") { code } }".into(),
            json!({ "c": client }),
        ),
        (
            "eraseClientData",
            "mutation($c: ClientSelectorInput!) { eraseClientData(client: $c, reason: \"Obcy wniosek\") { bookings } }".into(),
            json!({ "c": client }),
        ),
        (
            "registerComplaint",
            "mutation($c: String!) { registerComplaint(input: { channel: LETTER, text: \"Obca reklamacja w cudzym urzędzie\", bookingCode: $c }) { bookingId } }".into(),
            json!({ "c": b.booking_code }),
        ),
        (
            "answerComplaint",
            "mutation($id: ID!) { answerComplaint(id: $id, answer: \"Obca odpowiedź\") { status } }".into(),
            json!({ "id": b.complaint_id }),
        ),
        ("closeComplaint", "mutation($id: ID!) { closeComplaint(id: $id) { status } }".into(), json!({ "id": b.complaint_id })),
        (
            "setRetention",
            "mutation { setRetention(daysAfterVisit: 1, phoneDaysAfterVisit: 0) { daysAfterVisit } }".into(),
            json!({}),
        ),
    ]
}

/// What A's administrator gets at A for B's objects: they do not exist there.
fn staff_ops_refusal(name: &str) -> Option<&'static str> {
    match name {
        "staffAvailability"
        | "booking"
        | "bookingByCode"
        | "complaint"
        | "createPhoneBooking"
        | "cancelBookingForClient"
        | "rejectBooking"
        | "recordVisitOutcome"
        | "correctClientData"
        | "eraseClientData"
        | "answerComplaint"
        | "closeComplaint" => Some("NOT_FOUND"),
        _ => None,
    }
}

async fn cross_tenant(backend: Backend) {
    let Some((_db, s)) = Server::for_backend(backend).await else {
        return;
    };
    let (a, b) = ("gdynia", "opole");
    let op = s.operator_token().await;
    let a_tok = s.admin_token(&op, a).await;
    let b_tok = s.admin_token(&op, b).await;

    // B's objects, made by B's administrator.
    let cfg = s
        .admin(
            b,
            Some(&b_tok),
            "{ configuration { offices { id key } services { key } } }",
            json!({}),
        )
        .await;
    let office = &cfg["data"]["configuration"]["offices"][0];
    let made = s
        .admin(
            b,
            Some(&b_tok),
            "mutation($o: ID!) { \
               u: createUser(login: \"urzednik@opole.example.pl\", displayName: \"Jan Urzędnik\", role: CLERK, password: \"haslo-urzednika-1\") { id } \
               d: createDevice(officeId: $o, kind: DISPLAY, name: \"Wyświetlacz w holu\") { device { id } } \
               k: createApiKey(name: \"Portal miejski\", scopes: [\"bookings:read\"]) { apiKey { id } } \
               c: addClosureDay(date: \"2027-01-15\") { hash } }",
            json!({ "o": office["id"] }),
        )
        .await;
    assert!(made["errors"].is_null(), "{made}");
    let (service_id, booking_id, booking_code, complaint_id) =
        staff_ops_objects(&s, b, &b_tok).await;
    let ids = BIds {
        office_id: office["id"].as_str().unwrap().to_string(),
        office_key: office["key"].as_str().unwrap().to_string(),
        service_key: "zaswiadczenie".to_string(),
        user_id: made["data"]["u"]["id"].as_str().unwrap().to_string(),
        device_id: made["data"]["d"]["device"]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        api_key_id: made["data"]["k"]["apiKey"]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        service_id,
        booking_id,
        booking_code,
        complaint_id,
    };
    let before = snapshot(&s, b, &b_tok).await;
    assert!(before["configuration"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["key"] == ids.service_key));

    // The matrix covers every operation of the admin API.
    let mut cases = matrix(&ids);
    let logout = cases.pop();
    cases.extend(staff_ops_matrix(&ids));
    cases.extend(logout);
    let mut covered: BTreeSet<String> = cases.iter().map(|c| c.0.to_string()).collect();
    covered.insert("login".into());
    assert_eq!(
        covered,
        admin_operations(&s, b).await,
        "every admin operation needs a row in the cross-tenant matrix"
    );

    // A's token at B: exactly what an anonymous caller gets, for every operation.
    for (name, query, vars) in &cases {
        let with_a = s.admin(b, Some(&a_tok), query, vars.clone()).await;
        let anonymous = s.admin(b, None, query, vars.clone()).await;
        assert_eq!(code_of(&with_a), "UNAUTHENTICATED", "{name}: {with_a}");
        assert_eq!(
            with_a["errors"][0]["message"], UNAUTHENTICATED_MESSAGE,
            "{name}: {with_a}"
        );
        assert_eq!(with_a["errors"].as_array().unwrap().len(), 1, "{name}");
        assert_eq!(with_a, anonymous, "{name}: A's token reveals nothing more");
    }
    // B's login with A's credentials is unknown; the operator's and B's tokens stay in their scope.
    let v = s
        .admin(
            b,
            None,
            LOGIN,
            json!({ "l": "intruz@gdynia.example.pl", "p": "cokolwiek-dlugiego" }),
        )
        .await;
    assert_code(&v, "INVALID_CREDENTIALS");
    let v = s.admin(b, Some(&op), "{ me { id } }", json!({})).await;
    assert_code(&v, "UNAUTHENTICATED");
    let v = s
        .platform(Some(&b_tok), "{ tenants { slug } }", json!({}))
        .await;
    assert_code(&v, "UNAUTHENTICATED");

    // A's session survived its logout attempt at B.
    let v = s
        .admin(a, Some(&a_tok), "{ me { login } }", json!({}))
        .await;
    assert!(v["errors"].is_null(), "{v}");

    // A's token at A, aimed at B's objects: valid requests, and B's objects are out of reach.
    for (name, query, vars) in &cases {
        let v = s.admin(a, Some(&a_tok), query, vars.clone()).await;
        assert_ne!(code_of(&v), "UNAUTHENTICATED", "{name}: {v}");
        match *name {
            "suspendUser" | "resumeUser" | "revokeDevice" | "revokeApiKey" => {
                assert_code(&v, "NOT_FOUND")
            }
            "createDevice" | "createPairingCode" | "removeOffice" | "updateOffice"
            | "setOfficeHours" | "createQueue" | "updateQueue" | "removeQueue" | "createDesk"
            | "updateDesk" | "removeDesk" => assert_code(&v, "VALIDATION_FAILED"),
            "activatePolicy" => assert_code(&v, "POLICY_COMPILE_FAILED"),
            _ => {}
        }
        if let Some(code) = staff_ops_refusal(name) {
            assert_code(&v, code);
        }
        assert!(
            !v.to_string().contains(&ids.booking_code),
            "{name}: B's booking shows at A: {v}"
        );
    }

    let after = snapshot(&s, b, &b_tok).await;
    assert_eq!(before, after, "tenant B changed");
}

on_both_backends!(#[tokio::test] cross_tenant_matrix_sqlite, cross_tenant_matrix_postgres => cross_tenant);

// ---------------------------------------------------------------------------------------------
// Roles, devices and API keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn roles_devices_and_keys_are_enforced() {
    let s = Server::start().await;
    let slug = "dabrowa-gornicza";
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, slug).await;
    let office = s
        .admin(
            slug,
            Some(&admin),
            "{ configuration { hash offices { id } } }",
            json!({}),
        )
        .await;
    let office_id = office["data"]["configuration"]["offices"][0]["id"].clone();
    let hash = office["data"]["configuration"]["hash"].clone();

    let made = s
        .admin(
            slug,
            Some(&admin),
            "mutation($o: ID!) { \
               clerk: createUser(login: \"Urzednik@DG.example.pl\", displayName: \"Jan Urzędnik\", role: CLERK, password: \"haslo-urzednika-1\") { id login role status } \
               cc: createUser(login: \"infolinia@dg.example.pl\", displayName: \"Ewa Konsultant\", role: CALL_CENTRE, password: \"haslo-infolinii-1\") { id } \
               kiosk: createDevice(officeId: $o, kind: KIOSK, name: \"Kiosk przy wejściu\") { token device { id kind } } \
               key: createApiKey(name: \"Portal miejski\", scopes: [\"bookings:read\"]) { key apiKey { id scopes } } }",
            json!({ "o": office_id }),
        )
        .await;
    assert!(made["errors"].is_null(), "{made}");
    assert_eq!(made["data"]["clerk"]["login"], "urzednik@dg.example.pl");
    assert_eq!(made["data"]["clerk"]["role"], "CLERK");
    assert_eq!(made["data"]["kiosk"]["device"]["kind"], "KIOSK");
    assert_eq!(
        made["data"]["key"]["apiKey"]["scopes"],
        json!(["bookings:read"])
    );

    // Too short a password, a taken login.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation { createUser(login: \"x@dg.example.pl\", displayName: \"Xawery Nowak\", role: CLERK, password: \"krotkie\") { id } }",
            json!({}),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    assert_eq!(v["errors"][0]["extensions"]["field"], "password");
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation { createUser(login: \"urzednik@dg.example.pl\", displayName: \"Xawery Nowak\", role: CLERK, password: \"haslo-urzednika-2\") { id } }",
            json!({}),
        )
        .await;
    assert_code(&v, "ALREADY_EXISTS");

    let clerk = s
        .staff_login(slug, "urzednik@dg.example.pl", "haslo-urzednika-1")
        .await;
    let cc = s
        .staff_login(slug, "infolinia@dg.example.pl", "haslo-infolinii-1")
        .await;
    let kiosk = made["data"]["kiosk"]["token"].as_str().unwrap().to_string();
    let key = made["data"]["key"]["key"].as_str().unwrap().to_string();

    let edits = [
        "mutation { addClosureDay(date: \"2027-01-20\") { hash } }",
        "mutation { setCapacity(serviceKey: \"rejestracja-dzialalnosci\", online: 9, staff: 9) { hash } }",
        "mutation { publishTerms(version: \"9\", title: \"R\", text: \"T\") { hash } }",
    ];
    // A clerk and a call-centre operator read the configuration but cannot change it.
    for who in [&clerk, &cc] {
        let v = s
            .admin(
                slug,
                Some(who),
                "{ me { role } configuration { hash } }",
                json!({}),
            )
            .await;
        assert!(v["errors"].is_null(), "{v}");
        for q in edits {
            let v = s.admin(slug, Some(who), q, json!({})).await;
            assert_code(&v, "FORBIDDEN");
            assert!(
                v["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Brak uprawnień"),
                "{v}"
            );
        }
        for q in [
            "{ users { id } }",
            "{ devices { id } }",
            "{ apiKeys { id } }",
        ] {
            assert_code(&s.admin(slug, Some(who), q, json!({})).await, "FORBIDDEN");
        }
    }
    // The call centre cannot read the audit log; neither can a clerk.
    for who in [&cc, &clerk] {
        let v = s
            .admin(
                slug,
                Some(who),
                "{ auditLog { entries { id } } }",
                json!({}),
            )
            .await;
        assert_code(&v, "FORBIDDEN");
    }
    // A kiosk and an API key have nothing in the admin API.
    for token in [&kiosk, &key] {
        for q in [
            "{ me { id } }",
            "{ configuration { hash } }",
            "{ auditLog { entries { id } } }",
            "mutation { addClosureDay(date: \"2027-01-20\") { hash } }",
            "mutation { logout }",
        ] {
            assert_code(&s.admin(slug, Some(token), q, json!({})).await, "FORBIDDEN");
        }
    }
    let v = s
        .admin(slug, Some(&admin), "{ configuration { hash } }", json!({}))
        .await;
    assert_eq!(v["data"]["configuration"]["hash"], hash, "nothing changed");

    // Revoked device and suspended user: their tokens stop working at once.
    let device_id = made["data"]["kiosk"]["device"]["id"].clone();
    let clerk_id = made["data"]["clerk"]["id"].clone();
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($d: ID!, $u: ID!) { revokeDevice(id: $d) { revokedAt } suspendUser(id: $u) { status } }",
            json!({ "d": device_id, "u": clerk_id }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    assert_eq!(v["data"]["suspendUser"]["status"], "SUSPENDED");
    assert_code(
        &s.admin(slug, Some(&kiosk), "{ me { id } }", json!({}))
            .await,
        "UNAUTHENTICATED",
    );
    assert_code(
        &s.admin(slug, Some(&clerk), "{ me { id } }", json!({}))
            .await,
        "UNAUTHENTICATED",
    );
    let v = s
        .admin(
            slug,
            None,
            LOGIN,
            json!({ "l": "urzednik@dg.example.pl", "p": "haslo-urzednika-1" }),
        )
        .await;
    assert_code(&v, "ACCOUNT_SUSPENDED");

    // An administrator cannot suspend itself.
    let me = s
        .admin(slug, Some(&admin), "{ me { id } }", json!({}))
        .await;
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($u: ID!) { suspendUser(id: $u) { status } }",
            json!({ "u": me["data"]["me"]["id"] }),
        )
        .await;
    assert_code(&v, "CHANGE_NOT_ALLOWED");

    // The audit log names who did what, newest first, in pages.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "{ auditLog(first: 3) { entries { actor action target before after } nextCursor } }",
            json!({}),
        )
        .await;
    let page = &v["data"]["auditLog"];
    assert_eq!(page["entries"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(page["entries"][0]["action"], "user.suspend");
    assert_eq!(page["entries"][1]["action"], "device.revoke");
    assert!(page["entries"][0]["actor"]
        .as_str()
        .unwrap()
        .contains("(admin)"));
    assert!(page["entries"][0]["before"]
        .as_str()
        .unwrap()
        .contains("\"active\""));
    assert!(page["entries"][0]["after"]
        .as_str()
        .unwrap()
        .contains("\"suspended\""));
    let next = s
        .admin(
            slug,
            Some(&admin),
            "query($c: String) { auditLog(first: 200, after: $c) { entries { action } nextCursor } }",
            json!({ "c": page["nextCursor"] }),
        )
        .await;
    let actions = audit_actions(&next["data"]);
    assert!(
        actions.contains(&"user.create") && actions.contains(&"device.create"),
        "{next}"
    );
    assert!(next["data"]["auditLog"]["nextCursor"].is_null());

    // Logout ends the session.
    let v = s
        .admin(slug, Some(&admin), "mutation { logout }", json!({}))
        .await;
    assert_eq!(v["data"]["logout"], true, "{v}");
    assert_code(
        &s.admin(slug, Some(&admin), "{ me { id } }", json!({}))
            .await,
        "UNAUTHENTICATED",
    );
}

// ---------------------------------------------------------------------------------------------
// Lockout and session lifetime, with the clock moved by restarting the server
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lockout_after_five_wrong_passwords() {
    let s = Server::start().await;
    let slug = "cieszyn";
    let op = s.operator_token().await;
    let login = "admin@cieszyn.example.pl";
    let password = s.create_tenant_admin(&op, slug, login).await;
    let attempt = |p: &str| json!({ "l": login, "p": p });

    let unknown = s
        .admin(
            slug,
            None,
            LOGIN,
            json!({ "l": "nikt@cieszyn.example.pl", "p": "zle-haslo" }),
        )
        .await;
    assert_code(&unknown, "INVALID_CREDENTIALS");
    for _ in 0..4 {
        let v = s.admin(slug, None, LOGIN, attempt("zle-haslo")).await;
        assert_code(&v, "INVALID_CREDENTIALS");
        assert_eq!(
            v["errors"][0]["message"], unknown["errors"][0]["message"],
            "a wrong password and an unknown login look the same"
        );
    }
    // The fifth wrong password locks the account for 15 minutes (NOW is 09:00 in Warsaw).
    let v = s.admin(slug, None, LOGIN, attempt("zle-haslo")).await;
    assert_code(&v, "ACCOUNT_LOCKED");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("po 09:15 dnia 01.12.2026"), "{msg}");
    // Locked: even the right password is refused.
    let v = s.admin(slug, None, LOGIN, attempt(&password)).await;
    assert_code(&v, "ACCOUNT_LOCKED");

    // 14 minutes later it is still locked.
    let s = s.restart_at("2026-12-01T08:14:00Z").await;
    assert_code(
        &s.admin(slug, None, LOGIN, attempt(&password)).await,
        "ACCOUNT_LOCKED",
    );
    // After 15 minutes the right password is accepted.
    let s = s.restart_at("2026-12-01T08:16:00Z").await;
    let v = s.admin(slug, None, LOGIN, attempt(&password)).await;
    let token = token_of(&v, "login");
    let expires =
        chrono::DateTime::parse_from_rfc3339(v["data"]["login"]["expiresAt"].as_str().unwrap())
            .unwrap()
            .to_rfc3339();
    assert!(
        expires.starts_with("2026-12-01T16:16:"),
        "8 hours from 08:16: {v}"
    );
    assert_eq!(v["data"]["login"]["user"]["role"], "ADMIN");
    let v = s
        .admin(slug, Some(&token), "{ me { login } }", json!({}))
        .await;
    assert_eq!(v["data"]["me"]["login"], login);
    // A session lasts 8 hours; an expired one says so, with a code of its own.
    let s = s.restart_at("2026-12-01T16:17:00Z").await;
    let v = s
        .admin(slug, Some(&token), "{ me { login } }", json!({}))
        .await;
    assert_code(&v, "SESSION_EXPIRED");
    assert_eq!(
        v["errors"][0]["message"],
        "Sesja wygasła. Zaloguj się ponownie."
    );
    assert_ne!(v["errors"][0]["message"], UNAUTHENTICATED_MESSAGE);
    // A logged-out session is simply unknown.
    let fresh = s.staff_login(slug, login, &password).await;
    let v = s
        .admin(slug, Some(&fresh), "mutation { logout }", json!({}))
        .await;
    assert!(v["errors"].is_null(), "{v}");
    assert_code(
        &s.admin(slug, Some(&fresh), "{ me { login } }", json!({}))
            .await,
        "UNAUTHENTICATED",
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration changes take effect at once, in the public API
// ---------------------------------------------------------------------------------------------

async fn day(s: &Server, slug: &str, service: &str, date: &str) -> Value {
    let v = s
        .gql(
            slug,
            "query($s: ID!, $d: NaiveDate!) { availability(serviceId: $s, from: $d, to: $d) { date closedReason slots { start remaining } } }",
            json!({ "s": service, "d": date }),
        )
        .await;
    v["data"]["availability"][0].clone()
}

#[tokio::test]
async fn configuration_changes_show_in_availability_at_once() {
    let s = Server::start().await;
    let slug = "dabrowa-gornicza";
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, slug).await;
    let service = s.service_id(slug, "rejestracja-dzialalnosci").await;
    let (start, remaining) = s.first_free_slot(slug, &service, "2026-12-02").await;
    assert_eq!(remaining, 2);
    let date = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Warsaw)
        .date_naive()
        .to_string();

    // Capacity.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation { setCapacity(serviceKey: \"rejestracja-dzialalnosci\", online: 5, staff: 1) { hash services { key capacityOnline } } }",
            json!({}),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let hash = v["data"]["setCapacity"]["hash"].clone();
    assert_eq!(s.remaining(slug, &service, &start).await, 5);

    // A configuration that fails its checks is refused with the field, and nothing is stored.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation { setCapacity(serviceKey: \"rejestracja-dzialalnosci\", online: 0, staff: 0) { hash } }",
            json!({}),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    let field = v["errors"][0]["extensions"]["field"].as_str().unwrap();
    assert!(
        field.starts_with("services[") && field.ends_with("].capacity_online"),
        "{v}"
    );
    let v = s
        .admin(slug, Some(&admin), "{ configuration { hash } }", json!({}))
        .await;
    assert_eq!(v["data"]["configuration"]["hash"], hash);
    assert_eq!(s.remaining(slug, &service, &start).await, 5);

    // Closing the day.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($d: NaiveDate!) { addClosureDay(date: $d) { hash } }",
            json!({ "d": date }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let closed = day(&s, slug, &service, &date).await;
    assert!(closed["slots"].as_array().unwrap().is_empty(), "{closed}");
    assert!(closed["closedReason"].is_string(), "{closed}");
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($d: NaiveDate!) { removeClosureDay(date: $d) { hash } }",
            json!({ "d": date }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    assert_eq!(s.remaining(slug, &service, &start).await, 5);

    // A new service: bookable at once, with its own id; an update keeps the id.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($i: ServiceInput!) { createService(input: $i) { services { id key } } }",
            json!({ "i": {
                "key": "sprawa-testowa", "office": "um-dabrowa", "department": "polityka-spoleczna",
                "name": "Karta Dużej Rodziny", "letter": "K", "capacityOnline": 3, "capacityStaff": 1,
                "slotMinutes": 20,
                "fields": [ { "key": "liczba_dzieci", "label": "Liczba dzieci", "kind": "TEXT" } ]
            } }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let new_id = s.service_id(slug, "sprawa-testowa").await;
    let (_, new_remaining) = s.first_free_slot(slug, &new_id, "2026-12-02").await;
    assert_eq!(new_remaining, 3);
    let v = s
        .gql(
            slug,
            "query($s: ID!) { service(id: $s) { name letter slotMinutes fields { key label } department { key } } }",
            json!({ "s": new_id }),
        )
        .await;
    assert_eq!(v["data"]["service"]["letter"], "K", "{v}");
    assert_eq!(v["data"]["service"]["slotMinutes"], 20);
    assert_eq!(v["data"]["service"]["fields"][0]["key"], "liczba_dzieci");
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($i: ServiceInput!) { updateService(input: $i) { hash } }",
            json!({ "i": {
                "key": "sprawa-testowa", "office": "um-dabrowa", "department": "polityka-spoleczna",
                "name": "Karta Dużej Rodziny i Karta Seniora", "capacityOnline": 1, "capacityStaff": 1
            } }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    assert_eq!(s.service_id(slug, "sprawa-testowa").await, new_id);
    let (_, after_update) = s.first_free_slot(slug, &new_id, "2026-12-02").await;
    assert_eq!(after_update, 1);

    // Office hours: only 12:00–13:00 on Mondays to Fridays.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($h: WeeklyHoursInput!) { setOfficeHours(officeKey: \"um-dabrowa\", hours: $h) { hash } }",
            json!({ "h": { "mon": ["12:00-13:00"], "tue": ["12:00-13:00"], "wed": ["12:00-13:00"], "thu": ["12:00-13:00"], "fri": ["12:00-13:00"] } }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let open = day(&s, slug, &service, &date).await;
    let times: Vec<String> = open["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            chrono::DateTime::parse_from_rfc3339(x["start"].as_str().unwrap())
                .unwrap()
                .with_timezone(&chrono_tz::Europe::Warsaw)
                .format("%H:%M")
                .to_string()
        })
        .collect();
    assert!(
        !times.is_empty()
            && times
                .iter()
                .all(|t| t.as_str() >= "12:00" && t.as_str() < "13:00"),
        "{open}"
    );

    // Removing the service takes it off the public API; its id is not reused.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation { removeService(key: \"sprawa-testowa\") { services { key } } }",
            json!({}),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = s.service_by_id(slug, &new_id).await;
    assert_code(&v, "NOT_FOUND");

    // Terms and branding.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation { publishTerms(version: \"2.0\", title: \"Regulamin\", text: \"Nowa treść regulaminu.\") { hash } \
                        setBranding(input: { displayName: \"UM Dąbrowa Górnicza\", primaryColor: \"#112233\" }) { hash } }",
            json!({}),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = s
        .gql(
            slug,
            "{ tenant { terms { version } branding { displayName primaryColor } } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["tenant"]["terms"]["version"], "2.0");
    assert_eq!(
        v["data"]["tenant"]["branding"]["displayName"],
        "UM Dąbrowa Górnicza"
    );

    // Every change is in the audit log with what changed.
    let v = s
        .admin(
            slug,
            Some(&admin),
            "{ auditLog(first: 200) { entries { action target before after } } }",
            json!({}),
        )
        .await;
    let entries = v["data"]["auditLog"]["entries"].as_array().unwrap();
    let cap = entries
        .iter()
        .find(|e| e["action"] == "config.set_capacity")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(cap["target"], "service:rejestracja-dzialalnosci");
    assert!(
        cap["before"]
            .as_str()
            .unwrap()
            .contains("\"capacity_online\":2"),
        "{cap}"
    );
    assert!(
        cap["after"]
            .as_str()
            .unwrap()
            .contains("\"capacity_online\":5"),
        "{cap}"
    );
    for action in [
        "config.add_closure_day",
        "config.remove_closure_day",
        "config.create_service",
        "config.update_service",
        "config.remove_service",
        "config.set_office_hours",
        "config.publish_terms",
        "config.set_branding",
    ] {
        assert!(
            entries.iter().any(|e| e["action"] == action),
            "{action}: {v}"
        );
    }
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["action"] == "config.set_capacity")
            .count(),
        1,
        "the refused change left no audit row"
    );

    // The changes survive a restart (the database is the source of truth).
    let s = s.restart_at("2026-12-01T08:30:00Z").await;
    let v = s
        .gql(slug, "{ tenant { terms { version } } }", json!({}))
        .await;
    assert_eq!(v["data"]["tenant"]["terms"]["version"], "2.0");
}

// ---------------------------------------------------------------------------------------------
// Platform: tenants created, suspended and resumed
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn platform_creates_suspends_and_resumes_tenants() {
    let s = Server::start().await;
    let op = s.operator_token().await;
    assert_code(
        &s.platform(None, "{ tenants { slug } }", json!({})).await,
        "UNAUTHENTICATED",
    );
    // Both staff endpoints are built like the public one: malformed 400, too large 413.
    for path in ["/platform/graphql", "/t/gdynia/admin/graphql"] {
        let (status, v) = s.post_path(path, Some(&op), "{ not json").await;
        assert_eq!(status, 400, "{path}");
        assert_code(&v, "BAD_REQUEST");
        let (status, v) = s
            .post_path(path, Some(&op), json!({ "query": "{ nope }" }).to_string())
            .await;
        assert_eq!(status, 400, "{path}");
        assert_code(&v, "INVALID_QUERY");
        let huge =
            json!({ "query": "{ me { id } }", "variables": { "x": "x".repeat(1024 * 1024) } });
        let (status, v) = s.post_path(path, Some(&op), huge.to_string()).await;
        assert_eq!(status, 413, "{path}");
        assert_code(&v, "PAYLOAD_TOO_LARGE");
    }
    let (status, v) = s
        .post_path(
            "/t/nie-ma/admin/graphql",
            None,
            json!({ "query": "{ me { id } }" }).to_string(),
        )
        .await;
    assert_eq!(status, 404);
    assert_code(&v, "TENANT_NOT_FOUND");
    let v = s
        .platform(Some(&op), "{ tenants { slug status } }", json!({}))
        .await;
    assert_eq!(v["data"]["tenants"].as_array().unwrap().len(), 5, "{v}");
    let admin = s.admin_token(&op, "cieszyn").await;

    let v = s.change_tenant(&op, "suspendTenant", "cieszyn").await;
    assert_eq!(v["data"]["suspendTenant"]["status"], "SUSPENDED", "{v}");
    let (status, v) = s.tenant_answer("cieszyn").await;
    assert_eq!(status, 404);
    assert_code(&v, "TENANT_NOT_FOUND");
    let (status, v) = s
        .post_path(
            "/t/cieszyn/admin/graphql",
            Some(&admin),
            json!({ "query": "{ me { id } }" }).to_string(),
        )
        .await;
    assert_eq!(status, 404);
    assert_code(&v, "TENANT_NOT_FOUND");
    assert_eq!(s.get("/t/cieszyn/admin/graphql").await.0, 404);
    // The others are served as before.
    let (status, _) = s.tenant_answer("opole").await;
    assert_eq!(status, 200);

    let v = s.change_tenant(&op, "resumeTenant", "cieszyn").await;
    assert_eq!(v["data"]["resumeTenant"]["status"], "ACTIVE", "{v}");
    let (status, _) = s.tenant_answer("cieszyn").await;
    assert_eq!(status, 200);
    let v = s
        .admin("cieszyn", Some(&admin), "{ me { id } }", json!({}))
        .await;
    assert!(v["errors"].is_null(), "the admin's session survives: {v}");
    assert_code(
        &s.change_tenant(&op, "suspendTenant", "nie-ma").await,
        "TENANT_NOT_FOUND",
    );

    // A new tenant from its tenant.toml.
    let toml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/cieszyn/tenant.toml"),
    )
    .unwrap()
    .replacen("slug = \"cieszyn\"", "slug = \"nowe-miasto\"", 1)
    .replacen("name = \"", "name = \"Nowe Miasto — ", 1);
    let create = "mutation($s: String!, $t: String!) { createTenant(slug: $s, tenantToml: $t) { slug name status } }";
    let broken = toml.replacen("capacity_online = ", "capacity_online = \"dużo\" # ", 1);
    let line = broken.lines().position(|l| l.contains("\"dużo\"")).unwrap() + 1;
    let v = s
        .platform(
            Some(&op),
            create,
            json!({ "s": "nowe-miasto", "t": broken }),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    assert_eq!(v["errors"][0]["extensions"]["line"], line, "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["field"], "capacity_online",
        "{v}"
    );
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("wiersz {line}")));
    let v = s
        .platform(Some(&op), create, json!({ "s": "inne-miasto", "t": toml }))
        .await;
    assert_code(&v, "VALIDATION_FAILED");
    assert_eq!(v["errors"][0]["extensions"]["field"], "slug");

    let v = s
        .platform(Some(&op), create, json!({ "s": "nowe-miasto", "t": toml }))
        .await;
    assert_eq!(v["data"]["createTenant"]["status"], "ACTIVE", "{v}");
    let v = s
        .gql(
            "nowe-miasto",
            "{ tenant { slug } services { key } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["tenant"]["slug"], "nowe-miasto", "{v}");
    assert!(!v["data"]["services"].as_array().unwrap().is_empty());
    let v = s
        .platform(Some(&op), create, json!({ "s": "nowe-miasto", "t": toml }))
        .await;
    assert_code(&v, "ALREADY_EXISTS");
    // Its first administrator logs in with the password shown once.
    let admin = s.admin_token(&op, "nowe-miasto").await;
    let v = s
        .admin("nowe-miasto", Some(&admin), "{ me { role } }", json!({}))
        .await;
    assert_eq!(v["data"]["me"]["role"], "ADMIN");

    let v = s
        .platform(
            Some(&op),
            "{ auditLog { entries { action target actor } } }",
            json!({}),
        )
        .await;
    let actions = audit_actions(&v["data"]);
    for a in ["tenant.suspend", "tenant.resume", "tenant.create"] {
        assert!(actions.contains(&a), "{a}: {v}");
    }
}

// ---------------------------------------------------------------------------------------------
// The operator CLI
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn operator_is_created_by_the_cli() {
    let s = Server::start().await;
    let login = "szef@okienko.example.pl";
    let password = s.create_operator(login);
    assert!(password.len() >= 12, "{password}");
    let again = s.cli(&["users", "create-operator", login]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("już istnieje"), "{err}");
    assert!(!String::from_utf8_lossy(&again.stdout).contains("password"));

    let v = s
        .platform(
            None,
            LOGIN,
            json!({ "l": login, "p": "zle-haslo-operatora" }),
        )
        .await;
    assert_code(&v, "INVALID_CREDENTIALS");
    let v = s
        .platform(
            None,
            LOGIN,
            json!({ "l": "SZEF@okienko.example.pl", "p": password }),
        )
        .await;
    let token = token_of(&v, "login");
    let v = s
        .platform(Some(&token), "{ me { login } }", json!({}))
        .await;
    assert_eq!(v["data"]["me"]["login"], login);
    // An operator is not a tenant's staff.
    let v = s
        .admin("gdynia", None, LOGIN, json!({ "l": login, "p": password }))
        .await;
    assert_code(&v, "INVALID_CREDENTIALS");
    let v = s
        .platform(Some(&token), "mutation { logout }", json!({}))
        .await;
    assert_eq!(v["data"]["logout"], true);
    assert_code(
        &s.platform(Some(&token), "{ me { login } }", json!({}))
            .await,
        "UNAUTHENTICATED",
    );
}

// ---------------------------------------------------------------------------------------------
// Policy activation through the admin API (P-6)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn policy_activation_keeps_the_old_version_on_failure() {
    let s = Server::start().await;
    let slug = "zielona-gora";
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, slug).await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(slug);
    let source = std::fs::read_to_string(dir.join("policy.rhai")).unwrap();
    let mut tests = Vec::new();
    for f in std::fs::read_dir(dir.join("tests")).unwrap().flatten() {
        tests.push(json!({
            "name": f.file_name().to_string_lossy(),
            "content": std::fs::read_to_string(f.path()).unwrap(),
        }));
    }
    let versions = "{ policyVersions { version active author } }";
    let before = s.admin(slug, Some(&admin), versions, json!({})).await;
    let n = before["data"]["policyVersions"].as_array().unwrap().len();
    assert!(n >= 1, "{before}");
    let activate = "mutation($s: String!, $t: [PolicyTestFileInput!]!) { activatePolicy(source: $s, tests: $t) { report policy { version active author } } }";

    let v = s
        .admin(
            slug,
            Some(&admin),
            activate,
            json!({ "s": "fn validate_booking(ctx) {", "t": tests }),
        )
        .await;
    assert_code(&v, "POLICY_COMPILE_FAILED");
    let v = s
        .admin(
            slug,
            Some(&admin),
            activate,
            json!({ "s": "fn validate_booking(ctx) { () }", "t": tests }),
        )
        .await;
    assert_code(&v, "POLICY_TESTS_FAILED");
    assert!(v["errors"][0]["extensions"]["report"].is_string(), "{v}");
    let same = s.admin(slug, Some(&admin), versions, json!({})).await;
    assert_eq!(same, before, "a failed activation keeps the old version");

    let v = s
        .admin(
            slug,
            Some(&admin),
            activate,
            json!({ "s": source, "t": tests }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    assert_eq!(v["data"]["activatePolicy"]["policy"]["active"], true);
    assert!(v["data"]["activatePolicy"]["policy"]["author"]
        .as_str()
        .unwrap()
        .starts_with("user:"));
    let after = s.admin(slug, Some(&admin), versions, json!({})).await;
    let list = after["data"]["policyVersions"].as_array().unwrap();
    assert_eq!(list.len(), n + 1);
    assert_eq!(list[0]["active"], true);
    assert_eq!(list[1]["active"], false);
}
