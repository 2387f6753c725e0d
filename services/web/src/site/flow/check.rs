//! Check answers (a "Zmień" link per answer), terms and consents (P-4), and the submit that
//! makes the booking through the same use case as the GraphQL `createBooking`.

use super::*;

pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

question_page! {
    CheckPage("site/check.html") {
        sections: Vec<Section>,
    }
}

question_page! {
    ConsentsPage("site/consents.html") {
        terms_title: String,
        terms_text: String,
        checks: Vec<Check>,
    }
}

/// The check answers page: each answer with its "Zmień" link.
pub(super) fn check_page(
    t: &TenantCtx,
    d: &Draft,
    who: Option<&Identity>,
    specs: &[okienko_domain::config::FieldSpec],
    a: Asked,
) -> Response {
    let tr = a.tr;
    let change = |step: Step| format!("{}?zmiana=1", url(t, step));
    let mut visit = Vec::new();
    if groups(t).len() > 1 {
        let name = groups(t)
            .into_iter()
            .find(|g| Some(&g.key) == d.group.as_ref())
            .map(|g| g.name)
            .unwrap_or_default();
        visit.push(Row {
            key: tr.t("check-group"),
            value: name,
            href: change(Step::Group),
        });
    }
    if let Some(svc) = service_of(t, d) {
        visit.push(Row {
            key: tr.t("check-service"),
            value: svc.cfg.name.clone(),
            href: change(Step::Service),
        });
    }
    if let Some(day) = d.day {
        visit.push(Row {
            key: tr.t("check-day"),
            value: date_long(&tr, t, day),
            href: change(Step::Day),
        });
    }
    if let Some(start) = d.start {
        visit.push(Row {
            key: tr.t("check-hour"),
            value: time_of(start),
            href: change(Step::Hour),
        });
    }
    let mut sections = vec![Section {
        title: tr.t("check-booking"),
        rows: visit,
    }];
    if !specs.is_empty() {
        sections.push(Section {
            title: tr.t("check-details"),
            rows: specs
                .iter()
                .map(|f| Row {
                    key: f.label.clone(),
                    value: d.field(&f.key).trim().to_string(),
                    href: change(Step::Details),
                })
                .collect(),
        });
    }
    let mut contact = Vec::new();
    let (name, email, phone) = contact_of(d, who);
    for (key, v) in [("f-name", name), ("f-email", email), ("f-phone", phone)] {
        if !v.trim().is_empty() {
            contact.push(Row {
                key: tr.t(key),
                value: v.trim().to_string(),
                href: change(Step::Contact),
            });
        }
    }
    if t.cfg.confirmation.sms_option {
        contact.push(Row {
            key: tr.t("check-sms"),
            value: tr.t(if d.sms { "yes" } else { "no" }),
            href: change(Step::Contact),
        });
    }
    sections.push(Section {
        title: tr.t("check-contact"),
        rows: contact,
    });
    a.show("check-title", |chrome, nav| CheckPage {
        sections,
        chrome,
        nav,
    })
}

/// Which page and field a refusal of `booking::create` belongs to (the policy names fields
/// as `fields.<key>` and `client.<name>`).
pub(super) fn place_of(e: &DomainError) -> (Step, String) {
    match e.field() {
        Some(f) if f.starts_with("fields.") => (Step::Details, format!("f-{}", &f[7..])),
        Some(f) if f.starts_with("client.") => (Step::Contact, format!("f-{}", &f[7..])),
        _ => match e.listed_code() {
            Some(
                Code::SlotFull
                | Code::SlotInPast
                | Code::TooSoon
                | Code::BeyondHorizon
                | Code::OutsideHours,
            ) => (Step::Hour, "hour-0".into()),
            Some(Code::SmsNeedsPhone) => (Step::Contact, "f-phone".into()),
            _ => (Step::Consents, "terms".into()),
        },
    }
}

