//! GD-5: Gdynia's resident-card login on its pages, over real HTTP between a browser stand-in
//! (reqwest, redirects followed by hand, cookies kept), the real binary and the test's OpenID
//! provider (`okienko_test_support::oidc_provider`). The whole flow, then every refusal.
#![allow(clippy::unwrap_used)]

mod common;

use common::{now_unix, policies_with_gdynia_issuer, Answer, Browser, Server};
use okienko_domain::DomainError;
use okienko_test_support::oidc_provider::{TestProvider, KEY_A, KEY_B};

const SECRET_ENV: &str = "OKIENKO_OIDC_SECRET_GDYNIA";

struct Setup {
    idp: TestProvider,
    server: Server,
    _policies: tempfile::TempDir,
}

async fn setup_with(secret: Option<&str>, issuer_override: Option<&str>) -> Setup {
    let idp = TestProvider::start(now_unix()).await;
    let policies = tempfile::tempdir().unwrap();
    policies_with_gdynia_issuer(
        policies.path(),
        issuer_override.unwrap_or(&idp.issuer),
        true,
    );
    let mut b = Server::builder().env("OKIENKO_POLICIES", policies.path().to_str().unwrap());
    if let Some(s) = secret {
        b = b.env(SECRET_ENV, s);
    }
    Setup {
        idp,
        server: b.start().await,
        _policies: policies,
    }
}

async fn setup() -> Setup {
    setup_with(Some("secret"), None).await
}

/// The three hops up to the provider's redirect back: (the callback's address, its answer).
async fn login_until_return(s: &Setup, b: &mut Browser, next: &str) -> String {
    let start = b
        .get(&format!(
            "{}/t/gdynia/logowanie?next={}",
            s.server.base,
            url_encode(next)
        ))
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let to_idp = start.location.unwrap();
    assert!(to_idp.starts_with(&s.idp.issuer), "{to_idp}");
    for p in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "code_challenge=",
    ] {
        assert!(to_idp.contains(p), "{p} in {to_idp}");
    }
    let approved = b.get(&to_idp).await;
    assert_eq!(approved.status, 302, "{}", approved.body);
    let back = approved.location.unwrap();
    assert!(
        back.starts_with(&format!("{}/t/gdynia/logowanie/powrot?", s.server.base)),
        "{back}"
    );
    back
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A whole login: the answer of the redirect back.
async fn login(s: &Setup, b: &mut Browser, next: &str) -> Answer {
    let back = login_until_return(s, b, next).await;
    b.get(&back).await
}

async fn who(s: &Setup, b: &mut Browser, slug: &str) -> String {
    let page = b
        .get(&format!("{}/t/{slug}/wylogowanie", s.server.base))
        .await;
    assert_eq!(page.status, 200);
    page.body
}

fn refused_with(a: &Answer, status: u16, e: DomainError) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(a.body.contains(&e.to_string()), "{e:?} in {}", a.body);
    assert!(a.body.contains(e.code()), "{} in {}", e.code(), a.body);
    assert!(a.location.is_none());
}

