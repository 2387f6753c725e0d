//! The staff's pages end to end (issue 14): login on a page with the admin API's accounts,
//! lockout and sessions in an HTTP-only cookie, logout, an expired session sent back to login
//! and then to where it was going, the admission list (OP-9) behind the cookie; pairing of
//! kiosks and displays with one-time codes. Tenants never mix: a session or a pairing code of
//! one city is nothing at another's.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

/// A browser without JavaScript: forms posted as a browser posts them (same origin), redirects
/// not followed, the cookies the server sets kept by name.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

struct Answer {
    status: u16,
    location: String,
    set_cookie: Vec<String>,
    body: String,
}

impl Browser {
    fn new(s: &Server) -> Browser {
        Browser {
            base: s.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn set(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(k, _)| k != name);
        if !value.is_empty() {
            self.cookies.push((name.into(), value.into()));
        }
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> Answer {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let r = if jar.is_empty() {
            r
        } else {
            r.header("cookie", jar.join("; "))
        };
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let set_cookie: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookie {
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            let v = if attrs.contains("Max-Age=0") { "" } else { v };
            self.set(k, v);
        }
        Answer {
            status,
            location,
            set_cookie,
            body: res.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .form(form);
        self.send(r).await
    }

    async fn login(&mut self, slug: &str, login: &str, password: &str, next: &str) -> Answer {
        self.post(
            &format!("/t/{slug}/personel/logowanie"),
            &[("login", login), ("password", password), ("next", next)],
        )
        .await
    }
}

/// A clerk of `slug` made through the admin API: (login, password, the administrator's token).
async fn clerk(s: &Server, slug: &str) -> (String, String, String) {
    let op = s.operator_token().await;
    let admin = s.admin_token(&op, slug).await;
    let login = format!("urzednik@{slug}.example.pl");
    let password = "haslo-urzednika-dlugie".to_string();
    let v = s
        .admin(
            slug,
            Some(&admin),
            "mutation($l: String!, $p: String!) { createUser(login: $l, displayName: \"Jan Urzędnik\", role: CLERK, password: $p) { id } }",
            json!({ "l": login, "p": password }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    (login, password, admin)
}

const ME: &str = "{ configuration { offices { id } } }";

#[tokio::test]
async fn login_sets_an_http_only_session_that_the_admin_api_knows_and_logout_ends() {
    let s = Server::start().await;
    let (login, password, _) = clerk(&s, "opole").await;
    let mut b = Browser::new(&s);

    let page = b.get("/t/opole/personel").await;
    assert_eq!(page.status, 303, "no session: the login page");
    assert_eq!(
        page.location,
        "/t/opole/personel/logowanie?next=%2Ft%2Fopole%2Fpersonel"
    );
    let form = b.get(&page.location).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Logowanie pracownika"), "{}", form.body);
    assert!(form
        .body
        .contains(r#"name="next" value="/t/opole/personel""#));
    assert!(!form.body.contains("<script>"), "no inline script");

    // Empty fields: said at each field, no attempt counted.
    let empty = b.login("opole", "", "", "/t/opole/personel").await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Wpisz login"), "{}", empty.body);
    assert!(empty.body.contains("Wpisz hasło"));

    let wrong = b
        .login("opole", &login, "nie-to-haslo", "/t/opole/personel")
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("Nieprawidłowy login lub hasło."),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains(&format!(r#"value="{login}""#)),
        "the login typed is kept"
    );
    assert!(b.cookie("okienko_staff").is_none());

    let ok = b
        .login("opole", &login, &password, "/t/opole/personel")
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location, "/t/opole/personel");
    let set = ok
        .set_cookie
        .iter()
        .find(|c| c.starts_with("okienko_staff="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/t/"] {
        assert!(set.contains(attr), "{set}");
    }
    let token = b.cookie("okienko_staff").unwrap().to_string();
    assert!(token.starts_with("oks_"), "{token}");
    // The same session as the API's login gives.
    let v = s.admin("opole", Some(&token), ME, json!({})).await;
    assert!(v["errors"].is_null(), "{v}");

    let home = b.get("/t/opole/personel").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Jan Urzędnik"), "{}", home.body);
    assert!(home.body.contains("/t/opole/stanowisko"));
    assert!(home.body.contains("/t/opole/staff/przyjecia"));
    assert!(
        !home.body.contains("/t/opole/personel/urzadzenia"),
        "devices are the administrator's"
    );
    // The login page of someone logged in goes on.
    let again = b
        .get("/t/opole/personel/logowanie?next=/t/opole/staff/przyjecia")
        .await;
    assert_eq!(again.status, 303);
    assert_eq!(again.location, "/t/opole/staff/przyjecia");

    // The admission list (OP-9) with the cookie, no header needed.
    let list = b.get("/t/opole/staff/przyjecia?dzien=2026-12-02").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("Lista przyjęć"));

    // A POST from another site changes nothing.
    let forged = b
        .client
        .post(format!("{}/t/opole/personel/wyloguj", s.base))
        .header("cookie", format!("okienko_staff={token}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let v = s.admin("opole", Some(&token), ME, json!({})).await;
    assert!(v["errors"].is_null(), "still logged in: {v}");

    let out = b.post("/t/opole/personel/wyloguj", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location, "/t/opole/personel/logowanie?wylogowano=1");
    assert!(
        b.cookie("okienko_staff").is_none(),
        "the cookie is forgotten"
    );
    let v = s.admin("opole", Some(&token), ME, json!({})).await;
    assert_code(&v, "UNAUTHENTICATED");
    let notice = b.get(&out.location).await;
    assert!(notice.body.contains("Wylogowano."), "{}", notice.body);
    // The old token in a cookie is no session either.
    b.set("okienko_staff", &token);
    assert_eq!(b.get("/t/opole/personel").await.status, 303);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_saying_until_when_in_warsaw_time() {
    let s = Server::start().await;
    let (login, password, _) = clerk(&s, "gdynia").await;
    let mut b = Browser::new(&s);
    for _ in 0..4 {
        let r = b.login("gdynia", &login, "zle-haslo-123", "").await;
        assert!(
            r.body.contains("Nieprawidłowy login lub hasło."),
            "{}",
            r.body
        );
    }
    // NOW is 08:00 UTC, 09:00 in Warsaw; 15 minutes' lock.
    let fifth = b.login("gdynia", &login, "zle-haslo-123", "").await;
    assert_eq!(fifth.status, 422);
    assert!(
        fifth.body.contains("Konto zostało zablokowane")
            && fifth.body.contains("09:15, 01.12.2026"),
        "{}",
        fifth.body
    );
    let right = b.login("gdynia", &login, &password, "").await;
    assert_eq!(right.status, 422, "locked: even the right password");
    assert!(right.body.contains("09:15, 01.12.2026"));
    assert!(b.cookie("okienko_staff").is_none());

    let s = s.restart_at("2026-12-01T08:16:00Z").await;
    let mut b = Browser::new(&s);
    let r = b.login("gdynia", &login, &password, "").await;
    assert_eq!(r.status, 303, "unlocked after 15 minutes: {}", r.body);
    assert_eq!(r.location, "/t/gdynia/personel", "no next: the start page");
}

#[tokio::test]
async fn an_expired_session_goes_to_login_with_a_notice_and_back_to_where_it_was() {
    let s = Server::start().await;
    let (login, password, _) = clerk(&s, "cieszyn").await;
    let mut b = Browser::new(&s);
    assert_eq!(b.login("cieszyn", &login, &password, "").await.status, 303);
    let token = b.cookie("okienko_staff").unwrap().to_string();

    // Eight hours and a minute later.
    let s = s.restart_at("2026-12-01T16:01:00Z").await;
    let mut b = Browser::new(&s);
    b.set("okienko_staff", &token);
    let path = "/t/cieszyn/staff/przyjecia?dzien=2026-12-02";
    let r = b.get(path).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location,
        "/t/cieszyn/personel/logowanie?next=%2Ft%2Fcieszyn%2Fstaff%2Fprzyjecia%3Fdzien%3D2026-12-02&wygasla=1"
    );
    let form = b.get(&r.location).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Sesja wygasła."), "{}", form.body);
    assert!(form
        .body
        .contains(r#"value="/t/cieszyn/staff/przyjecia?dzien=2026-12-02""#));
    let back = b.login("cieszyn", &login, &password, path).await;
    assert_eq!(back.status, 303);
    assert_eq!(back.location, path);
    assert_eq!(b.get(path).await.status, 200);
}

#[tokio::test]
async fn sessions_and_devices_are_no_staff_elsewhere_and_next_stays_in_the_city() {
    let s = Server::start().await;
    let (login, password, _) = clerk(&s, "gdynia").await;
    let team = staff(&s, "opole").await;
    let mut b = Browser::new(&s);
    assert_eq!(b.login("gdynia", &login, &password, "").await.status, 303);
    // Gdynia's session on Opole's pages: no session (not even an expired one).
    let r = b.get("/t/opole/personel").await;
    assert_eq!(r.status, 303);
    assert!(!r.location.contains("wygasla"), "{}", r.location);
    assert_eq!(b.get("/t/opole/staff/przyjecia").await.status, 303);
    // Gdynia's login at Opole is unknown.
    let r = b.login("opole", &login, &password, "").await;
    assert!(
        r.body.contains("Nieprawidłowy login lub hasło."),
        "{}",
        r.body
    );

    // A device's token, in the device cookie or in the staff cookie, is never a staff member.
    let mut d = Browser::new(&s);
    d.set("okienko_device", &team.kiosk);
    assert_eq!(d.get("/t/opole/personel").await.status, 303);
    d.set("okienko_staff", &team.kiosk);
    assert_eq!(d.get("/t/opole/personel").await.status, 303);
    assert_eq!(d.get("/t/opole/staff/przyjecia").await.status, 303);

    // `next` leaves neither the site nor the city.
    let mut o = Browser::new(&s);
    for evil in [
        "https://evil.example/",
        "//evil.example/t/opole/",
        "/t/gdynia/personel",
        "/t/opole/\\evil",
        "/t/opole/personel/logowanie?next=/t/opole/personel",
    ] {
        o.set("okienko_staff", "");
        let r = o
            .login(
                "opole",
                "urzednik@opole.example.pl",
                "haslo-urzednika-1",
                evil,
            )
            .await;
        assert_eq!(r.status, 303, "{evil}: {}", r.body);
        assert_eq!(r.location, "/t/opole/personel", "{evil}");
    }
}

// ---------------------------------------------------------------------------------------------
// Pairing devices

/// An administrator of `slug` logged in on the pages: (browser, API token).
async fn admin_browser(s: &Server, slug: &str) -> (Browser, String) {
    let op = s.operator_token().await;
    let login = format!("admin{}@{slug}.example.pl", std::process::id());
    let password = s.create_tenant_admin(&op, slug, &login).await;
    let mut b = Browser::new(s);
    let r = b.login(slug, &login, &password, "").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let token = b.cookie("okienko_staff").unwrap().to_string();
    (b, token)
}

/// The first `XXXX-XXXX` code on a page.
fn code_on(page: &str) -> String {
    let alphabet = |c: char| c.is_ascii_uppercase() || ('2'..='9').contains(&c);
    let chars: Vec<char> = page.chars().collect();
    for w in chars.windows(9) {
        if w[4] == '-' && w[..4].iter().all(|c| alphabet(*c)) && w[5..].iter().all(|c| alphabet(*c))
        {
            return w.iter().collect();
        }
    }
    panic!("no pairing code on the page:\n{page}");
}

const PAIRING: &str = "mutation($k: DeviceKind!, $o: ID!, $d: Int, $n: String!) { \
    createPairingCode(kind: $k, officeId: $o, desk: $d, name: $n) { code expiresAt validMinutes } }";

async fn api_code(s: &Server, slug: &str, admin: &str, kind: &str, desk: Option<i64>) -> String {
    let office = s.first_office(slug, admin).await;
    let v = s
        .admin(
            slug,
            Some(admin),
            PAIRING,
            json!({ "k": kind, "o": office, "d": desk, "n": "Urządzenie z API" }),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    str_at(&v, "/data/createPairingCode/code")
}

async fn redeem(s: &Server, slug: &str, code: &str) -> (Browser, Answer) {
    let mut d = Browser::new(s);
    let r = d
        .post(&format!("/t/{slug}/urzadzenie"), &[("code", code)])
        .await;
    (d, r)
}

#[tokio::test]
async fn an_administrator_pairs_a_kiosk_and_a_door_display_with_codes_and_removes_one() {
    let s = Server::start().await;
    let (mut admin, token) = admin_browser(&s, "opole").await;
    let office = s.first_office("opole", &token).await;
    let home = admin.get("/t/opole/personel").await;
    assert!(
        home.body.contains("/t/opole/personel/urzadzenia"),
        "{}",
        home.body
    );
    let list = admin.get("/t/opole/personel/urzadzenia").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("Dodaj urządzenie"));

    // A kiosk.
    let made = admin
        .post(
            "/t/opole/personel/urzadzenia",
            &[
                ("kind", "kiosk"),
                ("office", &office),
                ("desk", ""),
                ("name", "Biletomat przy wejściu"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let code = code_on(&made.body);
    assert!(made.body.contains("10 min"), "says how long: {}", made.body);
    assert!(made
        .body
        .contains(&format!("/t/opole/urzadzenie?kod={code}")));

    // The device's browser: the link fills the code in; nothing is redeemed on a GET.
    let mut device = Browser::new(&s);
    let form = device.get(&format!("/t/opole/urzadzenie?kod={code}")).await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains(&format!(r#"value="{code}""#)),
        "{}",
        form.body
    );
    // Typed in lower case, without the dash.
    let typed = code.replace('-', "").to_lowercase();
    let r = device
        .post("/t/opole/urzadzenie", &[("code", &typed)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/t/opole/kiosk");
    let set = r
        .set_cookie
        .iter()
        .find(|c| c.starts_with("okienko_device="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let kiosk = device.cookie("okienko_device").unwrap().to_string();
    assert!(kiosk.starts_with("okd_"));
    let (status, v) = s
        .post_path(
            "/t/opole/kiosk/graphql",
            Some(&kiosk),
            json!({ "query": "{ office { name } }" }).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["errors"].is_null(), "the paired kiosk works: {v}");
    // A device is no staff member.
    assert_eq!(device.get("/t/opole/personel").await.status, 303);

    // Used once.
    let (_, again) = redeem(&s, "opole", &code).await;
    assert_eq!(again.status, 422);
    assert!(
        again.body.contains("Ten kod został już użyty"),
        "{}",
        again.body
    );

    // A door display of desk 2; a desk the office lacks is refused at the field.
    let bad = admin
        .post(
            "/t/opole/personel/urzadzenia",
            &[
                ("kind", "door"),
                ("office", &office),
                ("desk", "99"),
                ("name", "Tablica"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("nie ma stanowiska 99"), "{}", bad.body);
    let empty = admin
        .post(
            "/t/opole/personel/urzadzenia",
            &[("kind", "door"), ("office", &office), ("name", "")],
        )
        .await;
    assert!(empty.body.contains("Podaj numer stanowiska") && empty.body.contains("Podaj nazwę"));
    let door = admin
        .post(
            "/t/opole/personel/urzadzenia",
            &[
                ("kind", "door"),
                ("office", &office),
                ("desk", "2"),
                ("name", "Tablica przy drzwiach 2"),
            ],
        )
        .await;
    let (_, r) = redeem(&s, "opole", &code_on(&door.body)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/t/opole/tablica/stanowisko/2");
    let hall = admin
        .post(
            "/t/opole/personel/urzadzenia",
            &[
                ("kind", "hall"),
                ("office", &office),
                ("desk", "3"),
                ("name", "Tablica w holu"),
            ],
        )
        .await;
    let (_, r) = redeem(&s, "opole", &code_on(&hall.body)).await;
    assert_eq!(r.location, "/t/opole/tablica", "a hall display has no desk");

    let v = s
        .admin(
            "opole",
            Some(&token),
            "{ devices { id kind name desk revokedAt } }",
            json!({}),
        )
        .await;
    let devices = v["data"]["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 3, "{v}");
    let desks: Vec<_> = devices.iter().map(|d| d["desk"].clone()).collect();
    assert_eq!(desks, vec![json!(null), json!(2), json!(null)], "{v}");

    // "Usuń" revokes: the kiosk's token stops working and its page goes to pairing.
    let list = admin.get("/t/opole/personel/urzadzenia").await;
    assert!(
        list.body.contains("Biletomat przy wejściu")
            && list.body.contains("Tablica przy stanowisku 2")
    );
    let kiosk_id = devices[0]["id"].as_str().unwrap();
    let gone = admin
        .post(
            &format!("/t/opole/personel/urzadzenia/{kiosk_id}/usun"),
            &[],
        )
        .await;
    assert_eq!(gone.status, 303);
    assert_eq!(gone.location, "/t/opole/personel/urzadzenia?usunieto=1");
    let (_, v) = s
        .post_path(
            "/t/opole/kiosk/graphql",
            Some(&kiosk),
            json!({ "query": "{ office { name } }" }).to_string(),
        )
        .await;
    assert_code(&v, "UNAUTHENTICATED");
    let after = admin.get(&gone.location).await;
    assert!(after.body.contains("Urządzenie usunięto"), "{}", after.body);
    let v = s
        .admin(
            "opole",
            Some(&token),
            "{ auditLog(first: 50) { entries { action } } }",
            json!({}),
        )
        .await;
    let audit = audit_actions(&v["data"]);
    for a in ["device.pairing_code", "device.create", "device.revoke"] {
        assert!(audit.contains(&a), "{a} in {audit:?}");
    }

    // Only administrators pair devices, on the pages and in the API.
    let (login, password, _) = clerk(&s, "opole").await;
    let mut c = Browser::new(&s);
    c.login("opole", &login, &password, "").await;
    assert_eq!(c.get("/t/opole/personel/urzadzenia").await.status, 403);
    let forged = c
        .post(
            "/t/opole/personel/urzadzenia",
            &[("kind", "kiosk"), ("office", &office), ("name", "X")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let clerk_token = c.cookie("okienko_staff").unwrap().to_string();
    let v = s
        .admin(
            "opole",
            Some(&clerk_token),
            PAIRING,
            json!({ "k": "KIOSK", "o": office, "n": "X" }),
        )
        .await;
    assert_code(&v, "FORBIDDEN");
    let v = s
        .admin(
            "opole",
            Some(&token),
            PAIRING,
            json!({ "k": "KIOSK", "o": office, "d": 1, "n": "X" }),
        )
        .await;
    assert_code(&v, "VALIDATION_FAILED");
}

#[tokio::test]
async fn codes_expire_after_ten_minutes_and_are_unknown_in_another_city() {
    let s = Server::start().await;
    let (_, opole) = admin_browser(&s, "opole").await;
    let (_, gdynia) = admin_browser(&s, "gdynia").await;
    let early = api_code(&s, "opole", &opole, "KIOSK", None).await;
    let late = api_code(&s, "opole", &opole, "DISPLAY", None).await;
    let foreign = api_code(&s, "gdynia", &gdynia, "KIOSK", None).await;
    let v = s
        .admin(
            "opole",
            Some(&opole),
            PAIRING,
            json!({ "k": "KIOSK", "o": s.first_office("opole", &opole).await, "n": "X" }),
        )
        .await;
    // Ten minutes after now (the dev clock runs on from NOW), in whole seconds.
    let expires = str_at(&v, "/data/createPairingCode/expiresAt");
    assert!(expires.starts_with("2026-12-01T08:10:0"), "{expires}");
    assert!(
        expires.ends_with(":00+00:00") || !expires.contains('.'),
        "{expires}"
    );
    assert_eq!(v["data"]["createPairingCode"]["validMinutes"], 10);

    let (_, r) = redeem(&s, "opole", &foreign).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Nie ma takiego kodu"), "{}", r.body);
    // Gdynia's own code works at Gdynia, never at Opole.
    let (_, r) = redeem(&s, "gdynia", &foreign).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/t/gdynia/kiosk");
    let (_, r) = redeem(&s, "opole", "ABCD-EFG").await;
    assert!(r.body.contains("8 znaków"), "{}", r.body);

    let s = s.restart_at("2026-12-01T08:09:00Z").await;
    let (_, r) = redeem(&s, "opole", &early).await;
    assert_eq!(r.status, 303, "still valid: {}", r.body);
    let s = s.restart_at("2026-12-01T08:10:30Z").await;
    let (d, r) = redeem(&s, "opole", &late).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Ten kod wygasł"), "{}", r.body);
    assert!(d.cookie("okienko_device").is_none());
}

async fn one_device_from_concurrent_redemptions(s: &Server) {
    let (_, admin) = admin_browser(s, "zielona-gora").await;
    let code = api_code(s, "zielona-gora", &admin, "KIOSK", None).await;
    let tries = (0..8).map(|_| redeem(s, "zielona-gora", &code));
    let answers = futures_util::future::join_all(tries).await;
    let won = answers.iter().filter(|(_, a)| a.status == 303).count();
    assert_eq!(
        won,
        1,
        "{:?}",
        answers.iter().map(|(_, a)| a.status).collect::<Vec<_>>()
    );
    assert!(answers
        .iter()
        .filter(|(_, a)| a.status != 303)
        .all(|(_, a)| a.status == 422 && a.body.contains("już użyty")));
    let v = s
        .admin(
            "zielona-gora",
            Some(&admin),
            "{ devices { id } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["devices"].as_array().unwrap().len(), 1, "{v}");
}

#[tokio::test]
async fn two_concurrent_redemptions_of_one_code_make_one_device_on_sqlite() {
    let s = Server::start().await;
    one_device_from_concurrent_redemptions(&s).await;
}

#[tokio::test]
async fn two_concurrent_redemptions_of_one_code_make_one_device_on_postgres() {
    let Some((_db, s)) = Server::for_backend(Backend::Postgres).await else {
        return;
    };
    one_device_from_concurrent_redemptions(&s).await;
}

#[tokio::test]
async fn wrong_codes_from_one_client_are_limited() {
    let s = Server::with_env(&[("OKIENKO_RATE_LIMITS", "on")]).await;
    let mut last = 0;
    for _ in 0..12 {
        let (_, r) = redeem(&s, "cieszyn", "AAAA-AAAA").await;
        last = r.status;
        if last == 429 {
            assert!(r.body.contains("Zbyt wiele prób"), "{}", r.body);
            break;
        }
        assert_eq!(r.status, 422);
    }
    assert_eq!(last, 429, "the city's code tries per minute (10)");
}
