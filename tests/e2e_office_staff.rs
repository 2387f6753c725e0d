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
