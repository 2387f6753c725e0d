//! The citizens' pages without a browser (issue 13): statuses and redirects of the booking
//! flow (W-3), the cross-site refusal of every POST, hostile input escaped wherever it is
//! shown, the city at its own host name (W-1), the security headers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::header;
use reqwest::redirect::Policy;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The draft cookie of a response (`okienko_wizyta=…`).
fn draft_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("okienko_wizyta="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a draft cookie")
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

struct Flow<'a> {
    s: &'a Server,
    c: reqwest::Client,
    cookie: String,
}

impl Flow<'_> {
    async fn begin<'a>(s: &'a Server, slug: &str) -> Flow<'a> {
        let c = client();
        let r = c
            .post(format!("{}/t/{slug}/wizyta", s.base))
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookie = draft_cookie(&r);
        assert!(location(&r).starts_with(&format!("/t/{slug}/wizyta/")));
        Flow { s, c, cookie }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.c
            .get(format!("{}{path}", self.s.base))
            .header(header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    /// A page's HTML.
    async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// Answers a choice step of `slug` with the first of its `name` inputs.
    async fn choose_first(&self, slug: &str, step: &str, name: &str) -> reqwest::Response {
        let path = format!("/t/{slug}/wizyta/{step}");
        let value = first_value(&self.page(&path).await, name);
        self.post(&path, &[(name, &value)]).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.c
            .post(format!("{}{path}", self.s.base))
            .header(header::COOKIE, &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// The value of the first `name="…" value="…"` input of a page.
fn first_value(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap();
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn pages_answer_with_html_headers_and_redirects() {
    let s = Server::start().await;
    let c = client();
    let r = c.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let body = r.text().await.unwrap();
    assert!(
        body.contains("href=\"/t/gdynia/\"") && !body.contains("/graphql"),
        "{body}"
    );

    // The city's start page instead of JSON; GraphiQL stays at /graphql.
    let r = c.get(format!("{}/t/gdynia/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("<html lang=\"pl\">"));
    let r = c.get(format!("{}/t/nikt/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(format!("{}/t/gdynia/?lang=uk", s.base))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("okienko_lang=uk"), "{cookie}");
    assert!(r.text().await.unwrap().contains("<html lang=\"uk\">"));

    // Logos and the city's colours, cached long.
    let r = c
        .get(format!("{}/static/opole/logo.svg", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/svg+xml");
    let r = c
        .get(format!("{}/t/opole/marka.css", s.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(r.text().await.unwrap().contains("--brand:#0b3d91"));

    // A step without a draft says to start again; a later step than answered redirects back.
    let r = c
        .get(format!("{}/t/opole/wizyta/godzina", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Zacznij od nowa"));
    let f = Flow::begin(&s, "opole").await;
    let r = f.get("/t/opole/wizyta/zgody").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/t/opole/wizyta/usluga");
    // An empty answer: back to the same page, whose title then starts "Błąd:".
    let r = f.post("/t/opole/wizyta/usluga", &[]).await;
    assert_eq!(location(&r), "/t/opole/wizyta/usluga");
    let page = f.get("/t/opole/wizyta/usluga").await.text().await.unwrap();
    assert!(page.contains("<title>Błąd: "), "{page}");
    assert!(page.contains("href=\"#service-0\""), "{page}");
    // The draft belongs to its city: another city's pages do not see it (P-1).
    let r = f.get("/t/gdynia/wizyta/usluga").await;
    assert!(r.text().await.unwrap().contains("Zacznij od nowa"));
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let s = Server::start().await;
    let f = Flow::begin(&s, "cieszyn").await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let r =
            f.c.post(format!("{}/t/cieszyn/wizyta/usluga", s.base))
                .header(header::COOKIE, &f.cookie)
                .header(name, value)
                .form(&[("service", "1")])
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 403, "{value}");
    }
    let r =
        f.c.post(format!("{}/t/cieszyn/wizyta", s.base))
            .header(header::ORIGIN, "https://evil.example")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers().get(header::SET_COOKIE).is_none(),
        "no draft for a forged start"
    );
}

#[tokio::test]
async fn hostile_input_is_escaped_in_every_field() {
    let s = Server::start().await;
    let f = Flow::begin(&s, "zielona-gora").await;
    f.choose_first("zielona-gora", "usluga", "service").await;
    f.choose_first("zielona-gora", "dzien", "day").await;
    let r = f.choose_first("zielona-gora", "godzina", "start").await;
    assert_eq!(location(&r), "/t/zielona-gora/wizyta/sprawa");

    let evil = "<script>alert(1)</script>\"'&";
    let fields = [
        ("f-registration_number", evil),
        ("f-vin_tail", evil),
        ("f-owner_name", evil),
        ("f-proxy_name", evil),
    ];
    f.post("/t/zielona-gora/wizyta/sprawa", &fields).await;
    let page = f.page("/t/zielona-gora/wizyta/sprawa").await;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#38;"),
        "{page}"
    );
    // The owner's name is plain text and accepted: it shows, escaped, on the check page.
    f.post(
        "/t/zielona-gora/wizyta/sprawa",
        &[
            ("f-registration_number", "FZ 4821K"),
            ("f-owner_name", evil),
            ("f-proxy_name", ""),
        ],
    )
    .await;
    let contact = [("f-name", evil), ("f-email", evil), ("f-phone", evil)];
    f.post("/t/zielona-gora/wizyta/kontakt", &contact).await;
    let page = f.page("/t/zielona-gora/wizyta/kontakt").await;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("<title>Błąd: "));
    f.post(
        "/t/zielona-gora/wizyta/kontakt",
        &[
            ("f-name", "Jan Kowalski"),
            ("f-email", "jan@example.pl"),
            ("f-phone", "601 234 567"),
        ],
    )
    .await;
    let r = f.get("/t/zielona-gora/wizyta/sprawdz").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&#60;script&#62;"), "{page}");
    assert_eq!(
        page.matches(">Zmień<").count(),
        10,
        "a change link per answer: {page}"
    );
}

#[tokio::test]
async fn a_city_is_served_at_its_own_host_name() {
    let s = Server::start().await;
    let r = client()
        .get(format!("{}/", s.base))
        .header(header::HOST, "rezerwacja.cieszyn.okienko.local")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Urząd Miejski w Cieszynie"), "{page}");
    assert!(page.contains("action=\"/t/cieszyn/wizyta\""), "{page}");
    let r = client()
        .get(format!("{}/", s.base))
        .header(header::HOST, "inny.example.pl")
        .send()
        .await
        .unwrap();
    assert!(
        r.text().await.unwrap().contains("href=\"/t/cieszyn/\""),
        "the list of cities"
    );
}

/// What a first visit of a page transfers: the page and the style sheets, scripts and images
/// it links to (issue 13: under 60 KB each).
async fn weight(f: &Flow<'_>, path: &str) -> usize {
    let r = f.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    let page = r.text().await.unwrap();
    let mut total = page.len();
    for attr in [
        "<link rel=\"stylesheet\" href=\"",
        "<script src=\"",
        "<img src=\"",
    ] {
        for (at, _) in page.match_indices(attr) {
            let rest = &page[at + attr.len()..];
            let asset = &rest[..rest.find('"').unwrap()];
            let r = f.get(asset).await;
            assert_eq!(r.status(), 200, "{asset} of {path}");
            total += r.bytes().await.unwrap().len();
        }
    }
    total
}

#[tokio::test]
async fn every_page_of_a_booking_weighs_under_60_kb_with_its_assets() {
    let s = Server::start().await;
    let f = Flow::begin(&s, "zielona-gora").await;
    let mut weights = vec![
        ("/", weight(&f, "/").await),
        ("start", weight(&f, "/t/zielona-gora/").await),
        (
            "statement",
            weight(&f, "/t/zielona-gora/deklaracja-dostepnosci").await,
        ),
    ];
    let steps: [(&str, Vec<(&str, String)>); 7] = [
        ("usluga", vec![("service", String::new())]),
        ("dzien", vec![("day", String::new())]),
        ("godzina", vec![("start", String::new())]),
        (
            "sprawa",
            vec![
                ("f-registration_number", "FZ 4821K".into()),
                ("f-owner_name", "Jan Kowalski".into()),
            ],
        ),
        (
            "kontakt",
            vec![
                ("f-name", "Jan Kowalski".into()),
                ("f-email", "jan@example.pl".into()),
                ("f-phone", "601 234 567".into()),
            ],
        ),
        ("sprawdz", vec![]),
        ("zgody", vec![]),
    ];
    for (step, answers) in steps {
        let path = format!("/t/zielona-gora/wizyta/{step}");
        weights.push((step, weight(&f, &path).await));
        let page = f.page(&path).await;
        let mut form: Vec<(String, String)> = answers
            .into_iter()
            .map(|(k, v)| {
                let v = if v.is_empty() {
                    first_value(&page, k)
                } else {
                    v
                };
                (k.to_string(), v)
            })
            .collect();
        // Every consent and the terms, as the citizen ticks them.
        for (at, _) in page.match_indices("type=\"checkbox\" id=\"") {
            let rest = &page[at + 20..];
            form.push((rest[..rest.find('"').unwrap()].to_string(), "1".into()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (&**k, &**v)).collect();
        let r = f.post(&path, &form).await;
        assert_eq!(r.status(), 303, "{step}");
    }
    let done = f.page("/t/zielona-gora/wizyta/gotowe").await;
    assert!(done.contains("class=\"code\""), "{done}");
    weights.push(("gotowe", weight(&f, "/t/zielona-gora/wizyta/gotowe").await));
    for (page, bytes) in &weights {
        assert!(*bytes < 60_000, "{page}: {bytes} bytes with its assets");
    }
    // The heaviest is reported for load-tests/RESULTS.md.
    let (page, bytes) = weights.iter().max_by_key(|(_, b)| *b).unwrap();
    eprintln!("heaviest page: {page}, {bytes} bytes with its assets");
}

#[tokio::test]
async fn a_kept_day_page_is_served_only_for_its_own_language_and_errors() {
    let s = Server::start().await;
    let f = Flow::begin(&s, "zielona-gora").await;
    f.choose_first("zielona-gora", "usluga", "service").await;
    // The Polish page, drawn and then kept: the same bytes again.
    let first = f.page("/t/zielona-gora/wizyta/dzien").await;
    assert!(first.contains("Wybierz dzień"), "{first}");
    let again = f.page("/t/zielona-gora/wizyta/dzien").await;
    assert_eq!(first, again);
    // Another language is its own page, not the kept Polish one.
    let english =
        f.c.get(format!("{}/t/zielona-gora/wizyta/dzien", s.base))
            .header(header::COOKIE, format!("{}; okienko_lang=en", f.cookie))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(english.contains("Choose a day"), "{english}");
    // An empty answer comes back with its error, never the kept page without it.
    f.post("/t/zielona-gora/wizyta/dzien", &[]).await;
    let refused = f.page("/t/zielona-gora/wizyta/dzien").await;
    assert!(refused.contains("<title>Błąd: "), "{refused}");
}

/// P-7 on the pages: a client over the city's read limit gets a page in its language saying
/// how long to wait (429 with Retry-After), not the API's JSON; another client is served.
#[tokio::test]
async fn a_client_over_the_read_limit_gets_a_page_saying_how_long_to_wait() {
    let s = Server::with_env(&[("OKIENKO_RATE_LIMITS", "on")]).await;
    let http = reqwest::Client::new();
    let get = |lang: &'static str| {
        http.get(format!("{}/t/cieszyn/", s.base))
            .header("cookie", format!("okienko_lang={lang}"))
            .send()
    };
    let mut limited = None;
    for _ in 0..400 {
        let r = get("pl").await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let r = limited.expect("the read limit (300 a minute) was never reached");
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let body = r.text().await.unwrap();
    assert!(
        body.contains("<html lang=\"pl\">") && body.contains("Zbyt wiele zapytań"),
        "{body}"
    );
    let en = get("en").await.unwrap();
    assert_eq!(en.status(), 429);
    assert!(en.text().await.unwrap().contains("Too many requests"));
    // Another client address is its own budget.
    let other = http
        .get(format!("{}/t/gdynia/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another city's budget is its own");
}