#[tokio::test]
async fn resident_logs_in_and_the_pages_know_who() {
    let s = setup().await;
    let mut b = Browser::strict("");
    assert!(who(&s, &mut b, "gdynia")
        .await
        .contains("Nie jesteś zalogowany"));

    let done = login(
        &s,
        &mut b,
        "/t/gdynia/rezerwacja-mieszkanca?usluga=meldunek",
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/t/gdynia/rezerwacja-mieszkanca?usluga=meldunek")
    );
    assert!(
        !b.cookies.contains_key("okienko_oidc_login"),
        "login cookie cleared"
    );
    let page = who(&s, &mut b, "gdynia").await;
    for claim in ["Anna Mieszkańska", "anna@example.pl", "+48 601 222 333"] {
        assert!(page.contains(claim), "{claim} in {page}");
    }
    // The identity is Gdynia's only: another city's pages do not see it (tenant isolation).
    assert!(who(&s, &mut b, "opole")
        .await
        .contains("Nie jesteś zalogowany"));
    // A forged identity cookie counts as none.
    let mut forged = Browser::strict("");
    let real = b.cookies["okienko_oidc"].clone();
    let (payload, sig) = real.split_once('.').unwrap();
    let mut p = payload.to_string();
    p.pop();
    forged
        .cookies
        .insert("okienko_oidc".into(), format!("{p}A.{sig}"));
    assert!(who(&s, &mut forged, "gdynia")
        .await
        .contains("Nie jesteś zalogowany"));

    // The provider was asked once for its keys, and the code was traded once.
    assert_eq!(s.idp.jwks_fetches(), 1);
    assert_eq!(s.idp.token_requests(), 1);

    // Logging out forgets the identity.
    let out = b
        .http
        .post(format!("{}/t/gdynia/wylogowanie", s.server.base))
        .header("cookie", format!("okienko_oidc={real}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let cleared = out.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cleared.starts_with("okienko_oidc=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn state_must_match_the_browsers_login_and_be_used_once() {
    let s = setup().await;
    // Another state than the one this browser's login holds.
    let mut b = Browser::strict("");
    let back = login_until_return(&s, &mut b, "/t/gdynia/").await;
    let tampered = back.replacen("state=", "state=x", 1);
    refused_with(&b.get(&tampered).await, 400, DomainError::OidcStateMismatch);
    // The redirect back in a browser that began no login (a login forced on someone).
    let mut other = Browser::strict("");
    let back = login_until_return(&s, &mut b, "/t/gdynia/").await;
    refused_with(&other.get(&back).await, 400, DomainError::OidcStateMismatch);
    assert_eq!(
        s.idp.token_requests(),
        0,
        "no code traded for a refused return"
    );

    // The same return twice: the second is refused here, before the provider.
    let mut b = Browser::strict("");
    let back = login_until_return(&s, &mut b, "/t/gdynia/").await;
    let login_cookie = b.cookies["okienko_oidc_login"].clone();
    assert_eq!(b.get(&back).await.status, 303);
    b.cookies.insert("okienko_oidc_login".into(), login_cookie);
    refused_with(&b.get(&back).await, 400, DomainError::OidcStateMismatch);
    // A used code with a fresh login of its own: the provider refuses the code.
    let code = back
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let fresh = login_until_return(&s, &mut b, "/t/gdynia/").await;
    let fresh_code = fresh
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let replayed = fresh.replacen(fresh_code, code, 1);
    refused_with(&b.get(&replayed).await, 400, DomainError::OidcFailed);
}

#[tokio::test]
async fn id_tokens_failing_a_check_are_refused() {
    let s = setup().await;
    let now = now_unix();
    type Change = Box<dyn Fn(&mut okienko_test_support::oidc_provider::Behaviour)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "wrong nonce",
            Box::new(|b| b.nonce = Some("another".into())),
        ),
        (
            "wrong audience",
            Box::new(|b| b.audience = Some("someone-else".into())),
        ),
        // Expired by the server's injected clock (NOW), not by the machine's.
        ("expired", Box::new(move |b| b.now = now - 3600)),
        (
            "issued in the future",
            Box::new(move |b| b.now = now + 3600),
        ),
        // Signed by key B, named as A: the signature does not verify.
        ("bad signature", Box::new(|b| b.sign_with = KEY_B.0.into())),
        (
            "wrong client secret",
            Box::new(|b| b.client_secret = "other".into()),
        ),
    ];
    for (why, change) in cases {
        s.idp.set(|b| {
            *b = okienko_test_support::oidc_provider::Behaviour {
                now,
                audience: None,
                nonce: None,
                sign_with: KEY_A.0.into(),
                header_kid: KEY_A.0.into(),
                client_secret: "secret".into(),
                ..b.clone()
            };
            change(b);
        });
        let mut b = Browser::strict("");
        let a = login(&s, &mut b, "/t/gdynia/").await;
        assert_eq!(a.status, 400, "{why}: {}", a.body);
        refused_with(&a, 400, DomainError::OidcFailed);
        assert!(
            !b.cookies.contains_key("okienko_oidc"),
            "{why}: no identity"
        );
    }

    // The provider refuses the login.
    s.idp.set(|b| {
        b.client_secret = "secret".into();
        b.sign_with = KEY_A.0.into();
        b.deny = true;
    });
    let mut b = Browser::strict("");
    refused_with(
        &login(&s, &mut b, "/t/gdynia/").await,
        400,
        DomainError::OidcDenied,
    );
    // Claims without an e-mail address the city needs (GD-7 sends the link by e-mail).
    s.idp.set(|b| {
        b.deny = false;
        b.claims["email_verified"] = false.into();
    });
    let mut b = Browser::strict("");
    refused_with(
        &login(&s, &mut b, "/t/gdynia/").await,
        400,
        DomainError::OidcClaimsIncomplete,
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_made_up_kids_do_not_hammer_the_provider() {
    let s = setup().await;
    let mut b = Browser::strict("");
    assert_eq!(login(&s, &mut b, "/t/gdynia/").await.status, 303);
    assert_eq!(s.idp.jwks_fetches(), 1);
    // The provider rotates to key B: its kid is unknown to the cached keys, which are fetched
    // again, and the login succeeds.
    s.idp.set(|b| {
        b.published = vec![KEY_A.0.into(), KEY_B.0.into()];
        b.sign_with = KEY_B.0.into();
        b.header_kid = KEY_B.0.into();
    });
    let mut b = Browser::strict("");
    let a = login(&s, &mut b, "/t/gdynia/").await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(s.idp.jwks_fetches(), 2);
    // A kid the provider never published: refused, and no third fetch right after the last.
    s.idp.set(|b| b.header_kid = "made-up".into());
    let mut b = Browser::strict("");
    refused_with(
        &login(&s, &mut b, "/t/gdynia/").await,
        400,
        DomainError::OidcFailed,
    );
    assert_eq!(s.idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn next_is_a_path_on_this_citys_pages_only() {
    let s = setup().await;
    for next in [
        "https://evil.example/",
        "//evil.example/t/gdynia/",
        "/\\evil.example",
        "/t/opole/",
        "/t/gdynia/../../t/opole/",
        "/t/gdynia/%2E%2e/%2e%2E/t/opole/",
        "/t/gdynia/\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
    ] {
        let mut b = Browser::strict("");
        let a = login(&s, &mut b, next).await;
        assert_eq!(a.status, 303, "{next}: {}", a.body);
        assert_eq!(a.location.as_deref(), Some("/t/gdynia/"), "{next}");
    }
}

#[tokio::test]
async fn provider_down_or_no_secret_the_login_is_unavailable_with_a_polish_notice() {
    // An issuer where nothing listens.
    let closed = format!("http://127.0.0.1:{}", common::free_port());
    let s = setup_with(Some("secret"), Some(&closed)).await;
    let mut b = Browser::strict("");
    let a = b
        .get(&format!("{}/t/gdynia/logowanie", s.server.base))
        .await;
    refused_with(&a, 503, DomainError::OidcUnavailable);
    assert!(a.body.contains("lang=\"pl\""));
    drop(s);

    // No client secret on this server: the login is not offered, the server runs.
    let s = setup_with(None, None).await;
    let mut b = Browser::strict("");
    let a = b
        .get(&format!("{}/t/gdynia/logowanie", s.server.base))
        .await;
    refused_with(&a, 404, DomainError::OidcNotOffered);
    // A city without an [oidc] table.
    let a = b.get(&format!("{}/t/opole/logowanie", s.server.base)).await;
    refused_with(&a, 404, DomainError::OidcNotOffered);
}

/// A provider that answers discovery with an error is not asked again at every login start.
#[tokio::test]
async fn a_failing_provider_is_not_asked_again_at_once() {
    let s = setup().await;
    s.idp.set(|b| b.discovery_down = true);
    let mut b = Browser::strict("");
    for _ in 0..3 {
        let a = b
            .get(&format!("{}/t/gdynia/logowanie", s.server.base))
            .await;
        refused_with(&a, 503, DomainError::OidcUnavailable);
    }
    assert_eq!(s.idp.discoveries(), 1);
}

#[tokio::test]
async fn client_secret_post_when_the_provider_offers_only_that() {
    let s = setup().await;
    s.idp.set(|b| b.auth_method = "client_secret_post".into());
    let mut b = Browser::strict("");
    let a = login(&s, &mut b, "/t/gdynia/").await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(who(&s, &mut b, "gdynia").await.contains("Anna Mieszkańska"));
}
