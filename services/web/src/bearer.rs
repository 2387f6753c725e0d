//! The bearer token of a request, read from its `Authorization` header for
//! `okienko_app::auth::authenticate`.

use axum::http::{header, HeaderMap};

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_read_from_the_header() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Bearer oks_abc".parse().expect("header"),
        );
        assert_eq!(bearer(&h), Some("oks_abc"));
        h.insert(header::AUTHORIZATION, "Basic x".parse().expect("header"));
        assert_eq!(bearer(&h), None);
    }
}
