//! The messages a booking sends and the links they carry: e-mail and SMS to the outbox,
//! the management and confirmation URLs, the visit as a message template sees it.

use chrono::DateTime;
use okienko_domain::calendar::to_local;
use okienko_notify::{Message, Visit};
use okienko_store::{BookingRow, NewOutbox};

use crate::catalog::{ServiceCtx, TenantCtx};
use crate::tokens;
use crate::App;

pub(crate) fn email_msg(to: &str, m: &Message) -> NewOutbox {
    NewOutbox {
        channel: "email",
        recipient: to.to_string(),
        payload_json: serde_json::to_string(m).unwrap_or_default(),
    }
}

pub(crate) fn sms_msg(m: &Message) -> NewOutbox {
    NewOutbox {
        channel: "sms",
        recipient: m.to.clone(),
        payload_json: serde_json::to_string(m).unwrap_or_default(),
    }
}

/// The e-mail `render` makes for a stored booking's client, if the client gave an address.
pub(crate) fn mail_to_client(
    app: &App,
    tenant: &TenantCtx,
    b: &BookingRow,
    render: fn(&Visit, &str) -> Message,
) -> Vec<NewOutbox> {
    match (&b.client_email, tenant.service(b.service_id)) {
        (Some(to), Some(service)) => vec![email_msg(
            to,
            &render(&visit(app, tenant, service, &stored(app, tenant, b)), to),
        )],
        _ => Vec::new(),
    }
}

pub fn manage_url(app: &App, tenant: &TenantCtx, token: &str) -> String {
    format!(
        "{}/t/{}/rezerwacja/{token}",
        app.settings.public_url, tenant.slug
    )
}

pub fn confirm_url(app: &App, tenant: &TenantCtx, token: &str) -> String {
    format!(
        "{}/t/{}/potwierdz/{token}",
        app.settings.public_url, tenant.slug
    )
}

/// The city's booking start, where a cancelled or expired visit can be booked anew.
pub fn start_url(app: &App, tenant: &TenantCtx) -> String {
    format!("{}/t/{}/", app.settings.public_url, tenant.slug)
}

/// The management token of a stored booking, re-derived from its nonce (see `tokens`); None
/// when it cannot be (a booking older than nonces without an idempotency key, or a changed
/// server secret).
pub fn token_of(app: &App, tenant: &TenantCtx, b: &BookingRow) -> Option<String> {
    let candidate = match (&b.manage_nonce, &b.idempotency_key) {
        (Some(nonce), _) => tokens::manage_token(&app.secret, tenant.id.0, nonce),
        (None, Some(key)) if b.source == "phone" => {
            tokens::derived_token(&app.secret, tenant.id.0, &format!("phone|{key}"))
        }
        (None, Some(key)) => tokens::derived_token(&app.secret, tenant.id.0, key),
        (None, None) => return None,
    };
    tokens::same(&tokens::hash(&candidate), &b.manage_token_hash).then_some(candidate)
}

/// A stored booking as the templates read it, its management token re-derived.
pub(crate) fn stored<'a>(app: &App, tenant: &TenantCtx, b: &'a BookingRow) -> BookingLike<'a> {
    BookingLike {
        code: &b.code,
        slot_start: b.slot_start,
        slot_end: b.slot_end,
        client_name: b.client_name.as_deref(),
        client_phone: b.client_phone.as_deref(),
        token: token_of(app, tenant, b),
    }
}

pub(crate) fn visit(
    app: &App,
    tenant: &TenantCtx,
    service: &ServiceCtx,
    b: &BookingLike<'_>,
) -> Visit {
    let office = tenant.office(service.office_id);
    let start = DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    let branding = &tenant.cfg.branding;
    Visit {
        tenant_slug: tenant.slug.clone(),
        city: tenant.cfg.name.clone(),
        from: branding.email_from.clone(),
        brand: brand(tenant),
        date_format: tenant.cfg.messages.date_format,
        service: service.cfg.name.clone(),
        letter: service.cfg.letter.clone(),
        office: office.map(|o| o.cfg.name.clone()).unwrap_or_default(),
        address: office.map(|o| o.cfg.address.clone()).unwrap_or_default(),
        office_phone: office.and_then(|o| o.cfg.phone.clone()),
        desk: service.cfg.desk.clone(),
        start,
        local_start: to_local(start),
        minutes: (b.slot_end - b.slot_start) / 60,
        code: b.code.to_string(),
        client_name: b.client_name.map(str::to_string),
        client_phone: b.client_phone.map(str::to_string),
        phone_as_identifier: tenant.cfg.messages.phone_as_identifier,
        stamp: app.clock.now(),
        manage_url: b.token.as_deref().map(|t| manage_url(app, tenant, t)),
        start_url: start_url(app, tenant),
    }
}

/// A stored booking's visit as the iCalendar file (RFC 5545) its e-mails attach, for the
/// booking page's download; None when its service is no longer configured.
pub fn ics_of(app: &App, tenant: &TenantCtx, b: &BookingRow) -> Option<String> {
    let service = tenant.service(b.service_id)?;
    Some(visit(app, tenant, service, &stored(app, tenant, b)).ics())
}

/// The city as its e-mails show it.
pub(crate) fn brand(tenant: &TenantCtx) -> okienko_notify::Brand {
    let b = &tenant.cfg.branding;
    okienko_notify::Brand {
        name: b.display_name.clone(),
        primary_color: b.primary_color.clone(),
        secondary_color: b.secondary_color.clone(),
    }
}

/// The parts of a booking the templates read, from a stored row or one about to be stored.
pub(crate) struct BookingLike<'a> {
    pub(crate) code: &'a str,
    pub(crate) slot_start: i64,
    pub(crate) slot_end: i64,
    pub(crate) client_name: Option<&'a str>,
    pub(crate) client_phone: Option<&'a str>,
    /// The management token, for the link in the e-mail.
    pub(crate) token: Option<String>,
}
