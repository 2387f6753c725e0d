//! GD-5 in the booking flow, without a browser: Gdynia's contact page offers the resident-card
//! login, the login (against the test's OpenID provider, `okienko_test_support::oidc_provider`)
//! comes back to that page, which then shows the claims instead of asking for them; the check
//! page shows them and the booking is stored with them, as a resident-card booking. A field
//! the claims lack stays typeable; "use other data" forgets the login. An identity cookie that
//! is forged, expired or of another city counts as none.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{now_unix, policies_with_gdynia_issuer, Browser, Server};
use okienko_test_support::oidc_provider::TestProvider;
use serde_json::json;

/// The shipped cities, Gdynia's `[oidc]` issuer pointing at `issuer`, and Cieszyn given a
/// login of its own (so that another city's pages that offer the login are there to try a
/// Gdynia cookie on).
fn policies_with_issuer(dir: &Path, issuer: &str) {
    policies_with_gdynia_issuer(dir, issuer, false);
    let ci = dir.join("cieszyn/tenant.toml");
    let mut text = std::fs::read_to_string(&ci).unwrap();
    assert!(!text.contains("[oidc]"));
    text.push_str(&format!(
        "\n[oidc]\nissuer = \"{issuer}\"\nclient_id = \"okienko-cieszyn\"\nclient_secret_env = \"OKIENKO_OIDC_SECRET_CIESZYN\"\n"
    ));
    std::fs::write(&ci, text).unwrap();
}

struct Setup {
    idp: TestProvider,
    server: Server,
    _policies: tempfile::TempDir,
}

async fn setup() -> Setup {
    let idp = TestProvider::start(now_unix()).await;
    let policies = tempfile::tempdir().unwrap();
    policies_with_issuer(policies.path(), &idp.issuer);
    let server = Server::builder()
        .env("OKIENKO_POLICIES", policies.path().to_str().unwrap())
        .env("OKIENKO_OIDC_SECRET_GDYNIA", "secret")
        .env("OKIENKO_OIDC_SECRET_CIESZYN", "other-secret")
        .start()
        .await;
    Setup {
        idp,
        server,
        _policies: policies,
    }
}

