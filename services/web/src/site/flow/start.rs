//! The start page (what can be booked, what to bring, whom to phone; OP-2's matters as
//! information) and the POST that begins a booking's draft.

use super::*;

#[derive(Template)]
#[template(path = "site/start.html")]
pub(super) struct StartPage {
    pub(super) chrome: Chrome,
    pub(super) post: String,
    /// (group name, services)
    pub(super) bookable: Vec<(String, Vec<String>)>,
    /// (service, where to go)
    pub(super) info: Vec<(String, String)>,
    pub(super) phones: Vec<(String, String)>,
}

// ---------------------------------------------------------------------------------------------
// Start

/// The city of the start page (`open_city`) and the page's address.
#[allow(clippy::result_large_err)]
async fn open_start(
    s: &HttpState,
    slug: &str,
    v: &Visit,
    post: bool,
) -> Result<(Arc<TenantCtx>, String), Response> {
    let path = format!("/t/{slug}/");
    let t = open_city(s, slug, v.lang, &path, v.peer, &v.headers, post).await?;
    Ok((t, path))
}

/// `GET /t/{slug}/`: what can be booked, what to bring, whom to phone, what is not booked (OP-2).
pub async fn start_page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    v: Visit,
) -> Response {
    let (t, path) = match open_start(&s, &slug, &v, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (lang, cookies) = (v.lang, v.cookies);
    let tr = Tr::new(lang);
    let bookable = groups(&t)
        .into_iter()
        .map(|g| {
            let names = t
                .services
                .iter()
                .filter(|s| s.cfg.bookable && group_key(s) == g.key)
                .map(|s| s.cfg.name.clone())
                .collect();
            (g.name, names)
        })
        .collect();
    let info = t
        .services
        .iter()
        .filter(|s| !s.cfg.bookable)
        .map(|s| (s.cfg.name.clone(), s.cfg.info.clone().unwrap_or_default()))
        .collect();
    let phones = t
        .offices
        .iter()
        .filter_map(|o| {
            o.cfg
                .phone
                .clone()
                .map(|p| (o.cfg.name.clone(), tr.t1("start-phone-text", "phone", &p)))
        })
        .collect();
    html(
        StatusCode::OK,
        &StartPage {
            chrome: Chrome::new(lang, &path, tr.t("start-title"), Some(&t)),
            post: format!("/t/{}/wizyta", t.slug),
            bookable,
            info,
            phones,
        },
        &cookies,
        false,
    )
}

/// `POST /t/{slug}/wizyta`: a new draft, then the first question.
pub async fn begin(State(s): State<HttpState>, Path(slug): Path<String>, v: Visit) -> Response {
    let t = match open_start(&s, &slug, &v, true).await {
        Ok((t, _)) => t,
        Err(r) => return r,
    };
    let (id, mut d) = drafts().start(t.id.0).await;
    let gs = groups(&t);
    if gs.len() == 1 {
        d.group = gs.into_iter().next().map(|g| g.key);
    }
    let first = first_open(&t, &d, 0);
    drafts().put(&id, d).await;
    see_other(&url(&t, first), &[draft::set_cookie(&id, secure(&s))])
}
