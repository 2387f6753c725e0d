//! What happens next: the booking's code (CI-12), the visit, and the code field (OP-7).

use super::*;

#[derive(Template)]
#[template(path = "site/done.html")]
pub(super) struct DonePage {
    pub(super) chrome: Chrome,
    pub(super) heading: String,
    pub(super) code: String,
    pub(super) rows: Vec<Row>,
    pub(super) next: Vec<String>,
    /// The code field (OP-7): where it posts, the value typed, its error.
    pub(super) code_form: Option<(String, String, Option<String>)>,
    pub(super) again: String,
    pub(super) confirmed: bool,
}

pub(super) async fn done_page(
    s: &HttpState,
    t: &TenantCtx,
    d: &Draft,
    tr: Tr,
    mut chrome: Chrome,
    cookies: &[String],
) -> Response {
    let Some(created) = &d.created else {
        return session_gone(t, tr.lang, "/");
    };
    let b = match booking::by_token(&s.app, t, &created.token).await {
        Ok(b) => b,
        Err(e) => return error_response(t, tr, chrome, &e.domain()),
    };
    let status = booking::status_of(&b);
    use okienko_domain::booking::BookingStatus as S;
    let minutes = t.cfg.confirmation.ttl_minutes.to_string();
    let (heading, next, code_form) = match (status, t.cfg.confirmation.mode) {
        (S::Confirmed, ConfirmationMode::Immediate) => (
            tr.t("done-title"),
            vec![tr.t("done-immediate"), tr.t("done-bring")],
            None,
        ),
        (S::Confirmed, _) => (
            tr.t("done-title"),
            vec![tr.t("done-confirmed"), tr.t("done-bring")],
            None,
        ),
        (S::Pending, ConfirmationMode::EmailLink) => (
            tr.t("done-pending-title"),
            vec![tr.t1("done-link", "minutes", &minutes)],
            None,
        ),
        (S::Pending, _) => (
            tr.t("done-pending-title"),
            vec![tr.t1("done-code-lead", "minutes", &minutes)],
            Some((
                url(t, Step::Done),
                d.typed_code.clone(),
                take_error(d, "code"),
            )),
        ),
        _ => (
            tr.t("err-generic"),
            vec![booking::refusal_for(&b).to_string()],
            None,
        ),
    };
    chrome.title = heading.clone();
    let svc = t.service(b.service_id);
    let office = svc.and_then(|x| t.office(x.office_id));
    let local = to_local(DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default());
    let mut rows = vec![
        Row {
            key: tr.t("check-service"),
            value: svc.map(|x| x.cfg.name.clone()).unwrap_or_default(),
            href: String::new(),
        },
        Row {
            key: tr.t("check-day"),
            value: date_long(&tr, t, local.date()),
            href: String::new(),
        },
        Row {
            key: tr.t("check-hour"),
            value: local.format("%H:%M").to_string(),
            href: String::new(),
        },
    ];
    if let Some(o) = office {
        rows.push(Row {
            key: o.cfg.name.clone(),
            value: o.cfg.address.clone(),
            href: String::new(),
        });
    }
    let page = DonePage {
        chrome,
        heading,
        code: b.code.clone(),
        rows,
        next,
        code_form,
        again: format!("/t/{}/wizyta", t.slug),
        confirmed: status == S::Confirmed,
    };
    html(StatusCode::OK, &page, cookies, true)
}
