//! The code field reachable from the e-mail (OP-7): a preliminary booking confirmed by the code
//! sent by e-mail or SMS, from the booking's page behind the e-mailed link, in whatever browser.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use okienko_app::booking;

use super::i18n::Tr;
use super::{
    code_limit, csrf, html, lang_of, message, see_other, tenant, Chrome, ErrorItem, LangQuery,
};
use crate::rate_limit::Peer;
use crate::state::HttpState;

#[derive(Template)]
#[template(path = "site/code.html")]
struct CodePage {
    chrome: Chrome,
    lead: String,
    post: String,
    typed: String,
    error: Option<String>,
}

fn page(
    chrome: Chrome,
    tr: Tr,
    minutes: u32,
    post: String,
    typed: String,
    error: Option<String>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(
        status,
        &CodePage {
            lead: tr.t1("done-code-lead", "minutes", &minutes.to_string()),
            chrome,
            post,
            typed,
            error,
        },
        &[],
        true,
    )
}

/// `GET /t/{slug}/rezerwacja/{token}/kod`.
pub async fn code_page(
    State(s): State<HttpState>,
    Path((slug, token)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, _) = lang_of(&q, &headers);
    let path = format!("/t/{slug}/rezerwacja/{token}/kod");
    let t = match tenant(&s, &slug, lang, &path) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let tr = Tr::new(lang);
    if let Err(e) = booking::by_token(&s.app, &t, &token).await {
        return message(
            StatusCode::NOT_FOUND,
            Chrome::new(lang, &path, tr.t("err-generic"), Some(&t)),
            vec![e.domain().to_string()],
            None,
        );
    }
    let chrome = Chrome::new(lang, &path, tr.t("code-button"), Some(&t));
    page(
        chrome,
        tr,
        t.cfg.confirmation.ttl_minutes,
        path.clone(),
        String::new(),
        None,
    )
}

/// `POST /t/{slug}/rezerwacja/{token}/kod`: confirms, then the booking's page.
pub async fn code_submit(
    State(s): State<HttpState>,
    Path((slug, token)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (lang, _) = lang_of(&q, &headers);
    let path = format!("/t/{slug}/rezerwacja/{token}/kod");
    let t = match tenant(&s, &slug, lang, &path) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let tr = Tr::new(lang);
    if !csrf::same_origin(&headers) {
        return message(
            StatusCode::FORBIDDEN,
            Chrome::new(lang, &path, tr.t("err-generic"), Some(&t)),
            vec![tr.t("err-cross-site")],
            None,
        );
    }
    if let Err(r) = code_limit(&s, &t, peer, &headers).await {
        return r;
    }
    let typed: String = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.chars().take(20).collect())
        .unwrap_or_default();
    match booking::confirm(&s.app, &t, &token, Some(typed.trim())).await {
        Ok(_) => see_other(&format!("/t/{}/rezerwacja/{token}", t.slug), &[]),
        Err(e) => {
            let text = e.domain().to_string();
            let mut chrome = Chrome::new(lang, &path, tr.t("code-button"), Some(&t));
            chrome.errors = vec![ErrorItem {
                id: "code".into(),
                text: text.clone(),
            }];
            page(
                chrome,
                tr,
                t.cfg.confirmation.ttl_minutes,
                path.clone(),
                typed,
                Some(text),
            )
        }
    }
}