pub(super) async fn submit(
    s: &HttpState,
    t: &TenantCtx,
    id: String,
    mut d: Draft,
    who: Option<&Identity>,
    specs: &[okienko_domain::config::FieldSpec],
    tr: Tr,
) -> Response {
    let (Some(svc), Some(start)) = (
        service_of(t, &d),
        d.start.and_then(|x| DateTime::from_timestamp(x, 0)),
    ) else {
        let open = first_open(t, &d, specs.len());
        drafts().put(&id, d).await;
        return see_other(&url(t, open), &[]);
    };
    let opt = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let req = CreateRequest {
        service_id: svc.id.to_string(),
        start,
        client: ClientData {
            name: opt(&d.name),
            email: opt(&d.email),
            phone: opt(&d.phone),
        },
        fields: d
            .fields
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .cloned()
            .collect(),
        accepted_terms_version: t.cfg.terms.version.clone(),
        consents: d.consents.clone(),
        channel: if d.sms {
            CodeChannel::Sms
        } else {
            CodeChannel::Email
        },
        idempotency_key: Some(d.key.clone()),
        resident_token: None,
    };
    // Logged in with the resident card (GD-5): booked with the login's data.
    let created = match who {
        Some(id) => booking::create_logged_in(&s.app, t, req, id).await,
        None => booking::create(&s.app, t, req).await,
    };
    match created {
        Ok(c) => {
            d.created = Some(Created {
                code: c.booking.code.clone(),
                token: c.token,
            });
            drafts().put(&id, d).await;
            see_other(&url(t, Step::Done), &[])
        }
        Err(e) => {
            let e = e.domain();
            let (step, field) = place_of(&e);
            let text = match (step, e.listed_code()) {
                (Step::Hour, Some(Code::SlotFull)) => tr.t("err-slot"),
                _ => field_message(&e),
            };
            if step == Step::Hour {
                d.start = None;
            }
            d.done.retain(|x| x != step.slug());
            d.errors.push((field, text));
            drafts().put(&id, d).await;
            see_other(&url(t, step), &[])
        }
    }
}

pub(super) fn consents_page(t: &TenantCtx, d: &Draft, a: Asked) -> Response {
    let tr = a.tr;
    let mut checks = vec![Check {
        id: "terms".into(),
        label: tr.ta(
            "terms-accept",
            &[
                ("title", &t.cfg.terms.title),
                ("version", &t.cfg.terms.version),
            ],
        ),
        hint: None,
        checked: d.terms,
        error: take_error(d, "terms"),
    }];
    for c in &t.cfg.consents {
        let id = format!("consent-{}", c.key);
        checks.push(Check {
            error: take_error(d, &id),
            label: if c.required {
                c.title()
            } else {
                format!("{} {}", c.title(), tr.t("optional"))
            },
            hint: Some(c.text.clone()),
            checked: d.consents.contains(&c.key),
            id,
        });
    }
    a.show("consents-title", |chrome, nav| ConsentsPage {
        chrome,
        nav,
        terms_title: t.cfg.terms.title.clone(),
        terms_text: t.cfg.terms.text.trim().to_string(),
        checks,
    })
}

/// The terms and consents ticked (P-4); the required ones must be.
pub(super) fn take_consents(t: &TenantCtx, d: &mut Draft, form: &[(String, String)], tr: Tr) {
    d.terms = value(form, "terms").is_some();
    d.consents = t
        .cfg
        .consents
        .iter()
        .filter(|c| value(form, &format!("consent-{}", c.key)).is_some())
        .map(|c| c.key.clone())
        .collect();
    if !d.terms {
        d.errors.push(("terms".into(), tr.t("err-terms")));
    }
    for c in t
        .cfg
        .consents
        .iter()
        .filter(|c| c.required && !d.consents.contains(&c.key))
    {
        d.errors.push((
            format!("consent-{}", c.key),
            tr.t1("err-consent", "title", &c.title()),
        ));
    }
}
