//! The form pages: the service's own questions and the contact details, with Gdynia's
//! resident-card login (GD-5) whose data are shown instead of asked for.

use super::*;

pub struct Input {
    pub id: String,
    pub label: String,
    /// `text`, `email`, `tel`, `date`.
    pub kind: &'static str,
    pub value: String,
    pub required: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autocomplete: &'static str,
}

question_page! {
    FormPage("site/form.html") {
        lead: Option<String>,
        /// The resident-card login (GD-5), where the city offers it.
        card: Option<CardPanel>,
        inputs: Vec<Input>,
        checks: Vec<Check>,
    }
}

/// The resident-card login's panel on the contact page (GD-5): before the login, the link that
/// starts it; after, the data from the card (shown, not typed) and the button that forgets them.
pub(super) struct CardPanel {
    pub(super) lead: String,
    /// The login's address, coming back to this page.
    pub(super) login: Option<String>,
    /// (label, value) from the login's claims.
    pub(super) rows: Vec<(String, String)>,
}

/// The identity logged in with the city's resident card in this browser (GD-5), where the city
/// offers the login; a forged, expired or other city's cookie is none (`login::logged_in`).
pub(super) fn resident(s: &HttpState, t: &TenantCtx, headers: &HeaderMap) -> Option<Identity> {
    if !oidc::offered(t) {
        return None;
    }
    crate::login::logged_in(&s.app, t, headers)
}

/// The contact data booked: the login's where it has them, else what was typed.
pub(super) fn contact_of(d: &Draft, who: Option<&Identity>) -> (String, String, String) {
    match who {
        Some(id) => (
            id.name.clone(),
            id.email.clone().unwrap_or_else(|| d.email.clone()),
            id.phone.clone().unwrap_or_else(|| d.phone.clone()),
        ),
        None => (d.name.clone(), d.email.clone(), d.phone.clone()),
    }
}

/// Which contact fields the login's claims fill (those are shown, not typed).
pub(super) fn from_card(who: Option<&Identity>, field: ClientField) -> bool {
    match (who, field) {
        (None, _) => false,
        (Some(_), ClientField::Name) => true,
        (Some(id), ClientField::Email) => id.email.is_some(),
        (Some(id), ClientField::Phone) => id.phone.is_some(),
    }
}

pub(super) fn contact_page(t: &TenantCtx, d: &Draft, who: Option<&Identity>, a: Asked) -> Response {
    let tr = a.tr;
    let change = a.nav.change;
    let required = &t.cfg.booking.required_client_fields;
    // A city that asks for more than the e-mail address offers the other fields too, as
    // optional; one that asks for the e-mail only (CI-11) asks nothing else.
    let offer_optional = required.len() > 1;
    let mut inputs = Vec::new();
    let mut card_rows = Vec::new();
    let mut add = |field: ClientField,
                   id: &str,
                   kind: &'static str,
                   value: &str,
                   ac: &'static str,
                   hint: Option<String>| {
        let req = required.contains(&field);
        let shown =
            req || offer_optional || (field == ClientField::Phone && t.cfg.confirmation.sms_option);
        if !shown {
            return;
        }
        if from_card(who, field) {
            card_rows.push((tr.t(id), value.to_string()));
            return;
        }
        inputs.push(Input {
            id: id.into(),
            label: tr.t(id),
            kind,
            value: value.into(),
            required: req,
            hint,
            error: take_error(d, id),
            autocomplete: ac,
        });
    };
    let (name, email, phone) = contact_of(d, who);
    add(ClientField::Name, "f-name", "text", &name, "name", None);
    add(
        ClientField::Email,
        "f-email",
        "email",
        &email,
        "email",
        None,
    );
    add(
        ClientField::Phone,
        "f-phone",
        "tel",
        &phone,
        "tel",
        Some(tr.t("f-phone-help")),
    );
    let mut checks = Vec::new();
    if t.cfg.confirmation.mode == ConfirmationMode::EmailCode && t.cfg.confirmation.sms_option {
        checks.push(Check {
            id: "f-sms".into(),
            label: tr.t("f-sms"),
            hint: None,
            checked: d.sms,
            error: None,
        });
    }
    // The resident-card login (GD-5): offered where the city's `[oidc]` provider is configured
    // with its secret (`oidc::offered`); `[resident_card]` is the GraphQL API's resident token
    // and has nothing to do with these pages. The login comes back to this page.
    let card = match who {
        _ if !oidc::offered(t) => None,
        None => {
            let mut back_here = url(t, Step::Contact);
            if change {
                back_here.push_str("?zmiana=1");
            }
            Some(CardPanel {
                lead: tr.t("resident-lead"),
                login: Some(oidc::login_path(t, &back_here)),
                rows: Vec::new(),
            })
        }
        Some(_) => Some(CardPanel {
            lead: tr.t("resident-shown"),
            login: None,
            rows: card_rows,
        }),
    };
    a.show("contact-title", |chrome, nav| FormPage {
        chrome,
        nav,
        lead: Some(tr.t("contact-lead")),
        card,
        inputs,
        checks,
    })
}

