//! The office (or department) and service questions: radios, one question per page.

use super::*;

pub struct Choice {
    pub id: String,
    pub value: String,
    pub label: String,
    pub checked: bool,
}

question_page! {
    ChoicePage("site/choice.html") {
        lead: Option<String>,
        name: &'static str,
        choices: Vec<Choice>,
        error: Option<String>,
    }
}

pub(super) fn group_page(t: &TenantCtx, d: &Draft, mut a: Asked) -> Response {
    // The first question: nothing to go back to.
    a.nav.back = None;
    let choices = groups(t)
        .into_iter()
        .enumerate()
        .map(|(i, g)| Choice {
            id: format!("group-{i}"),
            checked: d.group.as_deref() == Some(g.key.as_str()),
            value: g.key,
            label: g.name,
        })
        .collect();
    a.show("group-title", |chrome, nav| ChoicePage {
        error: take_error(d, "group-0"),
        chrome,
        nav,
        lead: None,
        name: "group",
        choices,
    })
}

pub(super) fn service_page(t: &TenantCtx, d: &Draft, a: Asked) -> Response {
    let group = d.group.clone();
    let choices: Vec<Choice> = t
        .services
        .iter()
        .filter(|s| s.cfg.bookable && group.as_ref().is_none_or(|g| &group_key(s) == g))
        .enumerate()
        .map(|(i, s)| Choice {
            id: format!("service-{i}"),
            value: s.id.to_string(),
            label: s.cfg.name.clone(),
            checked: d.service == Some(s.id),
        })
        .collect();
    let lead = Some(a.tr.t("service-lead"));
    a.show("service-title", |chrome, nav| ChoicePage {
        error: take_error(d, "service-0"),
        chrome,
        nav,
        lead,
        name: "service",
        choices,
    })
}

/// The office or department chosen; another one than before drops what depended on it.
pub(super) fn take_group(t: &TenantCtx, d: &mut Draft, form: &[(String, String)], tr: Tr) {
    match value(form, "group").filter(|g| groups(t).iter().any(|x| x.key == *g)) {
        Some(g) => {
            if d.group.as_deref() != Some(g) {
                d.group = Some(g.to_string());
                d.service = None;
                reset_after_service(d);
            }
        }
        None => d.errors.push(("group-0".into(), tr.t("err-group"))),
    }
}

/// The service chosen (of the office chosen); another one than before drops its answers.
pub(super) fn take_service(t: &TenantCtx, d: &mut Draft, form: &[(String, String)], tr: Tr) {
    let chosen = value(form, "service")
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|id| t.service(id))
        .filter(|x| x.cfg.bookable && d.group.as_ref().is_none_or(|g| &group_key(x) == g));
    match chosen {
        Some(svc) => {
            if d.service != Some(svc.id) {
                d.service = Some(svc.id);
                reset_after_service(d);
            }
        }
        None => d.errors.push(("service-0".into(), tr.t("err-service"))),
    }
}
