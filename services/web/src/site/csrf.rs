//! Cross-site request forgery: every POST of the citizen pages passes [`same_origin`].
//!
//! The rule (Fetch Metadata, as browsers since 2020–2023 send it): a browser labels each
//! request with `Sec-Fetch-Site`; a form on another site posting here says `cross-site`, a
//! sibling subdomain `same-site`; both are refused, since the pages post only to themselves.
//! `same-origin` passes, and so does `none` (the user typed or bookmarked the address; no page
//! caused the request). Older browsers that send no `Sec-Fetch-Site` still send `Origin` on a
//! POST (or at least `Referer`): its host must be this request's `Host`. A request with none
//! of the three is no browser's form submission (curl, tests) and carries no ambient
//! authority a forger could borrow: the draft cookie is also `SameSite=Lax`, so a cross-site
//! POST would arrive without it anyway. No token is needed, which keeps the pages cacheable
//! and the forms plain; this is the rule the pages behind e-mailed links already follow.

use axum::http::{header, HeaderMap, HeaderValue};

/// Whether a POST with these headers comes from this site's own pages.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let text = |h: header::HeaderName| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(host) = text(header::HOST) else {
        return text(header::ORIGIN).is_none() && text(header::REFERER).is_none();
    };
    let from = text(header::ORIGIN)
        .filter(|o| *o != "null")
        .or_else(|| text(header::REFERER));
    match from {
        Some(url) => authority(url).is_some_and(|a| a.eq_ignore_ascii_case(host)),
        // `Origin: null` without a Referer: an opaque origin (a sandboxed frame), refused.
        None => text(header::ORIGIN).is_none(),
    }
}

/// `https://host:port/path` → `host:port`.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(same_origin(&h(&[("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&h(&[("sec-fetch-site", "none")])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")])));
        // Metadata wins over a forged-looking but matching Origin.
        assert!(!same_origin(&h(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://a.pl"),
            ("host", "a.pl")
        ])));
    }

    #[test]
    fn origin_then_referer_without_metadata() {
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&h(&[
            host,
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&h(&[
            host,
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&h(&[host, ("origin", "null")])));
        assert!(same_origin(&h(&[
            host,
            ("referer", "http://127.0.0.1:8080/t/opole/wizyta")
        ])));
        assert!(!same_origin(&h(&[
            host,
            ("referer", "http://127.0.0.1:8081/x")
        ])));
        assert!(same_origin(&h(&[host])), "no browser: nothing to forge");
    }
}
