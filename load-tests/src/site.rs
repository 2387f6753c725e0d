//! `throughput day-page`: the citizens' day page of a service (`GET /t/{slug}/wizyta/dzien`),
//! the page a release sends everyone to, in a closed loop (issue 13, item 8).
//!
//! Each virtual user first walks the booking flow as a browser would, once, with a client of
//! its own that does not follow redirects: `POST /t/{slug}/wizyta` gives the draft's cookie, then
//! the office or department and a random service are chosen from the radios of their pages.
//! From then on it asks for the day page again and again with that cookie; the availability
//! behind it comes from the usage cache after the first read, as on the GraphQL API.

use std::sync::OnceLock;

use anyhow::{bail, Context};
use goose::prelude::*;
use rand::seq::SliceRandom;
use serde_json::Value;

use crate::stats::Answer;

/// The draft's cookie (`okienko_web::site::draft::COOKIE`).
const DRAFT_COOKIE: &str = "okienko_wizyta";
/// What the day page says of itself when it shows a service's days (its form posts there).
const DAY_FORM: &str = "/wizyta/dzien\"";

/// The draft of one virtual user: its `Cookie` header.
#[derive(Clone)]
struct Draft(String);

fn setup_client() -> &'static reqwest::Client {
    static C: OnceLock<reqwest::Client> = OnceLock::new();
    C.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// The values of the radios named `name` on a page.
fn radios(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest.split('"').next().map(String::from)
        })
        .collect()
}

/// One step of the walk: a POST of `form` (or a GET when None) with the draft's cookie;
/// answers the `Location` of the redirect and, for a GET, the page.
async fn step(
    base: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> anyhow::Result<(reqwest::header::HeaderMap, String)> {
    let http = setup_client();
    let url = format!("{base}{path}");
    let mut req = match form {
        Some(f) => http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                f.iter()
                    .map(|(k, v)| format!("{k}={}", urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            ),
        None => http.get(&url),
    };
    // The pages' cross-site check (Fetch Metadata), as a browser sends it.
    req = req.header("sec-fetch-site", "same-origin");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.with_context(|| url.clone())?;
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap_or_default();
    if !(status.is_success() || status.is_redirection()) {
        bail!("{url}: HTTP {status}");
    }
    Ok((headers, body))
}

fn location(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get("location")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

/// Percent-encodes a form value (the values here are ids and keys: ASCII, `/` possibly).
/// Hand-written: reqwest's `form` feature would add a dependency for these few bytes.
fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Walks the flow up to the day page of a random service: the `Cookie` header of its draft.
async fn walk_to_day(base: &str, slug: &str) -> anyhow::Result<String> {
    let (h, _) = step(base, &format!("/t/{slug}/wizyta"), None, Some(&[])).await?;
    let set = h
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .context("no draft cookie")?;
    let cookie = set.split(';').next().unwrap_or_default().to_string();
    if !cookie.starts_with(DRAFT_COOKIE) {
        bail!("unexpected cookie {cookie}");
    }
    let mut next = location(&h).context("no redirect after the start")?;
    for _ in 0..4 {
        if next.ends_with("/wizyta/dzien") {
            return Ok(cookie);
        }
        let (_, page) = step(base, &next, Some(&cookie), None).await?;
        let name = if next.ends_with("/wizyta/wydzial") {
            "group"
        } else if next.ends_with("/wizyta/usluga") {
            "service"
        } else {
            bail!("unexpected step {next}");
        };
        let values = radios(&page, name);
        let pick = values
            .choose(&mut rand::thread_rng())
            .with_context(|| format!("no {name} to choose on {next}"))?;
        let (h, _) = step(base, &next, Some(&cookie), Some(&[(name, pick)])).await?;
        next = location(&h).with_context(|| format!("no redirect after {next}"))?;
    }
    bail!("the flow did not reach the day page (last: {next})")
}

fn slug() -> &'static str {
    crate::ctx()
        .path
        .trim_start_matches("/t/")
        .split('/')
        .next()
        .unwrap_or_default()
}

/// on_start: each virtual user's own draft, at the day page.
pub async fn start(user: &mut GooseUser) -> TransactionResult {
    let base = user.base_url.as_str().trim_end_matches('/').to_string();
    match walk_to_day(&base, slug()).await {
        Ok(cookie) => user.set_session_data(Draft(cookie)),
        Err(e) => eprintln!("day-page set-up: {e:#}"),
    }
    Ok(())
}

/// The day page with the user's draft; a page that is not the day page counts as a failure.
pub async fn day_page(user: &mut GooseUser) -> TransactionResult {
    let Some(Draft(cookie)) = user.get_session_data::<Draft>() else {
        return Ok(());
    };
    let cookie = cookie.clone();
    let path = format!("/t/{}/wizyta/dzien", slug());
    let from = crate::random_address(6);
    let builder = user
        .get_request_builder(&GooseMethod::Get, &path)?
        .header("x-forwarded-for", from)
        .header("cookie", cookie);
    let request = GooseRequest::builder()
        .set_request_builder(builder)
        .name("day-page")
        .build();
    crate::send(user, "day-page", request, |status, bytes| {
        let ok = status == 200 && contains(bytes, DAY_FORM.as_bytes());
        Answer::new(
            status,
            Value::Null,
            Some(if ok { "ok" } else { "not the day page" }),
        )
    })
    .await?;
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radios_are_read_in_page_order() {
        let html = r#"<input type="radio" id="a" name="group" value="7"><input type="radio" id="b" name="group" value="7/wsp"><input name="other" value="x">"#;
        assert_eq!(radios(html, "group"), vec!["7", "7/wsp"]);
        assert!(radios(html, "service").is_empty());
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(urlencode("7/wsp ą"), "7%2Fwsp%20%C4%85");
    }
}