/// A validator of one contact field (`okienko_domain::validate`).
pub(super) type Validator = fn(&str, &str) -> Result<String, DomainError>;

pub(super) fn check_contact(t: &TenantCtx, d: &mut Draft, who: Option<&Identity>, tr: Tr) {
    let required = t.cfg.booking.required_client_fields.clone();
    let checks: [(ClientField, &str, String, Validator); 3] = [
        (ClientField::Name, "f-name", d.name.clone(), validate::name),
        (
            ClientField::Email,
            "f-email",
            d.email.clone(),
            validate::email,
        ),
        (
            ClientField::Phone,
            "f-phone",
            d.phone.clone(),
            validate::phone,
        ),
    ];
    for (field, id, v, check) in checks {
        // The login's claims are the provider's, checked when the booking is made.
        if from_card(who, field) {
            continue;
        }
        let v = v.trim();
        if v.is_empty() {
            if required.contains(&field) {
                d.errors
                    .push((id.into(), tr.t1("err-required", "label", &tr.t(id))));
            }
        } else if let Err(e) = check(id, v) {
            d.errors.push((id.into(), field_message(&e)));
        }
    }
    let (_, _, phone) = contact_of(d, who);
    if d.sms && phone.trim().is_empty() && !d.errors.iter().any(|(k, _)| k == "f-phone") {
        d.errors
            .push(("f-phone".into(), DomainError::SmsNeedsPhone.to_string()));
    }
}

pub(super) fn details_page(
    specs: &[okienko_domain::config::FieldSpec],
    d: &Draft,
    a: Asked,
) -> Response {
    let inputs = specs
        .iter()
        .map(|f| {
            let id = format!("f-{}", f.key);
            Input {
                error: take_error(d, &id),
                value: d.field(&f.key).to_string(),
                id,
                label: f.label.clone(),
                kind: match f.kind {
                    FieldKind::Email => "email",
                    FieldKind::Phone => "tel",
                    FieldKind::Date => "date",
                    _ => "text",
                },
                required: f.required,
                hint: f.help.clone(),
                autocomplete: "off",
            }
        })
        .collect();
    a.show("questions-title", |chrome, nav| FormPage {
        chrome,
        nav,
        lead: None,
        card: None,
        inputs,
        checks: Vec::new(),
    })
}

/// The service's questions as typed, checked by their kinds.
pub(super) fn take_details(
    d: &mut Draft,
    form: &[(String, String)],
    specs: &[okienko_domain::config::FieldSpec],
    tr: Tr,
) {
    d.fields = specs
        .iter()
        .map(|f| {
            let v = value(form, &format!("f-{}", f.key))
                .unwrap_or("")
                .chars()
                .take(200)
                .collect::<String>();
            (f.key.clone(), v)
        })
        .collect();
    for f in specs {
        let v = d.field(&f.key).trim().to_string();
        let id = format!("f-{}", f.key);
        if v.is_empty() {
            if f.required {
                d.errors
                    .push((id, tr.t1("err-required", "label", &f.label)));
            }
        } else if let Err(e) = validate::field(f.kind, &format!("fields.{}", f.key), &v) {
            d.errors.push((id, field_message(&e)));
        }
    }
    if d.errors.is_empty() {
        mark_done(d, Step::Details);
    }
}

/// The contact details as typed, except what the resident-card login gives (GD-5).
pub(super) fn take_contact(
    t: &TenantCtx,
    d: &mut Draft,
    form: &[(String, String)],
    who: Option<&Identity>,
    tr: Tr,
) {
    let get = |n: &str| {
        value(form, n)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>()
    };
    // What the login's claims fill is not taken from the form (GD-5).
    for (field, name, into) in [
        (ClientField::Name, "f-name", &mut d.name),
        (ClientField::Email, "f-email", &mut d.email),
        (ClientField::Phone, "f-phone", &mut d.phone),
    ] {
        if !from_card(who, field) {
            *into = get(name);
        }
    }
    d.sms = value(form, "f-sms").is_some() && t.cfg.confirmation.sms_option;
    check_contact(t, d, who, tr);
    if d.errors.is_empty() {
        mark_done(d, Step::Contact);
    }
}