/// The value of the first `name="…" value="…"` input of a page.
fn first_value(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = html.find(&key).unwrap_or_else(|| panic!("{key} in {html}"));
    let rest = &html[at + key.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// From the start to the contact page of `slug`: the first office, service, day and hour.
async fn to_contact(b: &mut Browser, slug: &str) {
    let r = b.post(&format!("/t/{slug}/wizyta"), &[]).await;
    assert_eq!(r.status, 303);
    let mut at = r.location.unwrap();
    for _ in 0..8 {
        if at.ends_with("/kontakt") {
            return;
        }
        let page = b.get(&at).await;
        assert_eq!(page.status, 200, "{at}: {}", page.body);
        let step = at.rsplit('/').next().unwrap().to_string();
        let name = match step.as_str() {
            "wydzial" => "group",
            "usluga" => "service",
            "dzien" => "day",
            "godzina" => "start",
            other => panic!("unexpected step {other}: {}", page.body),
        };
        let v = first_value(&page.body, name);
        let r = b.post(&at, &[(name, &v)]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        at = r.location.unwrap();
    }
    panic!("no contact page reached");
}

const CONTACT: &str = "/t/gdynia/wizyta/kontakt";
const LOGIN_LINK: &str = "href=\"/t/gdynia/logowanie?next=%2Ft%2Fgdynia%2Fwizyta%2Fkontakt\"";

/// The login from the contact page: the link, the provider, the way back to the page.
async fn log_in(s: &Setup, b: &mut Browser) {
    let page = b.get(CONTACT).await;
    assert!(page.body.contains(LOGIN_LINK), "{}", page.body);
    assert!(page.body.contains("Zaloguj się Kartą Mieszkańca"));
    let start = b
        .get("/t/gdynia/logowanie?next=%2Ft%2Fgdynia%2Fwizyta%2Fkontakt")
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let to_idp = start.location.unwrap();
    assert!(to_idp.starts_with(&s.idp.issuer), "{to_idp}");
    let approved = b.get(&to_idp).await;
    assert_eq!(approved.status, 302, "{}", approved.body);
    let back = b.get(&approved.location.unwrap()).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(back.location.as_deref(), Some(CONTACT));
    assert!(b.cookies.contains_key("okienko_oidc"));
}

/// The contact page offers the login and shows no claims.
async fn assert_no_login_shown(b: &mut Browser) {
    let page = b.get(CONTACT).await;
    assert!(page.body.contains(LOGIN_LINK), "{}", page.body);
    assert!(!page.body.contains("Anna Mieszkańska"));
}

/// The contact page sent with the typed `form`, then the booking: stored as typed, online.
async fn book_as_jan(server: &Server, b: &mut Browser, form: &[(&str, &str)]) {
    let r = b.post(CONTACT, form).await;
    assert_eq!(r.location.as_deref(), Some("/t/gdynia/wizyta/sprawdz"));
    let (_, code) = check_consent_submit(b).await;
    let booked = staff_view(server, &code).await;
    assert_eq!(booked["source"], "online", "{booked}");
    assert_eq!(booked["clientName"], "Jan Kowalski", "{booked}");
}

/// From the check page: terms and consents, then the booking; the check page and the
/// booking's code from the page that follows.
async fn check_consent_submit(b: &mut Browser) -> (String, String) {
    let check = b.get("/t/gdynia/wizyta/sprawdz").await;
    assert_eq!(check.status, 200);
    let r = b.post("/t/gdynia/wizyta/sprawdz", &[]).await;
    assert_eq!(r.location.as_deref(), Some("/t/gdynia/wizyta/zgody"));
    let r = b
        .post(
            "/t/gdynia/wizyta/zgody",
            &[("terms", "1"), ("consent-rodo", "1")],
        )
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some("/t/gdynia/wizyta/gotowe"),
        "{}",
        r.body
    );
    let done = b.get("/t/gdynia/wizyta/gotowe").await;
    assert_eq!(done.status, 200);
    let at = done.body.find("<strong class=\"code\">").unwrap() + 21;
    let code = done.body[at..at + done.body[at..].find('<').unwrap()].to_string();
    (check.body, code)
}

/// The booking as the city's staff see it.
async fn staff_view(s: &Server, code: &str) -> serde_json::Value {
    let op = s.operator_token().await;
    let token = s.admin_token(&op, "gdynia").await;
    let v = s
        .admin(
            "gdynia",
            Some(&token),
            "query($c: String!) { bookingByCode(code: $c) { source clientName clientEmail clientPhone } }",
            json!({ "c": code }),
        )
        .await;
    v["data"]["bookingByCode"].clone()
}

#[tokio::test]
async fn resident_logs_in_from_the_contact_page_and_books_with_the_claims() {
    let s = setup().await;
    let mut b = Browser::new(&s.server.base);
    to_contact(&mut b, "gdynia").await;
    // Before the login the fields are typed as on the public form.
    let page = b.get(CONTACT).await;
    assert!(page.body.contains("name=\"f-name\""), "{}", page.body);
    log_in(&s, &mut b).await;

    // Name, e-mail and phone from the claims, shown and not asked for.
    let page = b.get(CONTACT).await;
    assert_eq!(page.status, 200);
    for shown in ["Anna Mieszkańska", "anna@example.pl", "+48 601 222 333"] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    for asked in ["name=\"f-name\"", "name=\"f-email\"", "name=\"f-phone\""] {
        assert!(!page.body.contains(asked), "{asked} in {}", page.body);
    }
    assert!(!page.body.contains(LOGIN_LINK));
    assert!(page.body.contains("name=\"wyloguj\""));
    assert!(!page.body.contains("GD-"), "no rule IDs for citizens");

    // What a form sends for the claimed fields is not taken.
    let r = b
        .post(
            CONTACT,
            &[("f-name", "Ktoś Inny"), ("f-email", "inny@example.pl")],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/t/gdynia/wizyta/sprawdz"));
    let (check, code) = check_consent_submit(&mut b).await;
    for shown in ["Anna Mieszkańska", "anna@example.pl", "+48 601 222 333"] {
        assert!(check.contains(shown), "{shown} in {check}");
    }
    assert!(!check.contains("Ktoś Inny"));

    let booked = staff_view(&s.server, &code).await;
    assert_eq!(booked["source"], "resident_card", "{booked}");
    assert_eq!(booked["clientName"], "Anna Mieszkańska", "{booked}");
    assert_eq!(booked["clientEmail"], "anna@example.pl", "{booked}");
    assert!(
        booked["clientPhone"].as_str().unwrap().contains("601"),
        "{booked}"
    );
}

#[tokio::test]
async fn a_field_the_claims_lack_is_typed_and_other_data_can_be_used() {
    let s = setup().await;
    s.idp.set(|b| {
        b.claims = json!({
            "sub": "km-456",
            "name": "Piotr Beztelefonu",
            "email": "piotr@example.pl",
            "email_verified": true,
        })
    });
    let mut b = Browser::new(&s.server.base);
    to_contact(&mut b, "gdynia").await;
    log_in(&s, &mut b).await;
    let page = b.get(CONTACT).await;
    assert!(page.body.contains("Piotr Beztelefonu"));
    assert!(!page.body.contains("name=\"f-name\""));
    assert!(page.body.contains("name=\"f-phone\""), "{}", page.body);
    let r = b.post(CONTACT, &[("f-phone", "601 234 567")]).await;
    assert_eq!(r.location.as_deref(), Some("/t/gdynia/wizyta/sprawdz"));
    let check = b.get("/t/gdynia/wizyta/sprawdz").await;
    assert!(check.body.contains("601 234 567"), "{}", check.body);

    // "Use other data": the login is forgotten and the page asks again.
    let r = b.post(CONTACT, &[("wyloguj", "1")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some(CONTACT));
    assert!(!b.cookies.contains_key("okienko_oidc"));
    let page = b.get(CONTACT).await;
    assert!(page.body.contains(LOGIN_LINK));
    assert!(page.body.contains("name=\"f-name\""));
    assert!(!page.body.contains("Piotr Beztelefonu"));
    book_as_jan(
        &s.server,
        &mut b,
        &[
            ("f-name", "Jan Kowalski"),
            ("f-email", "jan@example.pl"),
            ("f-phone", ""),
        ],
    )
    .await;
}

#[tokio::test]
async fn forged_expired_or_other_city_identity_counts_as_none() {
    let s = setup().await;
    let mut b = Browser::new(&s.server.base);
    to_contact(&mut b, "gdynia").await;
    log_in(&s, &mut b).await;
    let good = b.cookies["okienko_oidc"].clone();

    // Gdynia's identity sent to Cieszyn's pages, which offer a login of their own.
    let mut other = Browser::new(&s.server.base);
    to_contact(&mut other, "cieszyn").await;
    other.cookies.insert("okienko_oidc".into(), good.clone());
    let page = other.get("/t/cieszyn/wizyta/kontakt").await;
    assert!(
        page.body.contains("href=\"/t/cieszyn/logowanie?next="),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Anna Mieszkańska"), "{}", page.body);
    assert!(page.body.contains("name=\"f-email\""));

    // A forged one: the payload changed, the signature kept.
    let (payload, sig) = good.split_once('.').unwrap();
    let mut forged = payload.to_string();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    b.cookies
        .insert("okienko_oidc".into(), format!("{forged}.{sig}"));
    assert_no_login_shown(&mut b).await;
    // Booked from there, the typed data count, not a login's.
    book_as_jan(
        &s.server,
        &mut b,
        &[("f-name", "Jan Kowalski"), ("f-email", "jan@example.pl")],
    )
    .await;

    // The good one, after its 30 minutes.
    let Setup {
        idp,
        server,
        _policies,
    } = s;
    let server = server.restart_at("2026-12-01T08:31:00Z").await;
    let mut b = Browser::new(&server.base);
    to_contact(&mut b, "gdynia").await;
    b.cookies.insert("okienko_oidc".into(), good);
    assert_no_login_shown(&mut b).await;
    drop(idp);
}
